"""The contract every log-format reader fulfils, and the context it reports to.

A reader is one class in one module of :mod:`shellwatch.ingest`: a ``name``, a cheap :meth:`Reader.sniff` on
the first bytes of a file, and :meth:`Reader.read`, a generator of normalized events. Readers emit, they do
not store: a record that cannot be parsed is reported with :meth:`ReadContext.error` and reading goes on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, NamedTuple

import orjson

from shellwatch.events import Event

RAW_EXCERPT_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class ReaderOptions:
    """Options a user can pass to readers; each reader uses the ones that concern it."""

    host: str | None = None
    """Host name for sources that do not carry one (shell history, some JSON exports)."""
    user: str | None = None
    """User name for sources that do not carry one (shell history)."""
    year: int | None = None
    """Year for RFC 3164 syslog timestamps, which have none (default: from the file's modification time)."""
    mapping: Path | None = None
    """YAML field-mapping file for the generic JSON reader."""


@dataclass(frozen=True, slots=True)
class ParseIssue:
    """One record that could not be parsed: where it is, why, and what it looked like."""

    path: str
    format: str
    reason: str
    line: int | None = None
    offset: int | None = None
    raw: str | None = None

    def location(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
        if self.offset is not None:
            where += f" (offset {self.offset})"
        return where


@dataclass(slots=True)
class ReadContext:
    """What a reader knows about the file it reads, and where it reports records and errors."""

    path: str
    format: str
    options: ReaderOptions = field(default_factory=ReaderOptions)
    on_issue: Callable[[ParseIssue], None] | None = None
    mtime: float | None = None
    records: int = 0
    errors: int = 0

    def record(self, count: int = 1) -> None:
        """Count raw records read (lines, XML events, audit records...)."""
        self.records += count

    def error(
        self,
        reason: str,
        *,
        line: int | None = None,
        offset: int | None = None,
        raw: str | bytes | None = None,
    ) -> None:
        """Report one record that could not be parsed; the reader then carries on."""
        self.errors += 1
        if isinstance(raw, bytes):
            raw = raw[:RAW_EXCERPT_LIMIT].decode("utf-8", "backslashreplace")
        elif raw is not None:
            raw = raw[:RAW_EXCERPT_LIMIT]
        issue = ParseIssue(self.path, self.format, reason, line, offset, raw)
        if self.on_issue is not None:
            self.on_issue(issue)


class Reader(ABC):
    """A log format: bytes in, normalized ECS events out."""

    name: ClassVar[str]
    """Unique name of the format, used on the command line (``--format auditd``)."""
    description: ClassVar[str]
    """One line for ``shellwatch formats``."""
    priority: ClassVar[int] = 50
    """Sniffing order: lower goes first, so specific formats are tried before generic ones."""

    def __init__(self, options: ReaderOptions | None = None) -> None:
        self.options = options or ReaderOptions()

    @classmethod
    @abstractmethod
    def sniff(cls, head: bytes, path: str) -> bool:
        """Whether ``head`` (the first bytes of the decompressed file) looks like this format."""

    @abstractmethod
    def read(self, stream: BinaryIO, ctx: ReadContext) -> Iterator[Event]:
        """Yield the events of ``stream``; report unparseable records to ``ctx`` and go on."""


class Line(NamedTuple):
    number: int
    """1-based line number."""
    offset: int
    """Byte offset of the line's first byte."""
    data: bytes
    """The line without its line ending."""


def iter_lines(stream: BinaryIO) -> Iterator[Line]:
    """The lines of a binary stream with their numbers and byte offsets."""
    offset = 0
    for number, raw in enumerate(stream, start=1):
        size = len(raw)
        yield Line(number, offset, raw.rstrip(b"\r\n"))
        offset += size


def next_nonblank(lines: Iterator[Line]) -> Line | None:
    """The next line of ``lines`` that is not blank (consumed with the blank ones before it), or None."""
    return next((line for line in lines if line.data.strip()), None)


def iter_json_objects(lines: Iterable[Line], ctx: ReadContext) -> Iterator[tuple[Line, dict[str, Any]]]:
    """Each non-blank line of NDJSON ``lines``, counted as a record, with its JSON object.

    A line that is not JSON, or not a JSON object, is reported to ``ctx`` and reading goes on.
    """
    for line in lines:
        if not line.data.strip():
            continue
        ctx.record()
        try:
            value = orjson.loads(line.data)
        except orjson.JSONDecodeError as exc:
            ctx.error(f"not JSON: {exc}", line=line.number, offset=line.offset, raw=line.data)
            continue
        if not isinstance(value, dict):
            ctx.error("not a JSON object", line=line.number, offset=line.offset, raw=line.data)
            continue
        yield line, value


def first_lines(head: bytes, count: int = 5) -> list[bytes]:
    """The first ``count`` non-empty lines of ``head``, for sniffing (the last may be cut short)."""
    lines = [line.strip() for line in head.splitlines()[: count * 4]]
    return [line for line in lines if line][:count]


def first_json_object(head: bytes) -> dict[str, Any] | None:
    """The first non-empty line of ``head`` as a JSON object, or None when it is not one (or is cut short)."""
    lines = first_lines(head, 1)
    if not lines or not lines[0].startswith(b"{"):
        return None
    try:
        value = orjson.loads(lines[0])
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
