"""osquery result logs (``osqueryd.results.log``): JSON lines, one query result each.

Three documented shapes, every row of which becomes one event:

* differential, one row: ``{"name": .., "hostIdentifier": .., "unixTime": .., "columns": {..}, "action": ..}``
* batched differential: ``{"name": .., "diffResults": {"added": [..], "removed": [..]}, ..}``
* snapshot: ``{"name": .., "snapshot": [{..}, ..], "action": "snapshot", ..}``

Rows are mapped by their columns, not by the query name (packs name queries as they like): a row with the
columns of ``process_events``, ``socket_events``, ``processes``, ``process_open_sockets``,
``es_process_events``, ``logged_in_users`` or ``last`` gets ECS fields; every column the mapping does not use
is kept as ``osquery.columns.<name>``, and a row of any other table keeps all its columns that way.

``@timestamp`` is the row's ``time`` column when it has one (event tables), else the record's ``unixTime``.
``host.name`` is ``decorations.hostname`` when a decorator adds it, else ``hostIdentifier``. osquery writes
column values as text unless ``numerics`` is true; both are read. ``event.action`` is the row's own action
where the table has one (``socket_events`` connect/bind/accept, ``es_process_events`` exec/fork/exit), the
syscall for ``process_events``, and osquery's ``added``/``removed``/``snapshot`` otherwise. osquery joins
argv with spaces in ``cmdline``, so ``process.args`` is that text split on white space (quoting is lost).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO, Final

from shellwatch.events import Event, basename, canonical_ip, clean_text, entity_id, timestamp_from_epoch
from shellwatch.ingest.base import Line, ReadContext, Reader, first_json_object, iter_json_objects, iter_lines
from shellwatch.ingest.registry import register

Row = dict[str, Any]
_UNSET_AUID: Final = "4294967295"
_SHAPES: Final = ("columns", "diffResults", "snapshot")
_TRANSPORTS: Final = {"6": "tcp", "17": "udp", "1": "icmp", "58": "ipv6-icmp", "132": "sctp"}
_FAMILIES: Final = {"2": "ipv4", "10": "ipv6", "30": "ipv6", "28": "ipv6"}
_SOCKET_TYPES: Final = {
    "connect": ["connection", "start"],
    "accept": ["connection", "start"],
    "bind": ["start"],
}
_LAST_TYPES: Final = {"7": ["start"], "8": ["end"]}
_ES_TYPES: Final = {"exec": ["start"], "fork": ["start"], "exit": ["end"]}

# Column → (event key, converter) shared by the process tables.
_PROCESS_COLUMNS: Final[dict[str, tuple[str, Callable[[Any], Any]]]] = {
    "pid": ("process.pid", int),
    "ppid": ("process.parent.pid", int),
    "parent": ("process.parent.pid", int),
    "cwd": ("process.working_directory", str),
    "uid": ("process.real_user.id", str),
    "euid": ("user.effective.id", str),
    "gid": ("user.group.id", str),
    "egid": ("user.effective.group.id", str),
    "username": ("user.name", str),
    "team_id": ("process.code_signature.team_id", str),
    "exit_code": ("process.exit_code", int),
}


def _text(value: Any) -> str:
    return clean_text(value) if isinstance(value, str) else str(value)


def _present(value: Any) -> bool:
    return value is not None and value != ""


def _number(value: Any) -> int:
    """An integer column (text unless ``numerics``); 0 when empty."""
    return int(value) if _present(value) else 0


def _is_ip(text: str) -> bool:
    return canonical_ip(text) is not None


def _table(row: Row) -> str:
    """Which osquery table a row comes from, by its columns."""
    if "event_type" in row and ("original_parent" in row or "global_seq_num" in row):
        return "es_process_events"
    if "syscall" in row or {"cmdline", "auid", "time"} <= row.keys():
        return "process_events"
    if "remote_address" in row:
        return "socket_events" if "action" in row and "time" in row else "process_open_sockets"
    if {"pid", "parent", "cmdline"} <= row.keys() and ("on_disk" in row or "start_time" in row):
        return "processes"
    if {"username", "tty", "type"} <= row.keys():
        return "last"
    if {"user", "tty", "host"} <= row.keys():
        return "logged_in_users"
    return "generic"


@register
class OsqueryReader(Reader):
    name = "osquery"
    description = "osquery result logs (differential, batched and snapshot JSON lines)"
    priority = 30

    @classmethod
    def sniff(cls, head: bytes, path: str) -> bool:
        obj = first_json_object(head)
        return (
            obj is not None
            and "name" in obj
            and ("hostIdentifier" in obj or "calendarTime" in obj)
            and any(shape in obj for shape in _SHAPES)
        )

    def read(self, stream: BinaryIO, ctx: ReadContext) -> Iterator[Event]:
        for line, record in iter_json_objects(iter_lines(stream), ctx):
            try:
                events = [self._event(record, row, action, line) for row, action in _rows(record)]
            except (ValueError, TypeError, KeyError) as exc:
                reason = f"bad osquery result: {exc!r}"
                ctx.error(reason, line=line.number, offset=line.offset, raw=line.data)
                continue
            yield from events

    def _event(self, record: dict[str, Any], row: Row, action: str, line: Line) -> Event:
        table = _table(row)
        event: Event = {
            "event.kind": "event",
            "event.module": "osquery",
            "event.dataset": f"osquery.{table}" if table != "generic" else "osquery.result",
            "event.action": action,
            "agent.type": "osquery",
            "osquery.name": str(record.get("name", "")),
            "osquery.action": action,
            "log.offset": line.offset,
            "shellwatch.log.line": line.number,
        }
        _host(record, event, self.options.host)
        _time(record, row, event)
        used = _MAPPERS.get(table, _generic)(row, event)
        for name, value in row.items():
            if name not in used and _present(value):
                event[f"osquery.columns.{name}"] = _text(value)
        return event


def _rows(record: dict[str, Any]) -> Iterator[tuple[Row, str]]:
    if isinstance(record.get("columns"), dict):
        yield record["columns"], str(record.get("action", "added"))
    elif isinstance(record.get("diffResults"), dict):
        for action in ("added", "removed"):
            for row in record["diffResults"].get(action) or []:
                yield row, action
    elif isinstance(record.get("snapshot"), list):
        for row in record["snapshot"]:
            yield row, "snapshot"
    else:
        raise ValueError("no columns, diffResults or snapshot")


def _host(record: dict[str, Any], event: Event, fallback: str | None) -> None:
    decorations = record.get("decorations") or {}
    name = decorations.get("hostname") or record.get("hostIdentifier") or fallback
    if name:
        event["host.name"] = str(name)
    if decorations.get("host_uuid"):
        event["host.id"] = str(decorations["host_uuid"])
    if record.get("hostIdentifier") and name != record["hostIdentifier"]:
        event["host.hostname"] = str(record["hostIdentifier"])


def _time(record: dict[str, Any], row: Row, event: Event) -> None:
    if _number(row.get("time")) > 0:
        event["@timestamp"] = timestamp_from_epoch(_number(row["time"]))
    elif _present(record.get("unixTime")):
        event["@timestamp"] = timestamp_from_epoch(int(record["unixTime"]))
    elif record.get("calendarTime"):
        moment = datetime.strptime(str(record["calendarTime"]), "%a %b %d %H:%M:%S %Y UTC")
        event["@timestamp"] = timestamp_from_epoch(moment.replace(tzinfo=UTC).timestamp())


def _copy(row: Row, event: Event, table: dict[str, tuple[str, Callable[[Any], Any]]]) -> set[str]:
    used: set[str] = set()
    for name, (key, convert) in table.items():
        if _present(row.get(name)):
            event[key] = convert(_text(row[name]) if convert is str else row[name])
            used.add(name)
    return used


def _image(row: Row, event: Event, path_column: str = "path") -> set[str]:
    used: set[str] = set()
    path = row.get(path_column)
    if _present(path):
        event["process.executable"] = _text(path)
        event["process.name"] = basename(_text(path))
        used.add(path_column)
    if _present(row.get("name")):
        event["process.name"] = _text(row["name"])
        used.add("name")
    if _present(row.get("cmdline")):
        command = _text(row["cmdline"])
        args = command.split()
        event["process.command_line"] = command
        event["process.args"] = args
        event["process.args_count"] = len(args)
        used.add("cmdline")
    return used


def _user(row: Row, event: Event) -> set[str]:
    """``user.id``: the audit (login) uid when set, else the real uid, as on Linux audit."""
    auid = _text(row["auid"]) if _present(row.get("auid")) else ""
    if auid and auid != _UNSET_AUID:
        event["user.id"] = auid
    elif _present(row.get("uid")):
        event["user.id"] = _text(row["uid"])
    return {"auid"}


def _entity(event: Event, start: Any) -> None:
    pid = event.get("process.pid")
    if pid is not None and start not in (None, "", 0, "0"):
        event["process.entity_id"] = entity_id(event.get("host.name", ""), pid, start)


def _process_events(row: Row, event: Event) -> set[str]:
    event["event.category"], event["event.type"] = ["process"], ["start"]
    event["event.action"] = _text(row.get("syscall") or "exec")
    used = _copy(row, event, _PROCESS_COLUMNS) | _image(row, event) | _user(row, event) | {"syscall", "time"}
    _entity(event, row.get("time"))
    return used


def _es_process_events(row: Row, event: Event) -> set[str]:
    action = _text(row.get("event_type", ""))
    event["event.category"], event["event.type"] = ["process"], _ES_TYPES.get(action, ["info"])
    event["event.action"] = action
    event["host.os.type"] = "macos"
    used = _copy(row, event, _PROCESS_COLUMNS) | _image(row, event) | _user(row, event)
    if action == "fork" and _present(row.get("child_pid")):
        event["process.parent.pid"] = event.get("process.pid", 0)
        event["process.pid"] = int(row["child_pid"])
        used.add("child_pid")
    # pidversion tells macOS images apart, as in the eslogger reader (same host, pid, pidversion: same id).
    _entity(event, row.get("pidversion") or row.get("time"))
    return used | {"event_type", "time"}


def _processes(row: Row, event: Event) -> set[str]:
    event["event.category"], event["event.type"] = ["process"], ["info"]
    used = _copy(row, event, _PROCESS_COLUMNS) | _image(row, event) | _user(row, event)
    start = _number(row.get("start_time"))
    if start > 0:
        event["process.start"] = timestamp_from_epoch(start)
        used.add("start_time")
    _entity(event, start)
    return used


def _endpoints(row: Row, event: Event, *, reverse: bool) -> set[str]:
    local = (row.get("local_address"), row.get("local_port"))
    remote = (row.get("remote_address"), row.get("remote_port"))
    source, destination = (remote, local) if reverse else (local, remote)
    related: list[str] = []
    for prefix, (address, port) in (("source", source), ("destination", destination)):
        if _present(address):
            text = _text(address)
            event[f"{prefix}.address"] = text
            if _is_ip(text):
                event[f"{prefix}.ip"] = text
                if text not in related:
                    related.append(text)
        if _number(port) > 0:
            event[f"{prefix}.port"] = _number(port)
    if related:
        event["related.ip"] = related
    transport = _TRANSPORTS.get(_text(row.get("protocol", "")))
    if transport:
        event["network.transport"] = transport
        event["network.iana_number"] = _text(row["protocol"])
    family = _FAMILIES.get(_text(row.get("family", "")))
    if family:
        event["network.type"] = family
    return {"local_address", "local_port", "remote_address", "remote_port", "protocol", "family"}


def _socket_events(row: Row, event: Event) -> set[str]:
    action = _text(row.get("action", ""))
    event["event.category"], event["event.type"] = ["network"], _SOCKET_TYPES.get(action, ["info"])
    event["event.action"] = action
    used = _endpoints(row, event, reverse=action == "accept") | _image(row, event) | _user(row, event)
    used |= _copy(row, event, {"pid": ("process.pid", int)})
    if _present(row.get("success")):
        event["event.outcome"] = "success" if _text(row["success"]) == "1" else "failure"
        used.add("success")
    return used | {"action", "time"}


def _open_sockets(row: Row, event: Event) -> set[str]:
    event["event.category"], event["event.type"] = ["network"], ["info"]
    used = _endpoints(row, event, reverse=False) | _image(row, event)
    return used | _copy(row, event, {"pid": ("process.pid", int)})


def _sessions(row: Row, event: Event, user_column: str) -> set[str]:
    event["event.category"] = ["session"]
    event["event.type"] = _LAST_TYPES.get(_text(row.get("type", "")), ["info"])
    if _present(row.get(user_column)):
        event["user.name"] = _text(row[user_column])
        event["related.user"] = [_text(row[user_column])]
    if _present(row.get("tty")):
        event["process.tty.name"] = _text(row["tty"])
    host = _text(row.get("host") or "")
    if host:
        event["source.address"] = host
        if _is_ip(host):
            event["source.ip"] = host
    used = _copy(row, event, {"pid": ("process.pid", int)})
    return used | {user_column, "tty", "host", "time"}


def _last(row: Row, event: Event) -> set[str]:
    event["event.action"] = _text(row.get("type_name") or event["event.action"])
    return _sessions(row, event, "username") | {"type_name"}


def _logged_in_users(row: Row, event: Event) -> set[str]:
    return _sessions(row, event, "user")


def _generic(row: Row, event: Event) -> set[str]:
    return set()


_MAPPERS: Final[dict[str, Callable[[Row, Event], set[str]]]] = {
    "process_events": _process_events,
    "es_process_events": _es_process_events,
    "processes": _processes,
    "socket_events": _socket_events,
    "process_open_sockets": _open_sockets,
    "last": _last,
    "logged_in_users": _logged_in_users,
}
