"""AUOMS (Microsoft's auditd-compatible collector, Azure Monitor / Sentinel) records to ECS events.

AUOMS writes one record per syscall event, ``type=AUOMS_EXECVE audit(SECONDS.MILLIS:SERIAL): key=value
...`` with user and group names beside the ids, the working directory, the PATH items as lists and the
command line. Two containers are read:

* an Azure Sentinel ``Syslog`` table export (JSON lines) whose ``SyslogMessage`` holds the record;
* plain syslog lines (``... auoms[1234]: type=AUOMS_EXECVE audit(...): ...``) or bare records.

``cmdline`` and ``proctitle`` are free text (AUOMS does not quote them, or quotes around inner quotes), so
they are cut out first: each runs to the next ``redactors=`` / ``containerid=`` field. ``cmdline`` quotes
an argument with special characters in double quotes, so ``process.args`` is its shell-style split.

AUOMS names each process's parent only by pid; within one file the reader remembers what every pid last
executed and fills ``process.parent.*`` (executable, name, command line, args, entity id) from it, so a
``java → bash -c ... → bash -i`` chain reads as one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO, Final

import orjson

from shellwatch.events import Event, basename, decode_bytes
from shellwatch.ingest._argv import split_posix
from shellwatch.ingest._audit_ecs import apply_keys, build_event
from shellwatch.ingest._audit_records import EMPTY, Record, is_hex, tokenize
from shellwatch.ingest.base import ReadContext, Reader, first_lines
from shellwatch.ingest.registry import register

_RECORD: Final = re.compile(
    r"type=(?P<type>AUOMS_[A-Z0-9_]+) (?:msg=)?"
    r"audit\((?P<sec>\d{1,11})\.(?P<frac>\d{1,9}):(?P<serial>\d{1,20})\):? ?"
)
_FREE_TEXT: Final = ("cmdline", "proctitle")
_FREE_TEXT_END: Final = re.compile(r" (?:redactors|containerid)=")
_SYSCALL_FIELDS: Final = frozenset(
    {
        "arch", "syscall", "success", "exit", "a0", "a1", "a2", "a3", "ppid", "pid", "auid", "uid", "gid",
        "euid", "suid", "fsuid", "egid", "sgid", "fsgid", "tty", "ses", "comm", "exe",
    }
)  # fmt: skip
_NAMES: Final = {
    "audit_user": "AUID",
    "user": "UID",
    "effective_user": "EUID",
    "group": "GID",
    "effective_group": "EGID",
}
_PARENT_FIELDS: Final = ("executable", "name", "command_line", "args", "entity_id")
_MAX_PROCESSES: Final = 65536


def split_free_text(body: str) -> tuple[str, dict[str, str]]:
    """Cut ``cmdline=...`` and ``proctitle=...`` (free text up to the next trailer field) out of a body."""
    found: dict[str, str] = {}
    for name in _FREE_TEXT:
        start = body.find(f" {name}=")
        if start < 0:
            continue
        value_start = start + len(name) + 2
        end_match = _FREE_TEXT_END.search(body, value_start)
        end = end_match.start() if end_match else len(body)
        value = body[value_start:end]
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1]
        found[name] = value
        body = body[:start] + body[end:]
    return body, found


def parse_auoms(text: str, line: int, offset: int) -> tuple[Record, dict[str, str], dict[str, str]] | None:
    """The SYSCALL-like record, the other AUOMS fields, and the free-text fields; None if not AUOMS."""
    match = _RECORD.search(text)
    if match is None:
        return None
    body, free = split_free_text(text[match.end() :])
    fields = tokenize(body)
    syscall_fields = {key: value for key, value in fields.items() if key in _SYSCALL_FIELDS}
    enriched = {
        upper: f'"{fields[name]}"' for name, upper in _NAMES.items() if fields.get(name, "") not in EMPTY
    }
    record = Record(
        type=match.group("type"),
        node=_unquote(fields.get("node")),
        stamp=f"{match.group('sec')}.{match.group('frac')}",
        serial=int(match.group("serial")),
        fields=syscall_fields,
        enriched=enriched,
        line=line,
        offset=offset,
    )
    return record, fields, free


def _unquote(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip('"') or None


@register
class AuomsReader(Reader):
    name = "auoms"
    description = "Microsoft AUOMS audit records (Azure Sentinel Syslog JSON export or syslog lines)"
    priority = 15

    @classmethod
    def sniff(cls, head: bytes, path: str) -> bool:
        lines = first_lines(head, 3)
        if not lines:
            return False
        first = lines[0]
        if first.startswith(b"{"):
            return b"type=AUOMS_" in first or b'"EventType":"AUOMS_' in first
        return any(b"type=AUOMS_" in line and b"audit(" in line for line in lines)

    def read(self, stream: BinaryIO, ctx: ReadContext) -> Iterator[Event]:
        processes: dict[int, dict[str, object]] = {}
        offset = 0
        for number, raw in enumerate(stream, start=1):
            line_offset = offset
            offset += len(raw)
            data = raw.strip()
            if not data:
                continue
            text, host = self._message(data)
            parsed = parse_auoms(text, number, line_offset) if text is not None else None
            if parsed is None:
                ctx.error("not an AUOMS record", line=number, offset=line_offset, raw=data)
                continue
            ctx.record()
            event = self._event(*parsed, host=host or self.options.host)
            _link_parent(event, processes)
            yield event

    @staticmethod
    def _message(data: bytes) -> tuple[str | None, str | None]:
        """The AUOMS record text and the host name of a Sentinel JSON row or a syslog line."""
        if not data.startswith(b"{"):
            return decode_bytes(data), None
        try:
            row = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None, None
        if not isinstance(row, dict):
            return None, None
        message = row.get("SyslogMessage")
        if not isinstance(message, str):
            event_type, event_data = row.get("EventType"), row.get("EventData")
            if not isinstance(event_type, str) or not isinstance(event_data, str):
                return None, None
            message = f"type={event_type} {event_data}"
        host = row.get("Computer") or row.get("HostName")
        return message, host if isinstance(host, str) else None

    @staticmethod
    def _event(record: Record, fields: dict[str, str], free: dict[str, str], host: str | None) -> Event:
        if record.node is None and host:
            record.node = host
        auoms_type, record.type = record.type, "SYSCALL"
        event = build_event([record], host)
        event["event.code"] = auoms_type
        event["auditd.record_types"] = [auoms_type]
        event["event.dataset"] = "auditd.auoms"
        event["event.provider"] = "auoms"
        event["agent.type"] = "auoms"
        version = fields.get("auoms_version")
        if version:
            event["agent.version"] = version
        _apply_command(event, fields, free)
        _apply_auoms_fields(event, fields)
        return event


def _apply_command(event: Event, fields: dict[str, str], free: dict[str, str]) -> None:
    command = free.get("cmdline")
    title = free.get("proctitle")
    if command:
        args = split_posix(command)
        event["process.command_line"] = command
        event["process.args"] = args
        argc = fields.get("argc", "")
        event["process.args_count"] = int(argc) if argc.isdigit() else len(args)
    if title:
        event["process.title"] = title
        event.setdefault("process.command_line", title)


def _apply_auoms_fields(event: Event, fields: dict[str, str]) -> None:
    cwd = _unquote(fields.get("cwd"))
    if cwd:
        event["process.working_directory"] = cwd
    name = _unquote(fields.get("name"))
    if name:
        event["file.path"] = name
    key_r = fields.get("key_r", "")
    if key_r and is_hex(key_r):
        apply_keys(event, decode_bytes(bytes.fromhex(key_r)))
    elif fields.get("key"):
        apply_keys(event, fields["key"].replace(",", "\x01"))
    container = _unquote(fields.get("containerid"))
    if container:
        event["auditd.data.containerid"] = container
    executable = event.get("process.executable")
    if isinstance(executable, str) and "process.name" not in event:
        event["process.name"] = basename(executable)


def _link_parent(event: Event, processes: dict[int, dict[str, object]]) -> None:
    """Fill process.parent.* from what the parent pid last executed in this file; remember this one."""
    ppid = event.get("process.parent.pid")
    if isinstance(ppid, int) and ppid in processes:
        for field_name, value in processes[ppid].items():
            if isinstance(value, str | list):
                event[f"process.parent.{field_name}"] = value
    pid = event.get("process.pid")
    if not isinstance(pid, int):
        return
    known = {name: event[f"process.{name}"] for name in _PARENT_FIELDS if f"process.{name}" in event}
    if event.get("event.outcome") == "success" or pid not in processes:
        if len(processes) >= _MAX_PROCESSES:
            processes.pop(next(iter(processes)))
        processes[pid] = dict(known)
