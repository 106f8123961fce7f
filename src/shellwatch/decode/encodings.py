"""Generic layers found anywhere in a command, each replaced in place by what it encodes.

* ``base64`` / ``base64url`` / ``base64-utf16le``: a run of base64 characters (20 or more, or 4 or more
  when the command decodes base64 itself: ``base64 -d``, ``b64decode``, ``FromBase64String`` ...) whose
  decoding is mostly printable text, in UTF-8 or in UTF-16LE as PowerShell writes it;
* ``gzip`` / ``zlib`` / ``deflate`` / ``bzip2``: such a run (or a bare hex run) that decodes to a
  compressed stream, inflated here; the technique is the compression, the detail says what carried it;
* ``hex``: ``\\x41`` escape runs, and bare hex runs (``0x`` prefix allowed) that spell text;
* ``octal``: ``\\101`` escape runs;
* ``url-escape``: ``%41`` runs in a word that escapes at least one letter or digit (benign URLs only
  escape the characters that need it);
* ``html-entities``: ``&#65;``, ``&#x41;`` and named references such as ``&amp;``.

Lookalikes are left alone: JSON Web Tokens, ``data:`` URIs of images, audio, video and fonts, base64 of
binary data, checksums and commit ids (hex that does not spell text), UUIDs. Inflating never produces more
than what is left of the budget's output limit: a decompression bomb stops there, without allocating more.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import html.entities
import re
import zlib
from collections.abc import Callable
from typing import Final

from shellwatch.decode.model import Budget, Decoder, Step

_B64_RUN: Final = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{2,}={0,2}(?![A-Za-z0-9+/=_-])")
_B64_CONTEXT: Final = re.compile(
    r"base64\s+(?:-\w*d|--decode)|b64decode|frombase64|atob\s*\(|openssl\s+(?:enc\s+)?-?base64"
    r"|-decode\b|decode_base64|base64_decode|unbase64",
    re.IGNORECASE,
)
_JWT: Final = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_DATA_URI: Final = re.compile(
    r"data:(?:image|audio|video|font)/[\w.+-]+(?:;[\w=.-]+)*;base64,[A-Za-z0-9+/=\s]*"
    r"|data:application/(?:octet-stream|pdf|zip|x-[\w.+-]+)(?:;[\w=.-]+)*;base64,[A-Za-z0-9+/=]*",
    re.IGNORECASE,
)
# Where a short run is the argument of the decoding: quoted, echoed, fed by a here-string, or piped on.
_FED_BEFORE: Final = re.compile(r"(?:(?:echo|printf)(?:\s+-\w+)*\s+|<<<\s*)['\"]?$", re.IGNORECASE)
_FED_AFTER: Final = re.compile(r"^['\"]?\s*\|")
_UUID: Final = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_HEX_ONLY: Final = re.compile(r"^[0-9a-fA-F]+$")
_MIN_B64: Final = 20

_HEX_ESCAPES: Final = re.compile(r"(?:\\[xX][0-9a-fA-F]{2}){2,}")
_BARE_HEX: Final = re.compile(r"(?<![0-9A-Za-z])(?:0[xX])?((?:[0-9a-fA-F]{2}){4,})(?![0-9A-Za-z])")
_HEX_CONTEXT: Final = re.compile(r"xxd\s+(?:-\w+\s+)*-r|unhexlify|fromhex|hex2bin|\bhex\s+-d", re.IGNORECASE)
_MIN_BARE_HEX_BYTES: Final = 8
_OCTAL_ESCAPES: Final = re.compile(r"(?:\\[0-3][0-7]{2}){2,}")
# Whole words only (anchored at a word start), so a long word is scanned once, not once per character.
_URL_WORD: Final = re.compile(r"(?<![^\s'\"`<>])(?=[^\s'\"`<>]*%[0-9a-fA-F]{2})[^\s'\"`<>]+")
_URL_ESCAPE: Final = re.compile(r"(?:%[0-9a-fA-F]{2})+")
_HTML_ENTITY: Final = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_HTML_NAMES: Final = html.entities.html5

_GZIP_MAGIC: Final = b"\x1f\x8b\x08"
_BZIP2_MAGIC: Final = b"BZh"
_UTF16_ZERO_SHARE: Final = 0.8
_PRINTABLE_SHARE: Final = 0.95


def printable(text: str) -> bool:
    """Mostly text: 95 % printable characters or common white space (all of them when short), no NUL."""
    if not text or "\x00" in text:
        return False
    good = sum(char.isprintable() or char in "\t\r\n" for char in text)
    return good == len(text) if len(text) < 24 else good >= _PRINTABLE_SHARE * len(text)


def bytes_to_text(data: bytes) -> tuple[str, str] | None:
    """``(encoding, text)`` when ``data`` is printable UTF-16LE (``utf16le``) or UTF-8 (``utf8``) text."""
    half = len(data) // 2
    if len(data) >= 4 and len(data) % 2 == 0 and data[1::2].count(0) >= _UTF16_ZERO_SHARE * half:
        try:
            text = data.decode("utf-16-le")
        except UnicodeDecodeError:
            text = ""
        if printable(text):
            return "utf16le", text
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return ("utf8", text) if printable(text) else None


def inflate(data: bytes, budget: Budget, room: int) -> tuple[str, bytes] | None:
    """``(technique, bytes)`` of a gzip, zlib, bzip2 or raw deflate stream; never more than ``room`` bytes.

    A stream that would inflate past ``room`` raises :class:`~shellwatch.decode.model.BudgetExceeded`
    (the output limit) after inflating at most ``room + 1`` bytes.
    """
    for technique in _compressions(data):
        try:
            out, done = _inflate_one(technique, data, room + 1)
        except (zlib.error, OSError, EOFError, ValueError):
            continue
        budget.tick(len(out) // 256 + 1)
        if len(out) > room:
            budget.room(budget.limits.max_output + 1)
        if out and (done or technique != "deflate"):
            return technique, out
    return None


def _compressions(data: bytes) -> list[str]:
    if data.startswith(_GZIP_MAGIC):
        return ["gzip"]
    if data.startswith(_BZIP2_MAGIC) and len(data) > 10:
        return ["bzip2"]
    if len(data) > 2 and data[0] & 0x0F == 8 and data[0] >> 4 <= 7 and (data[0] << 8 | data[1]) % 31 == 0:
        return ["zlib"]
    return ["deflate"] if len(data) >= 8 else []


def _inflate_one(technique: str, data: bytes, limit: int) -> tuple[bytes, bool]:
    if technique == "bzip2":
        unpacker = bz2.BZ2Decompressor()
        out = unpacker.decompress(data, max_length=limit)
        return out, unpacker.eof
    wbits = {"gzip": 31, "zlib": 15, "deflate": -15}[technique]
    inflater = zlib.decompressobj(wbits)
    out = inflater.decompress(data, limit)
    return out, inflater.eof


def decode_bytes(data: bytes, budget: Budget, room: int) -> tuple[str | None, str, str] | None:
    """``(compression or None, text encoding, text)`` of ``data``, inflated first when compressed."""
    compression = None
    found = bytes_to_text(data)
    if found is None:
        inflated = inflate(data, budget, room)
        if inflated is None:
            return None
        compression, data = inflated
        found = bytes_to_text(data)
        if found is None:
            return None
    return compression, found[0], found[1]


def _b64_bytes(run: str) -> tuple[str, bytes] | None:
    urlsafe = "-" in run or "_" in run
    if urlsafe and ("+" in run or "/" in run):
        return None
    body = run.rstrip("=")
    if len(body) % 4 == 1:
        return None
    padded = body + "=" * (-len(body) % 4)
    try:
        if urlsafe:
            return "base64url", base64.urlsafe_b64decode(padded)
        return "base64", base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _lookalike(run: str, short: bool) -> bool:
    """Not base64 worth trying: too short, hex (a checksum or id), a UUID, or a plain word or path."""
    body = run.rstrip("=")
    if len(run) < (4 if short else _MIN_B64) or _HEX_ONLY.match(body) or _UUID.match(body):
        return True
    if short and (len(run) % 4 or _word_like(body)):
        return True
    # A run of letters in one case (a long word, a constant) is not how base64 of text looks.
    return body.isalpha() and (body.islower() or body.isupper())


def _word_like(body: str) -> bool:
    """Letters with capitals only at the start: a word (``Password``), not base64 (``bHMgLWxh``)."""
    return body.isalpha() and not any(char.isupper() for char in body[1:])


def _data_document(text: str) -> bool:
    """An XML or JSON document: data a program passes along (an updater's ping), not a hidden command."""
    head, tail = text[:16].lstrip(), text.rstrip()[-1:]
    return head.startswith("<?xml") or (head.startswith(('{"', "[{")) and tail in ("}", "]"))


def _fed(text: str, start: int, end: int) -> bool:
    before, after = text[max(0, start - 40) : start], text[end : end + 8]
    quoted = before[-1:] in ("'", '"') and after[:1] == before[-1:]
    return quoted or _FED_BEFORE.search(before) is not None or _FED_AFTER.match(after) is not None


def _skipped_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    if "eyJ" in text:
        spans += [match.span() for match in _JWT.finditer(text)]
    if "base64," in text.lower():
        spans += [match.span() for match in _DATA_URI.finditer(text)]
    return spans


def decode_base64(text: str, budget: Budget) -> Step | None:
    """Base64 and base64url runs of text (plain or compressed) decoded in place."""
    if len(text) < 4:
        return None
    context = _B64_CONTEXT.search(text) is not None
    skipped = _skipped_spans(text)
    pieces: list[str] = []
    notes: list[str] = []
    techniques: list[str] = []
    last = 0
    for match in _B64_RUN.finditer(text):
        run = match.group()
        budget.tick(len(run) // 32 + 1)
        start, end = match.span()
        short = context and len(run) < _MIN_B64 and _fed(text, start, end)
        if _lookalike(run, short) or any(start < stop and end > begin for begin, stop in skipped):
            continue
        raw = _b64_bytes(run)
        if raw is None:
            continue
        room = budget.limits.max_output - (len(text) - len(run))
        found = decode_bytes(raw[1], budget, room)
        if found is None:
            continue
        compression, encoding, decoded = found
        if _data_document(decoded):
            continue
        kind = raw[0] + ("-utf16le" if encoding == "utf16le" else "")
        techniques.append(compression or kind)
        notes.append(f"{kind} + {compression}" if compression else kind)
        pieces += [text[last:start], decoded]
        last = end
    return _finish(text, pieces, last, techniques, notes, budget)


def _finish(
    text: str, pieces: list[str], last: int, techniques: list[str], notes: list[str], budget: Budget
) -> Step | None:
    if not techniques:
        return None
    pieces.append(text[last:])
    budget.room(sum(len(piece) for piece in pieces))
    result = "".join(pieces)
    count = len(notes)
    detail = f"{count} run{'s' if count > 1 else ''}: " + ", ".join(dict.fromkeys(notes))
    return Step(techniques[0], result, detail)


def _substitute(
    pattern: re.Pattern[str], text: str, budget: Budget, convert: Callable[[str], str | None]
) -> tuple[str, int]:
    """``text`` with each match that ``convert`` accepts replaced, and how many were."""
    count = 0
    size = len(text)

    def one(match: re.Match[str]) -> str:
        nonlocal count, size
        budget.tick(len(match.group()) // 16 + 1)
        value = convert(match.group())
        if value is None:
            return match.group()
        count += 1
        size += len(value) - len(match.group())
        budget.room(size)
        return value

    return pattern.sub(one, text), count


def _escaped_text(run: str, base: int) -> str | None:
    digits = [part for part in re.split(r"\\[xX]?", run) if part]
    found = bytes_to_text(bytes(int(part, base) for part in digits))
    return found[1] if found is not None else None


def decode_hex(text: str, budget: Budget) -> Step | None:
    """``\\x41`` escape runs, and bare hex runs that spell text (or hold compressed text)."""
    if len(text) < 8:
        return None
    escaped = 0
    if "\\x" in text or "\\X" in text:
        text, escaped = _substitute(_HEX_ESCAPES, text, budget, lambda run: _escaped_text(run, 16))
    context = _HEX_CONTEXT.search(text) is not None
    techniques: list[str] = []

    def bare(run: str) -> str | None:
        digits = run[2:] if run[:2] in ("0x", "0X") else run
        if len(digits) < 2 * _MIN_BARE_HEX_BYTES and not context:
            return None
        room = budget.limits.max_output - (len(text) - len(run))
        found = decode_bytes(bytes.fromhex(digits), budget, room)
        if found is None:
            return None
        compression, _encoding, decoded = found
        # Text of letters and digits only is more likely an identifier than a hidden command.
        if compression is None and not context and decoded.isalnum():
            return None
        techniques.append(compression or "hex")
        return decoded

    result, count = _substitute(_BARE_HEX, text, budget, bare)
    if not escaped and not count:
        return None
    technique = "hex" if escaped or "hex" in techniques else techniques[0]
    return Step(technique, result, f"{escaped + count} hex runs")


def decode_octal(text: str, budget: Budget) -> Step | None:
    """``\\101`` escape runs that spell text."""
    if "\\" not in text:
        return None
    result, count = _substitute(_OCTAL_ESCAPES, text, budget, lambda run: _escaped_text(run, 8))
    return Step("octal", result, f"{count} octal runs") if count else None


def _unescape_url(word: str) -> str | None:
    escapes = _URL_ESCAPE.findall(word)
    data = [int(hexa, 16) for run in escapes for hexa in run.split("%") if hexa]
    if len(data) < 2 or not any(chr(byte).isalnum() for byte in data if byte < 0x80):
        return None
    try:
        decoded = _URL_ESCAPE.sub(lambda match: bytes.fromhex(match.group().replace("%", "")).decode(), word)
    except UnicodeDecodeError:
        return None
    return decoded if printable(decoded) else None


def decode_url(text: str, budget: Budget) -> Step | None:
    """``%41`` escapes in words that escape letters or digits (what only obfuscation does)."""
    if "%" not in text:
        return None
    result, count = _substitute(_URL_WORD, text, budget, _unescape_url)
    return Step("url-escape", result, f"{count} escaped words") if count else None


def _entity(reference: str) -> str | None:
    body = reference[1:-1]
    if body.startswith(("#x", "#X")):
        code = int(body[2:], 16)
    elif body.startswith("#"):
        code = int(body[1:])
    else:
        return _HTML_NAMES.get(body + ";")
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def decode_html(text: str, budget: Budget) -> Step | None:
    """HTML character references (``&#65;``, ``&#x41;``, ``&amp;``); each needs its closing ``;``."""
    if "&" not in text or ";" not in text:
        return None
    result, count = _substitute(_HTML_ENTITY, text, budget, _entity)
    return Step("html-entities", result, f"{count} references") if count else None


STEPS: Final[tuple[Decoder, ...]] = (decode_base64, decode_hex, decode_octal, decode_url, decode_html)
