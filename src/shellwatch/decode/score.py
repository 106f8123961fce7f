"""How obfuscated a command line is, 0-100, with the reasons: what feeds ``obfuscated-cli`` alerts.

Three kinds of evidence, added and capped at 100:

* **layers**: the layers the decoders peeled (35 for the first, 25 for each further one, 75 at most); a
  command that had to be decoded to be read is obfuscated, whatever else is true of it;
* **escape density**: the share of the line made of escape and quoting characters (``^ ` \\ ' " % $ { }``
  and ``!``) above what plain commands have (12 %), up to 30;
* **entropy**: Shannon entropy of the line's characters above 4.8 bits, the level of long random-looking
  arguments, up to 20; only for lines of 40 characters or more, where the measure means something.

Benign lines with a random-looking argument (a JWT, a checksum, an image in base64) get at most the entropy
part and stay well below the rule's threshold (:data:`THRESHOLD`); a single decoded layer plus either
other part reaches it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Final

from shellwatch.decode.model import DecodeResult

THRESHOLD: Final = 50
"""The score from which the built-in rule raises an ``obfuscated-cli`` alert."""

_ESCAPES: Final = frozenset("^`\\'\"%${}!")
_PLAIN_ESCAPE_SHARE: Final = 0.12
_PLAIN_ENTROPY: Final = 4.8
_MIN_ENTROPY_LENGTH: Final = 40


@dataclass(frozen=True, slots=True)
class Obfuscation:
    score: int
    reasons: tuple[str, ...]


def entropy(text: str) -> float:
    """Shannon entropy of the characters of ``text``, in bits per character."""
    if not text:
        return 0.0
    size = len(text)
    return -sum(count / size * math.log2(count / size) for count in Counter(text).values())


def obfuscation(result: DecodeResult) -> Obfuscation:
    """The score and reasons for the original text of ``result`` and the layers peeled from it."""
    text = result.original
    reasons: list[str] = []
    score = 0
    if result.layers:
        part = min(75, 35 + 25 * (len(result.layers) - 1))
        score += part
        techniques = ", ".join(dict.fromkeys(layer.technique for layer in result.layers))
        reasons.append(f"{len(result.layers)} layers decoded ({techniques}): +{part}")
    if text:
        share = sum(char in _ESCAPES for char in text) / len(text)
        if share > _PLAIN_ESCAPE_SHARE:
            part = min(30, round((share - _PLAIN_ESCAPE_SHARE) * 150))
            if part:
                score += part
                reasons.append(f"escape characters {share:.0%} of the line: +{part}")
    if len(text) >= _MIN_ENTROPY_LENGTH:
        bits = entropy(text)
        if bits > _PLAIN_ENTROPY:
            part = min(20, round((bits - _PLAIN_ENTROPY) * 20))
            if part:
                score += part
                reasons.append(f"entropy {bits:.2f} bits per character: +{part}")
    return Obfuscation(min(100, score), tuple(reasons))
