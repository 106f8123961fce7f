"""Shell history files: bash (with or without ``#<epoch>`` lines), zsh (plain and EXTENDED_HISTORY), fish.

History carries no host and often no user: the user comes from ``--user`` or from the path
(``/home/alice/.bash_history`` → ``alice``, ``/root/...`` → ``root``), the host from ``--host``. A history
line is a command the user typed, so it becomes a ``process`` / ``info`` event with ``process.command_line``;
``@timestamp`` is set only when the file records one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import BinaryIO

from shellwatch.events import Event, basename, decode_bytes, timestamp_from_epoch
from shellwatch.ingest._argv import split_posix
from shellwatch.ingest.base import Line, ReadContext, Reader, first_lines, iter_lines
from shellwatch.ingest.registry import register

_BASH_STAMP = re.compile(rb"^#(\d{9,11})$")
_ZSH_EXTENDED = re.compile(rb"^: (\d{9,11}):(\d+);(.*)$", re.DOTALL)
_FISH_CMD = re.compile(rb"^- cmd: ?(.*)$")
_FISH_WHEN = re.compile(rb"^\s+when: (\d+)$")
_FISH_PATHS = re.compile(rb"^\s+(paths:|- )")
_FISH_ESCAPE = re.compile(r"\\([\\n])")
_ZSH_META = b"\x83"
_ZSH_METAFIED = re.compile(rb"\x83([\x00-\xff])")
_NAME_HINTS = ("history", "_history", "histfile")


def user_from_path(path: str) -> str | None:
    """``alice`` for ``.../home/alice/.bash_history`` (or ``/Users/alice``), ``root`` for ``/root/...``."""
    parts = PurePosixPath(path.replace("\\", "/").split("!")[-1]).parts
    for index, part in enumerate(parts[:-1]):
        if part in {"home", "Users"} and index + 2 < len(parts):
            return parts[index + 1]
        if part == "root" and index + 1 == len(parts) - 1:
            return "root"
    return None


@register
class ShellHistoryReader(Reader):
    name = "shell_history"
    description = "bash, zsh and fish history files (timestamps when recorded; user from the path or --user)"
    priority = 90

    @classmethod
    def sniff(cls, head: bytes, path: str) -> bool:
        lines = first_lines(head, 3)
        if not lines or b"\x00" in head[:4096]:
            return False
        if _ZSH_EXTENDED.match(lines[0]) or _FISH_CMD.match(lines[0]):
            return True
        if _BASH_STAMP.match(lines[0]):
            return True
        name = PurePosixPath(path.replace("\\", "/")).name.lower()
        return any(hint in name for hint in _NAME_HINTS) and not lines[0].startswith((b"{", b"<"))

    def read(self, stream: BinaryIO, ctx: ReadContext) -> Iterator[Event]:
        lines = iter_lines(stream)
        first = next(lines, None)
        if first is None:
            return
        shell = self._shell(first.data, ctx.path)
        base = {
            "user.name": self.options.user or user_from_path(ctx.path),
            "host.name": self.options.host,
        }
        entries = {"fish": _fish, "zsh": _zsh}.get(shell, _bash)(_chain(first, lines), ctx)
        for line, epoch, command in entries:
            ctx.record()
            yield self._event(shell, line, epoch, command, base)

    @staticmethod
    def _shell(first: bytes, path: str) -> str:
        if _FISH_CMD.match(first):
            return "fish"
        if _ZSH_EXTENDED.match(first) or "zsh" in path.lower():
            return "zsh"
        return "bash"

    @staticmethod
    def _event(shell: str, line: Line, epoch: int | None, command: str, base: dict[str, str | None]) -> Event:
        args = split_posix(command)
        event: Event = {
            "event.kind": "event",
            "event.category": ["process"],
            "event.type": ["info"],
            "event.action": "command-entered",
            "event.module": "shell_history",
            "event.dataset": f"shell_history.{shell}",
            "process.command_line": command,
            "process.args": args,
            "process.args_count": len(args),
            "process.parent.name": shell,
            "shell_history.shell": shell,
            "log.offset": line.offset,
            "shellwatch.log.line": line.number,
        }
        if args:
            event["process.name"] = basename(args[0])
        if epoch is not None:
            event["@timestamp"] = timestamp_from_epoch(epoch)
        for key, value in base.items():
            if value:
                event[key] = value
        return event


Entry = tuple[Line, int | None, str]


def _chain(first: Line, rest: Iterator[Line]) -> Iterator[Line]:
    yield first
    yield from rest


def _bash(lines: Iterator[Line], ctx: ReadContext) -> Iterator[Entry]:
    """Plain bash: one command per line; with ``#<epoch>`` lines, all lines up to the next stamp are one."""
    epoch: int | None = None
    start: Line | None = None
    parts: list[str] = []
    stamped = False
    for line in lines:
        stamp = _BASH_STAMP.match(line.data)
        if stamp:
            if start is not None:
                yield start, epoch, "\n".join(parts)
            epoch, start, parts, stamped = int(stamp.group(1)), None, [], True
            continue
        if not line.data.strip():
            continue
        if not stamped:
            yield line, None, decode_bytes(line.data)
            continue
        if start is None:
            start = line
        parts.append(decode_bytes(line.data))
    if start is not None:
        yield start, epoch, "\n".join(parts)


def _zsh(lines: Iterator[Line], ctx: ReadContext) -> Iterator[Entry]:
    """zsh: ``: <epoch>:<duration>;command``, or plain lines.

    zsh writes a newline inside a command as backslash-newline and, reading, turns a line's trailing backslash
    back into that newline; non-ASCII bytes are "metafied" (0x83 then the byte XOR 0x20) and are undone here.
    """
    pending: tuple[Line, int | None, list[str]] | None = None
    for line in lines:
        if pending is not None:
            pending[2].append(_zsh_text(line.data.removesuffix(b"\\")))
            if line.data.endswith(b"\\"):
                continue
            yield pending[0], pending[1], "\n".join(pending[2])
            pending = None
            continue
        if not line.data.strip():
            continue
        match = _ZSH_EXTENDED.match(line.data)
        epoch = int(match.group(1)) if match else None
        command = match.group(3) if match else line.data
        if command.endswith(b"\\"):
            pending = (line, epoch, [_zsh_text(command[:-1])])
            continue
        yield line, epoch, _zsh_text(command)
    if pending is not None:
        yield pending[0], pending[1], "\n".join(pending[2])


def _zsh_text(data: bytes) -> str:
    if _ZSH_META in data:
        data = _ZSH_METAFIED.sub(lambda match: bytes([match.group(1)[0] ^ 0x20]), data)
    return decode_bytes(data)


def _fish(lines: Iterator[Line], ctx: ReadContext) -> Iterator[Entry]:
    """fish: a YAML-like list of ``- cmd: ...`` with ``when: <epoch>`` and optional ``paths:``."""
    current: tuple[Line, str] | None = None
    epoch: int | None = None
    for line in lines:
        command = _FISH_CMD.match(line.data)
        if command:
            if current is not None:
                yield current[0], epoch, current[1]
            current, epoch = (line, _fish_unescape(decode_bytes(command.group(1)))), None
            continue
        when = _FISH_WHEN.match(line.data)
        if when:
            epoch = int(when.group(1))
        elif line.data.strip() and not _FISH_PATHS.match(line.data):
            ctx.error("not a fish history line", line=line.number, offset=line.offset, raw=line.data)
    if current is not None:
        yield current[0], epoch, current[1]


def _fish_unescape(text: str) -> str:
    """fish writes a newline as ``\\n`` and a backslash as ``\\\\``; undo both in one pass."""
    return _FISH_ESCAPE.sub(_fish_char, text)


def _fish_char(match: re.Match[str]) -> str:
    return "\n" if match.group(1) == "n" else "\\"
