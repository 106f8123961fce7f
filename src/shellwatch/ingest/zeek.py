"""Zeek logs: standard TSV (``#separator`` header), JSON lines, and the SIMPLE-ROCK JSON variant.

Every Zeek log is read; ``conn`` records become full ECS network-connection events, other paths (dns, http,
ssl, ...) become generic events with their fields under ``zeek.<path>.*`` plus the obvious ECS fields.

Choices, documented here once:

* ``event.type`` of a conn record is ``["connection", "start", "end"]``, as in Elastic's Zeek integration:
  Zeek writes the record when the connection ends, and it describes the whole connection. ``@timestamp`` and
  ``event.start`` are ``ts`` (first packet); ``event.end`` is ``ts + duration``.
* ``source.bytes`` / ``destination.bytes`` are IP-level bytes (``orig_ip_bytes`` / ``resp_ip_bytes``), like
  NetFlow counters, so flows from both sensors compare; the payload bytes stay in
  ``zeek.connection.orig_bytes`` / ``resp_bytes``. Without the IP-level counts the payload bytes are used.
* ``network.protocol`` is the first service Zeek identified; the full list is ``zeek.connection.service``.
* Values under ``zeek.*`` keep Zeek's own types (counts as integers, bools as booleans).
* SIMPLE-ROCK JSON writes ``id_orig_h`` for ``id.orig_h`` and adds ``@stream`` (the log path), ``@system``
  (the sensor, ``observer.name``) and ``@proc``; json-streaming-logs writes ``_path`` and ``_system_name``.

A TSV row whose column count does not match ``#fields``, or whose value does not fit its ``#types``, is an
error (with its line number); reading goes on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, BinaryIO, Final

import orjson

from shellwatch.events import Event, clean_text, timestamp_from_epoch
from shellwatch.ingest.base import (
    Line,
    ReadContext,
    Reader,
    first_json_object,
    iter_json_objects,
    iter_lines,
    next_nonblank,
)
from shellwatch.ingest.registry import register

_TSV_MAGIC: Final = b"#separator "
_FILE_PATH = re.compile(r"(?:^|[_.\-/])([a-z0-9_]+?)(?:\.\d{2}:\d{2}:\d{2}-\d{2}:\d{2}:\d{2})?\.log$")
_HEX_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")

# Zeek field names as the SIMPLE-ROCK sensor writes them → Zeek's own names.
_RENAMED: Final = {
    "id_orig_h": "id.orig_h",
    "id_orig_p": "id.orig_p",
    "id_resp_h": "id.resp_h",
    "id_resp_p": "id.resp_p",
}
# Keys that say where a record comes from rather than what it says.
_META: Final = frozenset({"_path", "@stream", "_system_name", "@system", "@proc", "_write_ts"})
_ENDPOINTS: Final = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p")

_CONN_STATES: Final = {
    "S0": "Connection attempt seen, no reply.",
    "S1": "Connection established, not terminated.",
    "SF": "Normal establishment and termination.",
    "REJ": "Connection attempt rejected.",
    "S2": "Connection established and close attempt by originator seen (but no reply from responder).",
    "S3": "Connection established and close attempt by responder seen (but no reply from originator).",
    "RSTO": "Connection established, originator aborted (sent a RST).",
    "RSTR": "Responder sent a RST.",
    "RSTOS0": "Originator sent a SYN followed by a RST, we never saw a SYN-ACK from the responder.",
    "RSTRH": (
        "Responder sent a SYN ACK followed by a RST, we never saw a SYN from the (purported) originator."
    ),
    "SH": "Originator sent a SYN followed by a FIN, we never saw a SYN ACK from the responder.",
    "SHR": "Responder sent a SYN ACK followed by a FIN, we never saw a SYN from the originator.",
    "OTH": "No SYN seen, just midstream traffic.",
}
_DIRECTIONS: Final = {
    (True, True): "internal",
    (True, False): "outbound",
    (False, True): "inbound",
    (False, False): "external",
}

# conn.log columns copied as they are: Zeek name → event key.
_CONN_COPY: Final = (
    ("uid", "zeek.session_id"),
    ("conn_state", "zeek.connection.state"),
    ("history", "zeek.connection.history"),
    ("local_orig", "zeek.connection.local_orig"),
    ("local_resp", "zeek.connection.local_resp"),
    ("missed_bytes", "zeek.connection.missed_bytes"),
    ("orig_bytes", "zeek.connection.orig_bytes"),
    ("resp_bytes", "zeek.connection.resp_bytes"),
    ("orig_ip_bytes", "zeek.connection.orig_ip_bytes"),
    ("resp_ip_bytes", "zeek.connection.resp_ip_bytes"),
    ("service", "zeek.connection.service"),
    ("tunnel_parents", "zeek.connection.tunnel_parents"),
    ("vlan", "zeek.connection.vlan"),
    ("inner_vlan", "zeek.connection.inner_vlan"),
    ("orig_pkts", "source.packets"),
    ("resp_pkts", "destination.packets"),
    ("community_id", "network.community_id"),
)
_CONN_USED: Final = frozenset(
    {name for name, _ in _CONN_COPY} | set(_ENDPOINTS) | {"proto", "duration", "orig_l2_addr", "resp_l2_addr"}
)
# ECS fields that other Zeek logs have an obvious value for: (path, Zeek name) → event key.
_PATH_ECS: Final = {
    ("dns", "query"): "dns.question.name",
    ("http", "uri"): "url.original",
    ("http", "host"): "destination.domain",
    ("ssl", "server_name"): "destination.domain",
    ("ssh", "client"): "zeek.ssh.client",
}


def _unescape(text: str) -> str:
    return _HEX_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def _to_bool(text: str) -> bool:
    if text in {"T", "true"}:
        return True
    if text in {"F", "false"}:
        return False
    raise ValueError(f"not a bool: {text!r}")


_SCALAR_TYPES: Final[dict[str, Callable[[str], Any]]] = {
    "time": float,
    "interval": float,
    "double": float,
    "count": int,
    "int": int,
    "port": int,
    "bool": _to_bool,
}


class _Header:
    """The state a TSV log's ``#`` lines set up."""

    def __init__(self) -> None:
        self.separator = "\t"
        self.set_separator = ","
        self.empty = "(empty)"
        self.unset = "-"
        self.path = ""
        self.fields: list[str] = []
        self.converters: list[Callable[[str], Any]] = []

    def directive(self, text: str) -> None:
        name, _, value = text[1:].partition(" " if text.startswith("#separator") else self.separator)
        if name == "separator":
            self.separator = _unescape(value)
        elif name == "set_separator":
            self.set_separator = value
        elif name == "empty_field":
            self.empty = value
        elif name == "unset_field":
            self.unset = value
        elif name == "path":
            self.path = value
        elif name == "fields":
            self.fields = value.split(self.separator)
            self.converters = [str] * len(self.fields)
        elif name == "types":
            self.converters = [self._converter(kind) for kind in value.split(self.separator)]

    def _converter(self, kind: str) -> Callable[[str], Any]:
        if kind.startswith(("set[", "vector[", "table[")):
            inner = _SCALAR_TYPES.get(kind[kind.index("[") + 1 : -1], str)
            return lambda text: (
                [] if text == self.empty else [inner(v) for v in text.split(self.set_separator)]
            )
        return _SCALAR_TYPES.get(kind, str)

    def _items(self, text: str, inner: Callable[[str], Any]) -> list[Any]:
        return [] if text == self.empty else [inner(item) for item in text.split(self.set_separator)]

    def row(self, text: str) -> dict[str, Any]:
        values = text.split(self.separator)
        if len(values) != len(self.fields):
            raise ValueError(f"{len(values)} columns where #fields names {len(self.fields)}")
        record: dict[str, Any] = {}
        for name, convert, value in zip(self.fields, self.converters, values, strict=False):
            if value == self.unset:
                continue
            try:
                record[name] = convert(value)
            except ValueError:
                raise ValueError(f"{name}: {value!r} is not a valid value") from None
        return record


def _looks_zeek_json(obj: dict[str, Any]) -> bool:
    if "ts" not in obj:
        return False
    if "@stream" in obj and "@proc" in obj:
        return True
    if "_path" in obj and ("uid" in obj or "fuid" in obj or "_write_ts" in obj):
        return True
    return "uid" in obj and ("id.orig_h" in obj or "id_orig_h" in obj)


def _iso_or_epoch(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    raise ValueError(f"ts: {value!r} is not a time")


def _nanoseconds(seconds: float) -> int:
    return round(seconds * 1_000_000_000)


def _mac(value: str) -> str:
    """ECS MAC notation: upper-case octets joined by hyphens."""
    return value.replace(":", "-").upper()


def _path_from_keys(obj: dict[str, Any]) -> str | None:
    if "conn_state" in obj or "orig_pkts" in obj:
        return "conn"
    if "query" in obj and "qtype_name" in obj:
        return "dns"
    if "method" in obj and "uri" in obj:
        return "http"
    if "server_name" in obj or "cipher" in obj:
        return "ssl"
    return None


def _path_from_name(name: str) -> str | None:
    match = _FILE_PATH.search(PurePosixPath(name.replace("\\", "/").split("!")[-1]).name)
    return match.group(1) if match else None


@register
class ZeekReader(Reader):
    name = "zeek"
    description = "Zeek logs (TSV or JSON; conn.log as network connections, SIMPLE-ROCK JSON too)"
    priority = 30

    @classmethod
    def sniff(cls, head: bytes, path: str) -> bool:
        if head.startswith(_TSV_MAGIC) and b"\n#fields" in head:
            return True
        obj = first_json_object(head)
        return obj is not None and _looks_zeek_json(obj)

    def read(self, stream: BinaryIO, ctx: ReadContext) -> Iterator[Event]:
        lines = iter_lines(stream)
        first = next_nonblank(lines)
        if first is None:
            return
        rest = _chain(first, lines)
        default_path = _path_from_name(ctx.path)
        if first.data.startswith(b"#"):
            yield from self._read_tsv(rest, ctx, default_path)
        else:
            yield from self._read_json(rest, ctx, default_path)

    def _read_tsv(self, lines: Iterator[Line], ctx: ReadContext, default_path: str | None) -> Iterator[Event]:
        header = _Header()
        for line in lines:
            text = line.data.decode("utf-8", "surrogateescape")
            if text.startswith("#"):
                header.directive(text)
                continue
            if not text.strip():
                continue
            ctx.record()
            if not header.fields:
                ctx.error("data row before any #fields line", line=line.number, offset=line.offset, raw=text)
                continue
            try:
                record = header.row(text)
                event = self._event(record, header.path or default_path or "unknown", line)
            except (ValueError, TypeError) as exc:
                ctx.error(str(exc), line=line.number, offset=line.offset, raw=line.data)
                continue
            yield event

    def _read_json(
        self, lines: Iterator[Line], ctx: ReadContext, default_path: str | None
    ) -> Iterator[Event]:
        for line, obj in iter_json_objects(lines, ctx):
            try:
                for short, full in _RENAMED.items():
                    if short in obj:
                        obj[full] = obj.pop(short)
                path = obj.get("_path") or obj.get("@stream") or _path_from_keys(obj) or default_path
                event = self._event(obj, str(path or "unknown"), line)
            except (ValueError, TypeError) as exc:
                ctx.error(f"bad Zeek JSON record: {exc}", line=line.number, offset=line.offset, raw=line.data)
                continue
            yield event

    def _event(self, record: dict[str, Any], path: str, line: Line) -> Event:
        event: Event = {
            "event.kind": "event",
            "event.module": "zeek",
            "event.dataset": f"zeek.{path}",
            "agent.type": "zeek",
            "log.offset": line.offset,
            "shellwatch.log.line": line.number,
        }
        if "ts" in record:
            start = _iso_or_epoch(record["ts"])
            event["@timestamp"] = timestamp_from_epoch(start)
        observer = record.get("@system") or record.get("_system_name")
        if observer:
            event["observer.name"] = str(observer)
        _endpoints(record, event)
        if path == "conn":
            _conn(record, event)
        else:
            _other(record, path, event)
        return event


def _chain(first: Line, rest: Iterator[Line]) -> Iterator[Line]:
    yield first
    yield from rest


def _endpoints(record: dict[str, Any], event: Event) -> None:
    orig, resp = record.get("id.orig_h"), record.get("id.resp_h")
    related: list[str] = []
    if orig is not None:
        event["source.ip"] = str(orig)
        related.append(str(orig))
        event["network.type"] = "ipv6" if ":" in str(orig) else "ipv4"
    if resp is not None:
        event["destination.ip"] = str(resp)
        if resp != orig:
            related.append(str(resp))
    if "id.orig_p" in record:
        event["source.port"] = int(record["id.orig_p"])
    if "id.resp_p" in record:
        event["destination.port"] = int(record["id.resp_p"])
    if related:
        event["related.ip"] = related


def _conn(record: dict[str, Any], event: Event) -> None:
    event["event.category"] = ["network"]
    event["event.type"] = ["connection", "start", "end"]
    event["event.action"] = "network_flow"
    if "proto" in record:
        event["network.transport"] = str(record["proto"]).lower()
    for name, key in _CONN_COPY:
        value = record.get(name)
        if value is not None:
            event[key] = value
    service = record.get("service")
    if service:
        event["network.protocol"] = str(service).split(",")[0]
    state = record.get("conn_state")
    if state in _CONN_STATES:
        event["zeek.connection.state_message"] = _CONN_STATES[state]
    _conn_times(record, event)
    _conn_counts(record, event)
    local = (record.get("local_orig"), record.get("local_resp"))
    if local in _DIRECTIONS:
        event["network.direction"] = _DIRECTIONS[local]
    for name, key in (("orig_l2_addr", "source.mac"), ("resp_l2_addr", "destination.mac")):
        if record.get(name):
            event[key] = _mac(str(record[name]))
    for name, value in record.items():
        if name not in _CONN_USED and name not in _META:
            event[f"zeek.connection.{name}"] = _plain(value)


def _conn_times(record: dict[str, Any], event: Event) -> None:
    if "@timestamp" in event:
        event["event.start"] = event["@timestamp"]
    duration = record.get("duration")
    if duration is None:
        return
    event["event.duration"] = _nanoseconds(float(duration))
    if "ts" in record:
        event["event.end"] = timestamp_from_epoch(_iso_or_epoch(record["ts"]) + float(duration))


def _conn_counts(record: dict[str, Any], event: Event) -> None:
    orig = record.get("orig_ip_bytes", record.get("orig_bytes"))
    resp = record.get("resp_ip_bytes", record.get("resp_bytes"))
    if orig is not None:
        event["source.bytes"] = int(orig)
    if resp is not None:
        event["destination.bytes"] = int(resp)
    if orig is not None and resp is not None:
        event["network.bytes"] = int(orig) + int(resp)
    orig_pkts, resp_pkts = record.get("orig_pkts"), record.get("resp_pkts")
    if orig_pkts is not None and resp_pkts is not None:
        event["network.packets"] = int(orig_pkts) + int(resp_pkts)


def _other(record: dict[str, Any], path: str, event: Event) -> None:
    if "id.orig_h" in record:
        event["event.category"] = ["network"]
        event["event.type"] = ["protocol"]
    event["event.action"] = path
    if "uid" in record:
        event["zeek.session_id"] = str(record["uid"])
    if "proto" in record:
        event["network.transport"] = str(record["proto"]).lower()
    for name, value in record.items():
        if name in _META or name in _ENDPOINTS:
            continue
        key = _PATH_ECS.get((path, name))
        if key is not None and isinstance(value, str):
            event[key] = value
        event[f"zeek.{path}.{name}"] = _plain(value)


def _plain(value: Any) -> Any:
    """A Zeek value as an event value: scalars as they are, lists of scalars, anything else as JSON text."""
    if isinstance(value, str):
        return clean_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list) and all(isinstance(item, str | int) for item in value):
        return value
    return orjson.dumps(value).decode()
