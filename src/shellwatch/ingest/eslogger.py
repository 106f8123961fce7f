"""macOS ``eslogger`` JSON lines (Endpoint Security messages, message versions 4 to 11 and later).

One JSON object a line: ``time`` (ISO 8601 with nanoseconds, UTC), ``event_type`` (9 exec, 11 fork,
15 exit, ...), ``process`` (the instigator), ``event`` (one key named after the event type), ``version``
(the Endpoint Security message version, kept as ``eslogger.version``), ``seq_num`` and ``global_seq_num``.

Audit tokens are objects (``{"pid": .., "pidversion": .., "euid": ..}``) in most versions and 8-integer
arrays in some (macOS 26, message version 10); both are read. The array is the kernel's ``audit_token_t``:
``[auid, euid, egid, ruid, rgid, pid, asid, pidversion]``.

Mapping choices:

* ``process.entity_id`` is ``entity_id(host, pid, pidversion)``: macOS bumps ``pidversion`` on every exec and
  on pid reuse, so it tells images apart where the pid alone cannot.
* exec: ``process.*`` is the new image (``event.exec.target``), with ``args``, ``cwd`` and ``script`` of the
  exec event. ``process.parent.pid``/``entity_id`` are the real parent (``ppid``, ``parent_audit_token``).
  ``process.parent.executable``/``name`` are the instigator's image, i.e. what the process ran before exec:
  for the children of a shell (fork or posix_spawn, then exec) that is the parent's image; for a process
  that execs itself again (``xpcproxy`` → service) it is the previous image.
* fork: ``process.*`` is the child, ``process.parent.*`` the forking instigator.
* exit: ``process.*`` is the instigator; ``process.exit_code`` is decoded from the wait status
  (``eslogger.exit.stat`` keeps it as it was), 128 + signal when the process was killed.
* other event types: ``process.*`` is the instigator, ``event.action`` the event type name, and no
  ``event.category`` (shellwatch does not map them yet).
* users: ``user.id`` is the audit (login) user ``auid`` when set, else the effective uid;
  ``user.effective.id`` euid, ``process.real_user.id`` ruid, ``user.effective.group.id`` egid,
  ``process.real_group.id`` rgid. ``process.session_id`` is the audit session ``asid``.
* ``host.name`` comes from ``--host`` (eslogger does not write one).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO, Final

from shellwatch.events import Event, basename, clean_text, entity_id, format_timestamp
from shellwatch.ingest.base import (
    Line,
    ReadContext,
    Reader,
    first_json_object,
    first_lines,
    iter_json_objects,
    iter_lines,
)
from shellwatch.ingest.registry import register

_TOKEN_FIELDS: Final = ("auid", "euid", "egid", "ruid", "rgid", "pid", "asid", "pidversion")
_AUID_UNSET: Final = 4294967295
_ISO = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$")
_SNIFF_KEYS = re.compile(rb'"(?:global_seq_num|mach_time)"\s*:')
_SNIFF_TYPE = re.compile(rb'"event_type"\s*:\s*\d')

# es_event_type_t values (EndpointSecurity/ESTypes.h) → names; NOTIFY and AUTH share the name.
_EVENT_TYPES: Final = {
    0: "exec", 1: "open", 2: "kextload", 3: "mmap", 4: "mprotect", 5: "mount", 6: "rename", 7: "signal",
    8: "unlink", 9: "exec", 10: "open", 11: "fork", 12: "close", 13: "create", 14: "exchangedata",
    15: "exit", 16: "get_task", 17: "kextload", 18: "kextunload", 19: "link", 20: "mmap", 21: "mprotect",
    22: "mount", 23: "unmount", 24: "iokit_open", 25: "rename", 26: "setattrlist", 27: "setextattr",
    28: "setflags", 29: "setmode", 30: "setowner", 31: "signal", 32: "unlink", 33: "write",
}  # fmt: skip
_CATEGORIES: Final = {
    "exec": (["process"], ["start"], "exec"),
    "fork": (["process"], ["start"], "fork"),
    "exit": (["process"], ["end"], "exit"),
}


def _token(raw: Any) -> dict[str, int]:
    """An audit token as a dict, from either of its two JSON shapes."""
    if isinstance(raw, dict):
        return {name: int(value) for name, value in raw.items() if isinstance(value, int)}
    if isinstance(raw, list) and len(raw) == len(_TOKEN_FIELDS):
        return dict(zip(_TOKEN_FIELDS, (int(value) for value in raw), strict=True))
    return {}


def _timestamp(text: str) -> str:
    """ISO text with nanoseconds → ``@timestamp`` text with microseconds (truncated, never rounded up)."""
    match = _ISO.match(text)
    if match:
        return f"{match.group(1)}.{(match.group(2) or '').ljust(6, '0')[:6]}Z"
    return format_timestamp(datetime.fromisoformat(text))


def _path(obj: Any) -> str | None:
    if isinstance(obj, dict) and isinstance(obj.get("path"), str):
        return clean_text(obj["path"])
    return None


def _exit_code(status: int) -> int:
    """The exit code a wait(2) status carries, or 128 + signal for a killed process."""
    signal = status & 0x7F
    return (status >> 8) & 0xFF if signal == 0 else 128 + signal


@register
class EsloggerReader(Reader):
    name = "eslogger"
    description = "macOS eslogger JSON (Endpoint Security exec/fork/exit, message versions 4-11)"
    priority = 30

    @classmethod
    def sniff(cls, head: bytes, path: str) -> bool:
        obj = first_json_object(head)
        if obj is None:
            # A first message longer than the sniffed head: look for eslogger's own keys.
            lines = first_lines(head, 1)
            return bool(
                lines
                and lines[0].startswith(b"{")
                and _SNIFF_TYPE.search(lines[0])
                and _SNIFF_KEYS.search(lines[0])
            )
        return {"event_type", "process", "event", "time"} <= obj.keys() and (
            "global_seq_num" in obj or "mach_time" in obj
        )

    def read(self, stream: BinaryIO, ctx: ReadContext) -> Iterator[Event]:
        for line, message in iter_json_objects(iter_lines(stream), ctx):
            try:
                event = self._event(message, line)
            except (ValueError, TypeError, KeyError) as exc:
                ctx.error(
                    f"bad eslogger message: {exc!r}", line=line.number, offset=line.offset, raw=line.data
                )
                continue
            yield event

    def _event(self, message: dict[str, Any], line: Line) -> Event:
        kind = self._kind(message)
        host = self.options.host or ""
        event: Event = {
            "@timestamp": _timestamp(message["time"]),
            "event.kind": "event",
            "event.module": "eslogger",
            "event.dataset": f"eslogger.{kind}",
            "event.action": kind,
            "agent.type": "eslogger",
            "host.os.type": "macos",
            "log.offset": line.offset,
            "shellwatch.log.line": line.number,
        }
        if self.options.host:
            event["host.name"] = self.options.host
        _metadata(message, event)
        if kind in _CATEGORIES:
            category, types, _ = _CATEGORIES[kind]
            event["event.category"], event["event.type"] = category, types
        instigator = message.get("process") or {}
        body = message.get("event", {}).get(kind) or {}
        if kind == "exec":
            _process(body["target"], "process", host, event)
            _exec(body, event)
            _parent_image(instigator, event)
        elif kind == "fork":
            _process(body["child"], "process", host, event)
            _process(instigator, "process.parent", host, event)
        else:
            _process(instigator, "process", host, event)
            if kind == "exit" and isinstance(body.get("stat"), int):
                event["eslogger.exit.stat"] = body["stat"]
                event["process.exit_code"] = _exit_code(body["stat"])
        return event

    @staticmethod
    def _kind(message: dict[str, Any]) -> str:
        number = message.get("event_type")
        if isinstance(number, int) and number in _EVENT_TYPES:
            return _EVENT_TYPES[number]
        body = message.get("event")
        if isinstance(body, dict) and len(body) == 1:
            return str(next(iter(body)))
        return f"type_{number}"


def _metadata(message: dict[str, Any], event: Event) -> None:
    if isinstance(message.get("global_seq_num"), int):
        event["event.sequence"] = message["global_seq_num"]
    for name in ("seq_num", "version", "schema_version", "event_type", "action_type"):
        if isinstance(message.get(name), int):
            event[f"eslogger.{name}"] = message[name]


def _process(proc: dict[str, Any], prefix: str, host: str, event: Event) -> None:
    """``<prefix>.*`` from an es_process_t; the real parent as ``<prefix>.parent.*`` for ``process``."""
    token = _token(proc.get("audit_token"))
    pid = token.get("pid")
    if pid is not None:
        event[f"{prefix}.pid"] = pid
        event[f"{prefix}.entity_id"] = entity_id(host, pid, token.get("pidversion", proc.get("start_time")))
    executable = _path(proc.get("executable"))
    if executable:
        event[f"{prefix}.executable"] = executable
        event[f"{prefix}.name"] = basename(executable)
    tty = _path(proc.get("tty"))
    if tty:
        event[f"{prefix}.tty.name"] = tty.removeprefix("/dev/")
    if isinstance(proc.get("start_time"), str):
        event[f"{prefix}.start"] = _timestamp(proc["start_time"])
    if isinstance(proc.get("team_id"), str):
        event[f"{prefix}.code_signature.team_id"] = proc["team_id"]
    if "asid" in token:
        event[f"{prefix}.session_id"] = str(token["asid"])
    if prefix == "process":
        _leaders(proc, event)
        _users(token, event)
        _signature(proc, event)
        _real_parent(proc, host, event)


def _leaders(proc: dict[str, Any], event: Event) -> None:
    """The POSIX session id and process group id are the pids of their leaders."""
    if isinstance(proc.get("session_id"), int):
        event["process.session_leader.pid"] = proc["session_id"]
    if isinstance(proc.get("group_id"), int):
        event["process.group_leader.pid"] = proc["group_id"]


def _users(token: dict[str, int], event: Event) -> None:
    auid, euid = token.get("auid"), token.get("euid")
    user = auid if auid is not None and auid != _AUID_UNSET else euid
    if user is not None:
        event["user.id"] = str(user)
    for name, key in (
        ("euid", "user.effective.id"),
        ("ruid", "process.real_user.id"),
        ("egid", "user.effective.group.id"),
        ("rgid", "process.real_group.id"),
    ):
        if name in token:
            event[key] = str(token[name])


def _signature(proc: dict[str, Any], event: Event) -> None:
    for name in ("signing_id", "cdhash", "is_platform_binary", "codesigning_flags", "original_ppid"):
        value = proc.get(name)
        if isinstance(value, str | bool | int):
            event[f"eslogger.process.{name}"] = value
    responsible = _token(proc.get("responsible_audit_token"))
    if "pid" in responsible:
        event["eslogger.process.responsible.pid"] = responsible["pid"]


def _real_parent(proc: dict[str, Any], host: str, event: Event) -> None:
    parent = _token(proc.get("parent_audit_token"))
    ppid = parent.get("pid", proc.get("ppid"))
    if not isinstance(ppid, int):
        return
    event["process.parent.pid"] = ppid
    if "pidversion" in parent:
        event["process.parent.entity_id"] = entity_id(host, ppid, parent["pidversion"])


def _exec(body: dict[str, Any], event: Event) -> None:
    args = body.get("args")
    if isinstance(args, list):
        argv = [clean_text(str(arg)) for arg in args]
        event["process.args"] = argv
        event["process.args_count"] = len(argv)
        event["process.command_line"] = " ".join(argv)
    cwd = _path(body.get("cwd"))
    if cwd:
        event["process.working_directory"] = cwd
    script = _path(body.get("script"))
    if script:
        event["eslogger.exec.script.path"] = script


def _parent_image(instigator: dict[str, Any], event: Event) -> None:
    executable = _path(instigator.get("executable"))
    if executable:
        event["process.parent.executable"] = executable
        event["process.parent.name"] = basename(executable)
