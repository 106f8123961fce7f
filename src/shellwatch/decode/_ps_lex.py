"""Tokens of PowerShell text, tolerant of anything: what the PowerShell decoders parse.

The lexer works in expression mode everywhere and never fails: a character it cannot place becomes an
``other`` token. Strings carry their value (escapes done) unless they expand variables. PowerShell also
takes the typographic quotes and dashes as quotes and dashes, so this lexer does too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from shellwatch.decode.model import Budget

SINGLE_QUOTES: Final = "'\u2018\u2019\u201a\u201b"
DOUBLE_QUOTES: Final = '"\u201c\u201d\u201e'
DASHES: Final = "-\u2013\u2014\u2015"

_SQ = f"[{SINGLE_QUOTES}]"
_LETTERS = "\u00c0-\u2012\u2016\u2017\u201f-\uffff"
_DQ = f"[{DOUBLE_QUOTES}]"
_TOKEN: Final = re.compile(
    rf"""
      (?P<ws>(?:[ \t\f\v\u00a0]|`\r?\n)+)
    | (?P<nl>\r?\n|\r)
    | (?P<comment><\#.*?(?:\#>|\Z)|(?<![^\s;|(){{}}])\#[^\r\n]*)
    | (?P<herestring>@(?P<hq>{_SQ}|{_DQ})[ \t]*\r?\n.*?(?:\r?\n(?P=hq)@|\Z))
    | (?P<sq>{_SQ}(?:[^{SINGLE_QUOTES}]|{_SQ}{_SQ})*{_SQ})
    | (?P<dq>{_DQ}(?:[^{DOUBLE_QUOTES}`]|`.|{_DQ}{_DQ})*{_DQ})
    | (?P<type>\[\s*[A-Za-z_][\w.`]*(?:\s*\[\s*\])?\s*\])
    | (?P<var>\$(?:\{{[^}}]*\}}|[A-Za-z_]\w*(?::[A-Za-z_]\w*)?|[?^$_]))
    | (?P<num>0[xX][0-9a-fA-F]+|\d+(?:\.\d+)?)(?![A-Za-z_])
    | (?P<op>[{DASHES}][A-Za-z]+)(?![\w-])
    | (?P<word>(?:[A-Za-z_{_LETTERS}]|`[^\r\n])(?:[\w{_LETTERS}{DASHES}]|`[^\r\n]|\.(?=[A-Za-z_]))*)
    | (?P<punct>::|\.\.|&&|\|\||[-+*/%=,;|&(){{}}\[\]@!.<>])
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_DQ_ESCAPES: Final = {"0": "\0", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "n": "\n", "r": "\r"}
_DQ_ESCAPES.update({"t": "\t", "v": "\v"})
_EXPANDS: Final = re.compile(r"(?<!`)\$(?:[A-Za-z_{(?^:$]|\$)")
_DQ_PART: Final = re.compile(rf"`(.)|({_DQ}){_DQ}|([^`{DOUBLE_QUOTES}]+)", re.DOTALL)
_SQ_PAIR: Final = re.compile(rf"({_SQ}){_SQ}")
_TYPE_SPACE: Final = re.compile(r"[\s`]")
_SQ_CHAR: Final = re.compile(_SQ)


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, where it is, its text and its value.

    ``value`` is the decoded string of a string that expands nothing (None when it expands variables),
    the lower-case name of a variable (``env:comspec``), type (``system.`` dropped, ``char[]``), operator
    (``join``, dash dropped) or word, the number of a number, and the text of anything else.
    """

    kind: str
    start: int
    end: int
    text: str
    value: str | int | None


def tokens(text: str, budget: Budget, start: int = 0, end: int | None = None) -> list[Token]:
    """The tokens of ``text[start:end]`` (white space and comments left out), offsets into ``text``."""
    found: list[Token] = []
    stop = len(text) if end is None else end
    for match in _TOKEN.finditer(text, start, stop):
        kind = match.lastgroup
        if kind is None or kind in ("ws", "comment"):
            continue
        budget.tick()
        raw = match.group()
        found.append(Token(kind if kind != "herestring" else "here", *match.span(), raw, _value(kind, raw)))
    return found


def _value(kind: str, raw: str) -> str | int | None:
    if kind == "sq":
        return _SQ_PAIR.sub(r"\1", raw[1:-1])
    if kind == "dq":
        return dq_value(raw[1:-1])
    if kind == "herestring":
        rest = raw.partition("\n")[2]
        if not rest.endswith(raw[1] + "@"):
            return None
        body = rest[:-2].removesuffix("\n").removesuffix("\r")
        return body if raw[1] in SINGLE_QUOTES else dq_value(body, here=True)
    if kind == "num":
        return int(raw, 16) if raw[:2] in ("0x", "0X") else int(float(raw))
    if kind in ("var", "word", "op"):
        name = raw.lower().replace("`", "")
        if kind == "var":
            name = name[1:].strip("{}")
        elif kind == "op":
            name = name[1:]
        return name
    if kind == "type":
        name = _TYPE_SPACE.sub("", raw[1:-1]).lower()
        return name.removeprefix("system.")
    return raw


def dq_value(body: str, here: bool = False) -> str | None:
    """The value of a double-quoted string's body; None when it expands a variable or subexpression."""
    if _EXPANDS.search(body):
        return None
    parts: list[str] = []
    for match in _DQ_PART.finditer(body):
        escaped, quote, plain = match.groups()
        if escaped is not None:
            parts.append(_DQ_ESCAPES.get(escaped, escaped))
        elif quote is not None:
            parts.append(quote if not here else quote * 2)
        else:
            parts.append(plain)
    return "".join(parts)


def quote(value: str) -> str:
    """``value`` as a single-quoted PowerShell string (every kind of single quote doubled)."""
    return "'" + _SQ_CHAR.sub(r"\g<0>\g<0>", value) + "'"
