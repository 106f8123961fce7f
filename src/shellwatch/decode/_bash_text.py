"""The pure text utilities the bash emulator knows: their output is a function of their arguments and input.

Each tool takes its arguments, its standard input (None when it is not known) and the budget, and returns
what it writes on its standard output. A tool raises :class:`Unknown` when its output depends on anything
else (a file, an option it does not model, input that is not known).
"""

from __future__ import annotations

import base64
import binascii
import bz2
import hashlib
import re
import zlib
from collections.abc import Callable
from typing import Final

from shellwatch.decode._bash_parse import ansi_c
from shellwatch.decode.model import Budget


class Unknown(Exception):
    """A value depends on something outside the line (a file, the network, an unknown command)."""


Tool = Callable[[list[str], str | None, Budget], str]

_FORMAT: Final = re.compile(
    r"%([-+ #0]*)(\d*)(?:\.(\d+))?([sdiouxXcbq%])"
    r"|\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|0?[0-7]{1,3}|.)",
    re.DOTALL,
)
_ECHO_FLAGS: Final = re.compile(r"-[neE]+")
_CUT_RANGE: Final = re.compile(r"-([bc])\s*(\d*)(?:-(\d*))?")
_CUT_FIELD: Final = re.compile(r"-d\s*(.)\s+-f\s*(\d+)|-f\s*(\d+)\s+-d\s*(.)")
_PERL_XOR: Final = re.compile(r"\s*print\s+'((?:[^'\\]|\\.)*)'\s*\^\s*'((?:[^'\\]|\\.)*)'\s*;?\s*", re.DOTALL)
_OCTAL: Final = re.compile(r"0\d+")
_HASHES: Final = {"md5sum": "md5", "sha1sum": "sha1", "sha256sum": "sha256"}
_DECODE_FLAGS: Final = frozenset({"-d", "--decode", "-D", "-di", "-id"})


def to_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def from_bytes(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _input(stdin: str | None) -> str:
    if stdin is None:
        raise Unknown("standard input")
    return stdin


def _no_files(args: list[str]) -> None:
    if any(arg != "-" and not arg.startswith("-") for arg in args):
        raise Unknown("a file")


# printf and echo ----------------------------------------------------------------------------------------


def _int_arg(text: str) -> int:
    if text[:1] in ("'", '"'):
        return ord(text[1]) if len(text) > 1 else 0
    text = text.strip()
    if not text:
        return 0
    try:
        return int(text, 8) if _OCTAL.fullmatch(text) else int(text, 0)
    except ValueError as exc:
        raise Unknown("printf number") from exc


def _conversion(match: re.Match[str], queue: list[str], budget: Budget) -> str:
    flags, width, precision, conv = match.groups()[:4]
    arg = queue.pop(0) if queue else ""
    if conv in "sbq":
        text = ansi_c(arg) if conv == "b" else arg
        if precision:
            text = text[: int(precision)]
    elif conv == "c":
        text = arg[:1]
    else:
        spec = {"d": "d", "i": "d", "u": "d", "o": "o", "x": "x", "X": "X"}[conv]
        text = format(_int_arg(arg), spec)
    if width:
        size = int(width)
        budget.room(size)
        text = text.ljust(size) if "-" in flags else text.rjust(size, "0" if "0" in flags else " ")
    return text


def printf(fmt: str, args: list[str], budget: Budget) -> str:
    """``printf fmt args...``: the format is reused while arguments remain, as bash does."""
    queue = list(args)
    out: list[str] = []
    while True:
        budget.tick()
        used = False

        def one(match: re.Match[str]) -> str:
            nonlocal used
            if match.group(5) is not None:
                code = match.group(5)
                return ansi_c("\\" + (code[1:] if code[0] == "0" and len(code) > 1 else code))
            if match.group(4) == "%":
                return "%"
            used = True
            return _conversion(match, queue, budget)

        out.append(_FORMAT.sub(one, fmt))
        budget.room(sum(len(piece) for piece in out))
        if not used or not queue:
            return "".join(out)


def _printf(args: list[str], stdin: str | None, budget: Budget) -> str:
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        raise Unknown("printf without format")
    return printf(args[0], args[1:], budget)


def _echo(args: list[str], stdin: str | None, budget: Budget) -> str:
    newline = True
    escapes = False
    while args and _ECHO_FLAGS.fullmatch(args[0]):
        newline = newline and "n" not in args[0]
        if "e" in args[0] or "E" in args[0]:
            escapes = "e" in args[0]
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text = ansi_c(text.replace("\\0", "\\"))
    return text + ("\n" if newline else "")


# filters ------------------------------------------------------------------------------------------------


def _cat(args: list[str], stdin: str | None, budget: Budget) -> str:
    _no_files(args)
    return _input(stdin)


def _tac(args: list[str], stdin: str | None, budget: Budget) -> str:
    _no_files(args)
    return "".join(reversed(_input(stdin).splitlines(keepends=True)))


def _rev(args: list[str], stdin: str | None, budget: Budget) -> str:
    if args:
        raise Unknown("rev of a file")
    return "\n".join(line[::-1] for line in _input(stdin).split("\n"))


def _base64(args: list[str], stdin: str | None, budget: Budget) -> str:
    text = _input(stdin)
    if not _DECODE_FLAGS & set(args):
        _no_files(args)
        return base64.b64encode(to_bytes(text)).decode() + "\n"
    cleaned = re.sub(r"\s+", "", text)
    try:
        return from_bytes(base64.b64decode(cleaned + "=" * (-len(cleaned) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise Unknown("bad base64") from exc


def _xxd(args: list[str], stdin: str | None, budget: Budget) -> str:
    if ("-r" in args and "-p" in args) or "-rp" in args or "-pr" in args:
        hexes = re.sub(r"[^0-9a-fA-F]", "", _input(stdin))
        return from_bytes(bytes.fromhex(hexes[: len(hexes) // 2 * 2]))
    if args in (["-p"], ["-ps"]):
        return to_bytes(_input(stdin)).hex() + "\n"
    raise Unknown("xxd")


def _tr_set(arg: str) -> str:
    text = ansi_c(arg) if "\\" in arg else arg
    out: list[str] = []
    index = 0
    while index < len(text):
        if index + 2 < len(text) and text[index + 1] == "-":
            first, last = ord(text[index]), ord(text[index + 2])
            if last >= first and last - first < 256:
                out.extend(chr(code) for code in range(first, last + 1))
                index += 3
                continue
        out.append(text[index])
        index += 1
    return "".join(out)


def _tr(args: list[str], stdin: str | None, budget: Budget) -> str:
    text = _input(stdin)
    sets = [_tr_set(arg) for arg in args if not arg.startswith("-")]
    if args[:1] == ["-d"] and len(sets) == 1:
        return "".join(char for char in text if char not in sets[0])
    if len(sets) != 2 or not sets[1] or any(arg.startswith("-") for arg in args):
        raise Unknown("tr")
    source, dest = sets
    dest = dest + dest[-1] * max(0, len(source) - len(dest))
    return text.translate({ord(char): dest[index] for index, char in enumerate(source)})


def _inflate(bzip: bool, raw: bytes, budget: Budget) -> str:
    room = budget.limits.max_output + 1
    try:
        if bzip:
            result = bz2.BZ2Decompressor().decompress(raw, max_length=room)
        else:
            result = zlib.decompressobj(47).decompress(raw, room)
    except (OSError, zlib.error, ValueError, EOFError) as exc:
        raise Unknown("bad compressed data") from exc
    budget.room(len(result))
    return from_bytes(result)


def _decompressor(bzip: bool, always: bool) -> Tool:
    """``gzip -d``/``zcat`` (``bzip2 -d``/``bzcat``) of standard input; compressing is not modelled."""

    def tool(args: list[str], stdin: str | None, budget: Budget) -> str:
        if not always and not any("d" in arg for arg in args if arg.startswith("-") and arg != "--"):
            raise Unknown("compression")
        _no_files(args)
        return _inflate(bzip, to_bytes(_input(stdin)), budget)

    return tool


def _cut_fields(match: re.Match[str], text: str) -> str:
    sep = match.group(1) or match.group(4)
    index = int(match.group(2) or match.group(3)) - 1
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out: list[str] = []
    for line in lines:
        pieces = line.split(sep)
        out.append((pieces[index] if len(pieces) > index >= 0 else "") if sep in line else line)
    return "".join(line + "\n" for line in out)


def _cut(args: list[str], stdin: str | None, budget: Budget) -> str:
    joined = " ".join(args)
    text = _input(stdin)
    match = _CUT_RANGE.fullmatch(joined)
    if match is None:
        fields = _CUT_FIELD.fullmatch(joined)
        if fields is None:
            raise Unknown("cut")
        return _cut_fields(fields, text)
    start = max(int(match.group(2) or 1), 1)
    ranged = "-" in joined[2:]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out: list[str] = []
    for line in lines:
        end = (int(match.group(3)) if match.group(3) else len(line)) if ranged else start
        out.append(line[start - 1 : end] + "\n")
    return "".join(out)


def _digest(algorithm: str) -> Tool:
    def tool(args: list[str], stdin: str | None, budget: Budget) -> str:
        if args:
            raise Unknown("a file")
        return hashlib.new(algorithm, to_bytes(_input(stdin))).hexdigest() + "  -\n"

    return tool


def _perl(args: list[str], stdin: str | None, budget: Budget) -> str:
    """``perl -e "print 'a' ^ 'b'"``: the string xor Bashfuscator's xor encoder uses, nothing else."""
    match = _PERL_XOR.fullmatch(args[1]) if len(args) == 2 and args[0] == "-e" else None
    if match is None:
        raise Unknown("perl")
    left, right = (re.sub(r"\\([\\'])", r"\1", text) for text in match.groups())
    size = max(len(left), len(right))
    left, right = left.ljust(size, "\0"), right.ljust(size, "\0")
    return "".join(chr(ord(a) ^ ord(b)) for a, b in zip(left, right, strict=True))


TOOLS: Final[dict[str, Tool]] = {
    "echo": _echo,
    "printf": _printf,
    "cat": _cat,
    "tac": _tac,
    "rev": _rev,
    "base64": _base64,
    "xxd": _xxd,
    "tr": _tr,
    "gzip": _decompressor(False, always=False),
    "gunzip": _decompressor(False, always=True),
    "zcat": _decompressor(False, always=True),
    "bzip2": _decompressor(True, always=False),
    "bunzip2": _decompressor(True, always=True),
    "bzcat": _decompressor(True, always=True),
    "cut": _cut,
    "perl": _perl,
    **{name: _digest(algorithm) for name, algorithm in _HASHES.items()},
}
"""The pure text utilities, by command name."""
