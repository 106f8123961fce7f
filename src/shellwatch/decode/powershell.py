"""PowerShell's encodings and string tricks, rewritten to the text they build.

* ``powershell-encodedcommand``: ``-EncodedCommand`` and every prefix PowerShell accepts (``-e``, ``-ec``,
  ``-en``, ``-enc``... case-insensitive, with ``-``, ``/`` or a dash character), UTF-16LE base64: the
  argument becomes ``-Command <decoded>``;
* ``powershell-frombase64``: ``[Text.Encoding]::<name>.GetString([Convert]::FromBase64String('...'))``, and
  the Metasploit ``IO.Compression.GzipStream``/``DeflateStream`` reader around ``FromBase64String``
  (``powershell-compressed``), replaced by the decoded text;
* ``powershell-char``: ``[char]73``, ``[char]0x49``, and ``[char[]](73,69) -join ''``;
* ``powershell-concat``: quoted strings joined with ``+``;
* ``powershell-format``: ``'{1}{0}' -f 'X','IE'``;
* ``powershell-reverse``: ``'xei'[-1..-3] -join ''`` over a literal;
* ``powershell-replace``: ``'...'.Replace('a','b')`` and ``'...' -replace 'a','b'`` on literals;
* ``powershell-backtick``: backticks inside words (``I`nv`oke``), which PowerShell drops;
* ``powershell-iex``: ``iex``/``Invoke-Expression``/``&``/``.`` of a literal string, or of
  ``[ScriptBlock]::Create('...')``: the string becomes the command.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from typing import Final

from shellwatch.decode.encodings import bytes_to_text, inflate
from shellwatch.decode.model import Budget, Decoder, Step

_DASH: Final = "-/\u2013\u2014\u2015"
_ENCODED: Final = re.compile(
    rf"(?<![\w-])[{_DASH}](?:e|ec|en|enc|enco|encod|encode|encoded|encodedc|encodedco|encodedcom|encodedcomm"
    r"|encodedcomma|encodedcomman|encodedcommand)\s+[\"']?([A-Za-z0-9+/]{8,}={0,2})[\"']?",
    re.IGNORECASE,
)
_QUOTED: Final = r"(?:'(?:[^']|'')*'|\"(?:[^\"`$]|`.)*\")"
_CONCAT: Final = re.compile(rf"{_QUOTED}(?:\s*\+\s*{_QUOTED})+")
_CHAR: Final = re.compile(r"\[char\]\s*\(?\s*(0x[0-9a-f]+|\d+)\s*\)?", re.IGNORECASE)
_CHAR_ARRAY: Final = re.compile(
    r"\(?\s*\[char\[\]\]\s*\(([\d\s,x0-9a-f]+)\)\s*\)?\s*-join\s*(?:''|\"\")", re.IGNORECASE
)
_FORMAT: Final = re.compile(
    rf"\(?\s*({_QUOTED})\s*-f\s*((?:{_QUOTED}\s*,\s*)*{_QUOTED})\s*\)?", re.IGNORECASE
)
_REVERSE: Final = re.compile(
    rf"\(?\s*({_QUOTED})\s*\[\s*-1\s*\.\.\s*-\s*\d+\s*\]\s*-join\s*(?:''|\"\")\s*\)?"
)
_REPLACE_METHOD: Final = re.compile(
    rf"({_QUOTED})\.replace\(\s*({_QUOTED})\s*,\s*({_QUOTED})\s*\)", re.IGNORECASE
)
_REPLACE_OP: Final = re.compile(
    rf"\(?\s*({_QUOTED})\s*-c?replace\s*({_QUOTED})\s*,\s*({_QUOTED})\s*\)?", re.IGNORECASE
)
_BACKTICK: Final = re.compile(r"(?<=\w)`(?=[a-zA-Z])")
_GETSTRING: Final = re.compile(
    r"\[(?:System\.)?Text\.Encoding\]::(Unicode|UTF8|ASCII|Default|UTF32)\.GetString\(\s*"
    r"\[(?:System\.)?Convert\]::FromBase64String\(\s*['\"]([A-Za-z0-9+/=\s]+)['\"]\s*\)\s*\)",
    re.IGNORECASE,
)
_COMPRESSED: Final = re.compile(
    r"[^;]*?\[(?:System\.)?Convert\]::FromBase64String\(\s*['\"]([A-Za-z0-9+/=\s]+)['\"]\s*\)[^;]*;"
    r".*?(?:Gzip|Deflate)Stream.*?\.ReadToEnd\(\)\)?",
    re.IGNORECASE | re.DOTALL,
)
_IEX: Final = re.compile(
    rf"(?<!['\"\w-])(?:iex|invoke-expression)\b\s*\(?\s*(?:\[scriptblock\]::create\(\s*)?({_QUOTED})\s*\)?\s*\)?",
    re.IGNORECASE,
)
# ``& ('ie'+'x')`` calls a command whose name was built as a string: only names, not paths.
_CALL_NAME: Final = re.compile(r"(?<![\w'\"])[&.]\s*\(?\s*'([A-Za-z][\w-]*)'\s*\)?")
_SCRIPTBLOCK: Final = re.compile(rf"\[scriptblock\]::create\(\s*({_QUOTED})\s*\)", re.IGNORECASE)


def _literal(quoted: str) -> str:
    body = quoted[1:-1]
    if quoted.startswith("'"):
        return body.replace("''", "'")
    return re.sub(
        r"`(.)", lambda match: {"n": "\n", "t": "\t", "0": "\0"}.get(match.group(1), match.group(1)), body
    )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def encoded_command(text: str, budget: Budget) -> Step | None:
    if not any(dash in text for dash in _DASH):
        return None
    notes: list[str] = []

    def one(match: re.Match[str]) -> str:
        budget.tick(len(match.group(1)) // 16 + 1)
        try:
            data = base64.b64decode(match.group(1) + "=" * (-len(match.group(1)) % 4))
        except (binascii.Error, ValueError):
            return match.group()
        try:
            decoded = data.decode("utf-16-le")
        except UnicodeDecodeError:
            return match.group()
        budget.room(len(decoded))
        notes.append(f"{match.group().split()[0]}: UTF-16LE base64, {len(decoded)} characters")
        return f"-Command {decoded}"

    result = _ENCODED.sub(one, text)
    return Step("powershell-encodedcommand", result, "; ".join(notes)) if notes else None


def from_base64(text: str, budget: Budget) -> Step | None:
    if "frombase64string" not in text.lower():
        return None
    compressed = _COMPRESSED.search(text)
    if compressed is not None and re.search(r"(?:Gzip|Deflate)Stream", compressed.group(), re.IGNORECASE):
        data = _b64(compressed.group(1))
        inflated = inflate(data, budget, budget.limits.max_output) if data is not None else None
        if inflated is None and data is not None:
            try:
                raw = zlib.decompressobj(-15).decompress(data, budget.limits.max_output + 1)
            except zlib.error:
                raw = b""
            inflated = ("deflate", raw) if raw else None
        found = bytes_to_text(inflated[1]) if inflated is not None else None
        if found is not None:
            budget.room(len(found[1]))
            result = text[: compressed.start()] + found[1] + text[compressed.end() :]
            return Step("powershell-compressed", result, f"{inflated[0] if inflated else ''} in base64")
    match = _GETSTRING.search(text)
    if match is None:
        return None
    data = _b64(match.group(2))
    if data is None:
        return None
    codec = {"unicode": "utf-16-le", "utf32": "utf-32-le"}.get(match.group(1).lower(), "utf-8")
    try:
        decoded = data.decode(codec)
    except UnicodeDecodeError:
        return None
    budget.room(len(decoded))
    result = text[: match.start()] + _quote(decoded) + text[match.end() :]
    return Step("powershell-frombase64", result, f"{match.group(1)} text")


def _b64(text: str) -> bytes | None:
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4))
    except (binascii.Error, ValueError):
        return None


def _sub(technique: str, pattern: re.Pattern[str], text: str, budget: Budget, build: object) -> Step | None:
    count = 0

    def one(match: re.Match[str]) -> str:
        nonlocal count
        budget.tick()
        value = build(match)  # type: ignore[operator]
        if value is None:
            return match.group()
        count += 1
        return str(value)

    result = pattern.sub(one, text)
    if not count or result == text:
        return None
    budget.room(len(result))
    return Step(technique, result, f"{count} rewritten")


def chars(text: str, budget: Budget) -> Step | None:
    lowered = text.lower()
    if "[char" not in lowered:
        return None
    step = _sub("powershell-char", _CHAR_ARRAY, text, budget, _char_array)
    if step is not None:
        return step
    return _sub("powershell-char", _CHAR, text, budget, lambda match: _quote(chr(_number(match.group(1)))))


def _number(text: str) -> int:
    value = int(text, 16) if text.lower().startswith("0x") else int(text)
    return value if value < 0x110000 else 0xFFFD


def _char_array(match: re.Match[str]) -> str:
    codes = [item.strip() for item in match.group(1).split(",") if item.strip()]
    return _quote("".join(chr(_number(code)) for code in codes))


def concat(text: str, budget: Budget) -> Step | None:
    if "+" not in text:
        return None
    return _sub(
        "powershell-concat",
        _CONCAT,
        text,
        budget,
        lambda match: _quote("".join(_literal(part) for part in re.findall(_QUOTED, match.group()))),
    )


def format_operator(text: str, budget: Budget) -> Step | None:
    if "-f" not in text.lower():
        return None

    def build(match: re.Match[str]) -> str | None:
        template = _literal(match.group(1))
        values = [_literal(part) for part in re.findall(_QUOTED, match.group(2))]
        try:
            return _quote(re.sub(r"\{(\d+)\}", lambda ref: values[int(ref.group(1))], template))
        except IndexError:
            return None

    return _sub("powershell-format", _FORMAT, text, budget, build)


def reverse(text: str, budget: Budget) -> Step | None:
    if "-1.." not in text.replace(" ", ""):
        return None
    return _sub(
        "powershell-reverse", _REVERSE, text, budget, lambda match: _quote(_literal(match.group(1))[::-1])
    )


def replace(text: str, budget: Budget) -> Step | None:
    if "replace" not in text.lower():
        return None

    def method(match: re.Match[str]) -> str:
        source, old, new = (_literal(match.group(index)) for index in (1, 2, 3))
        return _quote(source.replace(old, new))

    def operator(match: re.Match[str]) -> str | None:
        source, old, new = (_literal(match.group(index)) for index in (1, 2, 3))
        try:
            return _quote(re.sub(old, new.replace("$", "\\"), source, flags=re.IGNORECASE))
        except re.error:
            return None

    return _sub("powershell-replace", _REPLACE_METHOD, text, budget, method) or _sub(
        "powershell-replace", _REPLACE_OP, text, budget, operator
    )


def backticks(text: str, budget: Budget) -> Step | None:
    if "`" not in text:
        return None
    budget.tick(len(text) // 32 + 1)
    result = _BACKTICK.sub("", text)
    return Step("powershell-backtick", result) if result != text else None


def invoke(text: str, budget: Budget) -> Step | None:
    lowered = text.lower()
    if "'" in text and ("&" in text or "." in text):
        step = _sub("powershell-call", _CALL_NAME, text, budget, lambda match: match.group(1))
        if step is not None:
            return step
    if "iex" in lowered or "invoke-expression" in lowered:
        step = _sub("powershell-iex", _IEX, text, budget, lambda match: _literal(match.group(1)))
        if step is not None:
            return step
    if "scriptblock" in lowered:
        step = _sub(
            "powershell-scriptblock", _SCRIPTBLOCK, text, budget, lambda match: _literal(match.group(1))
        )
        if step is not None:
            return step
    return None


STEPS: Final[tuple[Decoder, ...]] = (
    encoded_command,
    from_base64,
    backticks,
    chars,
    concat,
    format_operator,
    reverse,
    replace,
    invoke,
)
