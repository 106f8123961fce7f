"""Syslog files (``auth.log``, ``secure``, ``messages``, ``syslog``): RFC 3164, rsyslog ISO 8601, RFC 5424.

Every line becomes an event with ``message``, ``host.name``, ``process.name`` (the tag), ``process.pid`` and
``log.syslog.*``; messages of sshd, sudo, su, PAM, login, systemd-logind, cron and shadow-utils are
normalized by :mod:`shellwatch.ingest._auth_messages` (the same code as for journald). Timestamps: see
:mod:`shellwatch.ingest._syslog_frame` (RFC 3164 has no year and no zone: the year comes from ``--year`` or
the file's mtime, the zone is taken to be UTC).

Lines that are not framed like syslog:

* a line of text that follows a syslog line is a continuation of its message (syslog daemons and plaso's
  test data write multi-line messages this way); it is appended to ``message`` after a newline, and
  counted in ``shellwatch.syslog.continuation_lines``. At most 1000 continuation lines join one message;
* binary garbage (control bytes, invalid UTF-8), an unframed line before any syslog line, or a line whose
  date does not exist (``Feb 30``) is reported with ``ctx.error`` (line, offset and raw bytes), never dropped
  silently.

Repeats: rsyslog's ``message repeated N times: [ MSG ]`` yields N events for MSG, and sysklogd's
``last message repeated N times`` yields N copies of the previous event; each copy carries
``shellwatch.repeat.count`` (N) and ``shellwatch.repeat.index`` (1..N): N failed passwords are N
``ssh_login`` failure events.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Final

from shellwatch.events import Event, basename, decode_bytes
from shellwatch.ingest._auth_messages import normalize
from shellwatch.ingest._syslog_frame import SNIFF, BadTimestamp, Frame, YearGuess, parse_line
from shellwatch.ingest.base import Line, ReadContext, Reader, first_lines, iter_lines
from shellwatch.ingest.registry import register

MAX_CONTINUATION_LINES: Final = 1000
_GARBAGE = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")
_LAST_REPEATED = re.compile(r"(?:--- )?last message repeated (?P<count>\d{1,9}) times?(?: ---)?$")
_OLD_PAM_SUFFIX = re.compile(r"\(pam_\w+\)$")


def _is_text(data: bytes) -> bool:
    if _GARBAGE.search(data):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _copy(event: Event) -> Event:
    return {key: list(value) if isinstance(value, list) else value for key, value in event.items()}


@dataclass(slots=True)
class _Pending:
    """The event of the last framed line, kept until we know whether continuation lines follow."""

    event: Event
    repeat: int = 1
    continuation: list[str] = field(default_factory=list)

    def events(self) -> Iterator[Event]:
        event = self.event
        if self.continuation:
            event["message"] = "\n".join([str(event.get("message", "")), *self.continuation])
            event["shellwatch.syslog.continuation_lines"] = len(self.continuation)
        if self.repeat == 1:
            yield event
            return
        for index in range(1, self.repeat + 1):
            copy = _copy(event) if index < self.repeat else event
            copy["shellwatch.repeat.count"] = self.repeat
            copy["shellwatch.repeat.index"] = index
            yield copy


@register
class SyslogReader(Reader):
    name = "syslog"
    description = (
        "syslog / auth.log (RFC 3164, rsyslog ISO 8601, RFC 5424); sshd, sudo, su, PAM, cron normalized"
    )
    priority = 80

    @classmethod
    def sniff(cls, head: bytes, path: str) -> bool:
        lines = first_lines(head.removeprefix(b"\xef\xbb\xbf"), 5)
        if not lines or not SNIFF.match(lines[0]):
            return False
        matching = sum(1 for line in lines if SNIFF.match(line))
        return matching * 2 >= len(lines)

    def read(self, stream: BinaryIO, ctx: ReadContext) -> Iterator[Event]:
        years = YearGuess(self.options.year, ctx.mtime)
        pending: _Pending | None = None
        last: Event | None = None
        for line in iter_lines(stream):
            data = line.data.removeprefix(b"\xef\xbb\xbf") if line.number == 1 else line.data
            if not data.strip():
                continue
            ctx.record()
            text = decode_bytes(data)
            try:
                frame = parse_line(text, years)
            except BadTimestamp as exc:
                ctx.error(f"impossible syslog date: {exc}", line=line.number, offset=line.offset, raw=data)
                continue
            if frame is None:
                if (
                    pending is not None
                    and len(pending.continuation) < MAX_CONTINUATION_LINES
                    and _is_text(data)
                ):
                    pending.continuation.append(text.rstrip())
                else:
                    ctx.error("not a syslog line", line=line.number, offset=line.offset, raw=data)
                continue
            if pending is not None:
                last = pending.event
                yield from pending.events()
            pending = self._pending(frame, line, last)
        if pending is not None:
            yield from pending.events()

    def _pending(self, frame: Frame, line: Line, last: Event | None) -> _Pending:
        repeated = _LAST_REPEATED.match(frame.message) if frame.message.startswith(("---", "last")) else None
        if repeated and last is not None:
            event = _copy(last)
            event.pop("shellwatch.repeat.count", None)
            event.pop("shellwatch.repeat.index", None)
            event.pop("shellwatch.syslog.continuation_lines", None)
            self._locate(event, frame, line)
            return _Pending(event, int(repeated["count"]))
        event = self._event(frame, line)
        repeat = normalize(event, frame.program, frame.message)
        return _Pending(event, repeat)

    @staticmethod
    def _locate(event: Event, frame: Frame, line: Line) -> None:
        if frame.timestamp is not None:
            event["@timestamp"] = frame.timestamp
        event["log.offset"] = line.offset
        event["shellwatch.log.line"] = line.number

    def _event(self, frame: Frame, line: Line) -> Event:
        event: Event = {
            "event.kind": "event",
            "event.module": "system",
            "event.dataset": "system.syslog",
            "message": frame.message,
        }
        self._locate(event, frame, line)
        host = frame.host or self.options.host
        if host:
            event["host.name"] = host
        if frame.host:
            event["log.syslog.hostname"] = frame.host
        if frame.program:
            event["log.syslog.appname"] = frame.program
            event["process.name"] = basename(_OLD_PAM_SUFFIX.sub("", frame.program))
            if frame.program.startswith("/"):
                event["process.executable"] = frame.program
        if frame.pid is not None:
            event["process.pid"] = frame.pid
        if frame.priority is not None:
            event["log.syslog.priority"] = frame.priority
            event["log.syslog.facility.code"] = frame.priority >> 3
            event["log.syslog.severity.code"] = frame.priority & 7
        for key, value in frame.extra.items():
            event[f"log.syslog.{key}"] = value
        return event
