"""bash's quoting and expansion tricks, rewritten to the command the shell would run.

Covered: ANSI-C quoting (``$'\\x69\\x64'``, octal, ``\\u``), quotes and backslashes inserted inside words
(``w"h"o'am'i``, ``w\\ho\\ami``), ``${IFS}`` and ``$IFS$9`` as spaces, the no-op expansions obfuscators
sprinkle (``$@``, ``$*``, ``${*}``, ``${@}``), variables assigned and used in the same line
(``a=cu;b=rl;$a$b``, with ``${a}``), ``rev <<< 'txet'``, and ``echo``/``printf`` of a payload piped
through ``base64 -d``/``rev`` into a shell (``echo aWQ= | base64 -d | bash``). Nothing runs: the text of
the payload is what the line becomes.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

from shellwatch.decode._bash_run import run
from shellwatch.decode.encodings import bytes_to_text
from shellwatch.decode.model import Budget, Decoder, Step

_ANSI_C: Final = re.compile(r"\$'((?:[^'\\]|\\.)*)'")
_ANSI_ESCAPE: Final = re.compile(
    r"\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|[0-7]{1,3}|.)", re.DOTALL
)
_SIMPLE: Final = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "v": "\v"}
_INSERTED_QUOTES: Final = re.compile(r"(?<=\w)(?:''|\"\"|'(\w+)'|\"(\w+)\")(?=\w)|(?<=\w)\\(?=[a-zA-Z])")
_IFS: Final = re.compile(r"\$\{IFS\}|\$IFS(?:\$\d)?(?![\w])")
_NOOP: Final = re.compile(r"\$\{[@*]\}|\$[@*](?![\w{])|\$\{![#@*]\}")
_ASSIGN: Final = re.compile(
    r"(?:^|(?<=[;&|\s]))([A-Za-z_]\w*)=((?:'[^']*'|\"[^\"$`]*\"|[^\s;&|'\"$`])*)(?=[;\s]|$)"
)
_REFERENCE: Final = re.compile(r"\$(?:([A-Za-z_]\w*)|\{([A-Za-z_]\w*)\})")
_REV: Final = re.compile(r"\brev\s*<<<\s*(?:'([^']*)'|\"([^\"]*)\"|(\S+))")
_PIPED: Final = re.compile(
    r"\b(?:echo(?:\s+-[neE]+)?|printf(?:\s+%s)?)\s+(?:'([^']*)'|\"([^\"]*)\"|([^\s|;]+))\s*"
    r"((?:\|\s*(?:base64\s+(?:-d|--decode|-D)|rev)\s*)+)\|\s*(?:sudo\s+)?(?:/\w+/)*(?:ba|da|z|k)?sh\b"
)


def _ansi_c(body: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code[0] in "xuU" and len(code) > 1:
            return chr(min(int(code[1:], 16), 0x10FFFF))
        if code[0].isdigit():
            return chr(int(code, 8) & 0xFF)
        return _SIMPLE.get(code, code if code in "\\'\"?" else "\\" + code)

    return _ANSI_ESCAPE.sub(one, body)


def _quote(text: str) -> str:
    return text if re.fullmatch(r"[\w./:=@%+,-]+", text) else "'" + text.replace("'", "'\\''") + "'"


def ansi_c(text: str, budget: Budget) -> Step | None:
    if "$'" not in text:
        return None
    budget.tick(len(text) // 16 + 1)
    result = _ANSI_C.sub(lambda match: _quote(_ansi_c(match.group(1))), text)
    return Step("bash-ansi-c", result) if result != text else None


def quote_removal(text: str, budget: Budget) -> Step | None:
    if not any(char in text for char in "'\"\\$"):
        return None
    budget.tick(len(text) // 16 + 1)
    result = _IFS.sub(" ", text)
    result = _NOOP.sub("", result)
    result = _INSERTED_QUOTES.sub(lambda match: match.group(1) or match.group(2) or "", result)
    if result == text:
        return None
    return Step("bash-quote-removal", result, "quotes, backslashes, $IFS and no-op expansions")


def variables(text: str, budget: Budget) -> Step | None:
    if "=" not in text or "$" not in text:
        return None
    values: dict[str, str] = {}
    for match in _ASSIGN.finditer(text):
        budget.tick()
        value = match.group(2)
        values[match.group(1)] = value[1:-1] if value[:1] in "'\"" and value[-1:] == value[:1] else value
    if not values:
        return None
    used = [
        name
        for name in dict.fromkeys(match.group(1) or match.group(2) for match in _REFERENCE.finditer(text))
    ]
    used = [name for name in used if name in values]
    if not used:
        return None
    budget.tick(len(text) // 16 + 1)
    body = _REFERENCE.sub(
        lambda match: values.get(match.group(1) or match.group(2), match.group()), _ASSIGN.sub("", text)
    )
    result = " ".join(re.sub(r"^[\s;]+|[\s;]+$", "", body).split())
    result = re.sub(r"^(?:;\s*)+", "", result)
    budget.room(len(result))
    return Step("bash-variables", result, ", ".join(used)) if result and result != text else None


def reverse(text: str, budget: Budget) -> Step | None:
    if "rev" not in text:
        return None
    budget.tick(len(text) // 16 + 1)
    result = _REV.sub(
        lambda match: _quote((match.group(1) or match.group(2) or match.group(3) or "")[::-1]), text
    )
    return Step("bash-rev", result) if result != text else None


def piped_payload(text: str, budget: Budget) -> Step | None:
    """``echo PAYLOAD | base64 -d | rev | bash``: the payload decoded becomes the command."""
    if "sh" not in text or "|" not in text:
        return None
    match = _PIPED.search(text)
    if match is None:
        return None
    payload = match.group(1) or match.group(2) or match.group(3) or ""
    stages = re.findall(r"base64|rev", match.group(4))
    for stage in stages:
        budget.tick(len(payload) // 16 + 1)
        if stage == "rev":
            payload = payload[::-1]
            continue
        try:
            data = base64.b64decode(payload + "=" * (-len(payload) % 4))
        except (binascii.Error, ValueError):
            return None
        found = bytes_to_text(data)
        if found is None:
            return None
        payload = found[1].rstrip("\n")
    budget.room(len(payload))
    result = text[: match.start()] + payload + text[match.end() :]
    return Step("bash-piped-decode", result, " | ".join(stages) + " | sh")


_SHELLISH: Final = re.compile(
    r"[$`'\"\\{|<]|\b(?:eval|printf|rev|base64|xxd|tr|gzip|gunzip|zcat|bzip2|bunzip2|sh|bash)\b"
)


_HIDING: Final = re.compile(
    r"\$'|\$\{[^}]*[~^,/#%:!@*]|\$IFS|\$[@*]|\$\{[@*!#]|\w['\"][\w-]*['\"]\w|\w\\[a-zA-Z]|<<<"
    r"|\b(?:eval|rev|base64|xxd|tr|gunzip|zcat|bunzip2)\b|\bprintf\b[^|;]*\\[x0-7]|\{[^{}\s]*,[^{}\s]*\}"
)


def emulate(text: str, budget: Budget) -> Step | None:
    """The command the shell would finally run, by emulating its expansions and pure text utilities."""
    if not _SHELLISH.search(text):
        return None
    found = run(text, budget)
    if found is None:
        return None
    result, changed, kinds = found.text, found.changed, found.kinds
    if not changed or not result.strip() or result == text:
        return None
    budget.room(len(result))
    tricks = f" (using {', '.join(sorted(found.used))})" if found.used else ""
    if "pipe" in kinds:
        return Step("bash-piped-decode", result, "payload piped into a shell" + tricks)
    if kinds:
        return Step("bash-eval", result, "payload run by " + ", ".join(sorted(kinds)) + tricks)
    if not _HIDING.search(text):
        return None  # loops, arithmetic and quoting a script writes plainly are not hiding anything
    return Step("bash-expansion", result, "words expanded as bash would" + tricks)


STEPS: Final[tuple[Decoder, ...]] = (emulate, ansi_c, piped_payload, reverse, variables, quote_removal)
