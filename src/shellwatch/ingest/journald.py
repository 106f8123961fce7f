"""systemd journal exports: ``journalctl -o json`` (one JSON object per line).

``@timestamp`` is ``_SOURCE_REALTIME_TIMESTAMP`` (when the program logged) or else ``__REALTIME_TIMESTAMP``
(when journald received it; kept in ``event.created`` when both exist). ``_PID``, ``_COMM``, ``_EXE``,
``_CMDLINE`` and ``_UID`` describe the process that logged (``process.*``, uid in ``process.user.id``);
``MESSAGE`` (a string, or an array of byte values when it is not UTF-8) goes through the same normalizers as
syslog (:mod:`shellwatch.ingest._auth_messages`, keyed by ``SYSLOG_IDENTIFIER``), so a sudo or cron command
becomes a process start whose parent is the logging process. Unit, transport, boot id, cursor and audit
session are kept under ``journald.*``. A line that is not a JSON object is reported as an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import BinaryIO, Final

from shellwatch.events import EPOCH, Event, clean_text, decode_bytes, format_timestamp
from shellwatch.ingest._auth_messages import normalize
from shellwatch.ingest.base import ReadContext, Reader, first_lines, iter_json_objects, iter_lines
from shellwatch.ingest.registry import register

_KEPT: Final = (
    ("_SYSTEMD_UNIT", "journald.unit"),
    ("_SYSTEMD_USER_UNIT", "journald.user_unit"),
    ("_TRANSPORT", "journald.transport"),
    ("_BOOT_ID", "journald.boot_id"),
    ("__CURSOR", "journald.cursor"),
    ("_AUDIT_SESSION", "journald.audit_session"),
    ("_AUDIT_LOGINUID", "journald.audit_loginuid"),
    ("SYSLOG_IDENTIFIER", "log.syslog.appname"),
    ("_HOSTNAME", "log.syslog.hostname"),
    ("_MACHINE_ID", "host.id"),
    ("_COMM", "process.name"),
    ("_EXE", "process.executable"),
    ("_CMDLINE", "process.command_line"),
    ("_UID", "process.user.id"),
)
_NUMBERS: Final = (
    ("_PID", "process.pid"),
    ("PRIORITY", "log.syslog.severity.code"),
    ("SYSLOG_FACILITY", "log.syslog.facility.code"),
)


def _text(value: object) -> str | None:
    """A journal field as text: strings as they are, byte arrays decoded, repeated fields by the first."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list) and value:
        if all(isinstance(item, int) and 0 <= item < 256 for item in value):
            return decode_bytes(bytes(value))
        return _text(value[0])
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _timestamp(value: object) -> str | None:
    text = _text(value)
    if text is None or not text.isdecimal():
        return None
    try:
        return format_timestamp(EPOCH + timedelta(microseconds=int(text)))
    except OverflowError:
        return None


@register
class JournaldReader(Reader):
    name = "journald"
    description = "systemd journal JSON export (journalctl -o json); sshd, sudo, su, PAM, cron normalized"
    priority = 35

    @classmethod
    def sniff(cls, head: bytes, path: str) -> bool:
        lines = first_lines(head, 1)
        return (
            bool(lines)
            and lines[0].startswith(b"{")
            and (b'"__REALTIME_TIMESTAMP"' in lines[0] or b'"__CURSOR"' in lines[0])
        )

    def read(self, stream: BinaryIO, ctx: ReadContext) -> Iterator[Event]:
        for line, record in iter_json_objects(iter_lines(stream), ctx):
            event = self._event(record)
            event["log.offset"] = line.offset
            event["shellwatch.log.line"] = line.number
            message = _text(record.get("MESSAGE"))
            repeat = 1
            if message is not None:
                event["message"] = message
                program = _text(record.get("SYSLOG_IDENTIFIER")) or _text(record.get("_COMM"))
                repeat = normalize(event, program, message.strip())
            yield event
            for _ in range(repeat - 1):
                yield {key: list(value) if isinstance(value, list) else value for key, value in event.items()}

    def _event(self, record: dict[str, object]) -> Event:
        event: Event = {"event.kind": "event", "event.module": "system", "event.dataset": "system.syslog"}
        received = _timestamp(record.get("__REALTIME_TIMESTAMP"))
        logged = _timestamp(record.get("_SOURCE_REALTIME_TIMESTAMP"))
        stamp = logged or received
        if stamp is not None:
            event["@timestamp"] = stamp
        if logged and received and logged != received:
            event["event.created"] = received
        for source, target in _KEPT:
            value = _text(record.get(source))
            if value is not None:
                event[target] = value
        for source, target in _NUMBERS:
            value = _text(record.get(source))
            if value is not None and value.isdecimal():
                event[target] = int(value)
        host = event.get("log.syslog.hostname") or self.options.host
        if host:
            event["host.name"] = host
        if "process.name" not in event and "log.syslog.appname" in event:
            event["process.name"] = event["log.syslog.appname"]
        return event
