"""NetFlow / IPFIX flows as nfdump writes them with ``nfdump -r FILE -o csv``.

Columns are looked up by the header line, so their order does not matter. Two header dialects exist:

* nfdump 1.6 and 1.7 up to 1.7.4: ``ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,...``
  (48 columns, ``pr`` as a name such as ``TCP``), followed by a ``Summary`` block;
* nfdump 1.7.5 and later: names such as ``firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,
  bytes,flows`` (any subset, chosen with ``-o csv:%ts,%td,...``), ``proto`` as a number.

The ``Summary`` block at the end (a ``Summary`` line, a header line and a totals line) describes the whole
file, not a flow: it is skipped, and is counted neither as a record nor as an error. NetFlow writes 0 for
unset fields (AS, VLAN, mask, interface, TOS): zeros are left out of ``netflow.*``. ``ctx.records`` counts
flows. A CSV file without a header (1.6 ``-q``) is read with the 48 legacy columns when rows have 48 fields.

nfdump prints times in the local time zone of the machine that ran it, without an offset: run it with
``TZ=UTC`` (shellwatch reads the times as UTC). ``@timestamp`` and ``event.start`` are the first-seen time,
``event.end`` the last-seen time. ``ipkt``/``ibyt`` are the flow's packets and bytes (``source.*``);
``opkt``/``obyt`` are only filled by bidirectional exporters (IPFIX biflows, nfpcapd) and become
``destination.*`` when they are non-zero.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import BinaryIO, Final

from shellwatch.events import Event, format_timestamp, timestamp_from_epoch
from shellwatch.ingest.base import Line, ReadContext, Reader, first_lines, iter_lines
from shellwatch.ingest.registry import register

# Every header name nfdump writes → one canonical name.
_ALIASES: Final = {
    "ts": "first", "firstSeen": "first", "te": "last", "lastSeen": "last", "tr": "received",
    "received": "received", "td": "duration", "duration": "duration", "sa": "src_ip", "srcAddr": "src_ip",
    "da": "dst_ip", "dstAddr": "dst_ip", "sp": "src_port", "srcPort": "src_port", "dp": "dst_port",
    "dstPort": "dst_port", "pr": "proto", "proto": "proto", "flg": "flags", "flags": "flags",
    "fwd": "fwd_status", "fwdStatus": "fwd_status", "stos": "src_tos", "srcTos": "src_tos", "tos": "src_tos",
    "dtos": "dst_tos", "dstTos": "dst_tos", "ipkt": "in_packets", "inPackets": "in_packets",
    "packets": "in_packets", "ibyt": "in_bytes", "inBytes": "in_bytes", "bytes": "in_bytes",
    "opkt": "out_packets", "outPackets": "out_packets", "obyt": "out_bytes", "outBytes": "out_bytes",
    "in": "input", "input": "input", "out": "output", "output": "output", "sas": "src_as", "srcAS": "src_as",
    "das": "dst_as", "dstAS": "dst_as", "smk": "src_mask", "srcMask": "src_mask", "dmk": "dst_mask",
    "dstMask": "dst_mask", "dir": "direction", "direction": "direction", "nh": "next_hop",
    "nextIP": "next_hop", "nhb": "bgp_next_hop", "bgpNextIP": "bgp_next_hop", "svln": "src_vlan",
    "srcVlan": "src_vlan", "dvln": "dst_vlan", "dstVlan": "dst_vlan", "ismc": "in_src_mac",
    "inSrcMac": "in_src_mac", "odmc": "out_dst_mac", "outDstMac": "out_dst_mac", "idmc": "in_dst_mac",
    "inDstMac": "in_dst_mac", "osmc": "out_src_mac", "outSrcMac": "out_src_mac", "cl": "client_latency",
    "clientLatency": "client_latency", "sl": "server_latency", "serverLatency": "server_latency",
    "al": "app_latency", "appLatency": "app_latency", "ra": "exporter", "routerIP": "exporter",
    "eng": "engine", "engine": "engine", "exid": "exporter_id", "exporterID": "exporter_id",
    "fl": "flows", "flows": "flows", "icmpType": "icmp_type", "icmpTYpe": "icmp_type",
    "icmpCode": "icmp_code", "biDirection": "bidirection", "endReason": "end_reason",
}  # fmt: skip
_LEGACY_HEADER: Final = (
    *("ts", "te", "td", "sa", "da", "sp", "dp", "pr", "flg", "fwd", "stos", "ipkt", "ibyt", "opkt", "obyt"),
    *("in", "out", "sas", "das", "smk", "dmk", "dtos", "dir", "nh", "nhb", "svln", "dvln"),
    *("ismc", "odmc", "idmc", "osmc", *(f"mpls{index}" for index in range(1, 11))),
    *("cl", "sl", "al", "ra", "eng", "exid", "tr"),
)
# Header names only a flow header has (one of them must be there for the line to be a header).
_HEADER_KEYS: Final = frozenset({"ts", "sa", "da", "firstSeen", "srcAddr", "dstAddr"})

_IANA: Final = {
    1: "icmp", 2: "igmp", 4: "ipv4", 6: "tcp", 17: "udp", 41: "ipv6", 47: "gre", 50: "esp", 51: "ah",
    58: "ipv6-icmp", 89: "ospf", 103: "pim", 112: "vrrp", 132: "sctp",
}  # fmt: skip
_IANA_BY_NAME: Final = {name: number for number, name in _IANA.items()} | {"icmp6": 58, "ipv6icmp": 58}
_ZERO_VALUES: Final = frozenset({"", "0.0.0.0", "::", "00:00:00:00:00:00", "0-0-0", "0..0..0", "0.000"})
_LOCAL_TIME = re.compile(r"^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?$")

# Canonical columns kept under netflow.*: canonical name → (event key, converter).
_NETFLOW_COLUMNS: Final[dict[str, tuple[str, Callable[[str], int | str]]]] = {
    "flags": ("netflow.tcp_flags", str),
    "fwd_status": ("netflow.forwarding_status", int),
    "src_tos": ("netflow.src_tos", int),
    "dst_tos": ("netflow.dst_tos", int),
    "input": ("netflow.ingress_interface", int),
    "output": ("netflow.egress_interface", int),
    "src_as": ("netflow.src_as", int),
    "dst_as": ("netflow.dst_as", int),
    "src_mask": ("netflow.src_mask", int),
    "dst_mask": ("netflow.dst_mask", int),
    "next_hop": ("netflow.next_hop", str),
    "bgp_next_hop": ("netflow.bgp_next_hop", str),
    "src_vlan": ("netflow.src_vlan", int),
    "dst_vlan": ("netflow.dst_vlan", int),
    "out_dst_mac": ("netflow.out_dst_mac", str),
    "out_src_mac": ("netflow.out_src_mac", str),
    "client_latency": ("netflow.client_latency", str),
    "server_latency": ("netflow.server_latency", str),
    "app_latency": ("netflow.app_latency", str),
    "exporter": ("netflow.exporter.address", str),
    "engine": ("netflow.exporter.engine", str),
    "exporter_id": ("netflow.exporter.id", str),
    "flows": ("netflow.flows", int),
    "icmp_type": ("netflow.icmp.type", int),
    "icmp_code": ("netflow.icmp.code", int),
    "bidirection": ("netflow.bidirection", str),
    "end_reason": ("netflow.end_reason", str),
}
_ICMP: Final = frozenset({"icmp", "ipv6-icmp"})
_DIRECTIONS: Final = {"0": "ingress", "I": "ingress", "1": "egress", "E": "egress"}


def _header(line: bytes) -> list[str] | None:
    """Canonical column names if ``line`` is an nfdump CSV header, else None."""
    names = [name.strip() for name in line.decode("utf-8", "replace").split(",")]
    if not _HEADER_KEYS.intersection(names):
        return None
    return [_ALIASES.get(name, name) for name in names]


def _time(text: str) -> str | None:
    """``@timestamp`` text of an nfdump time (``2024-01-02 03:04:05.678`` or epoch seconds); None if unset."""
    match = _LOCAL_TIME.match(text)
    if match:
        if match.group(1) == "0000":
            return None
        year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
        micro = int((match.group(7) or "0").ljust(6, "0"))
        return format_timestamp(datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC))
    seconds = float(text)
    return timestamp_from_epoch(seconds) if seconds > 0 else None


def _transport(text: str) -> tuple[str, str]:
    """``network.transport`` and ``network.iana_number`` from ``6`` or ``TCP``."""
    if text.isdigit():
        number = int(text)
        return _IANA.get(number, text), str(number)
    name = text.lower()
    number_or_none = _IANA_BY_NAME.get(name)
    return (_IANA[number_or_none], str(number_or_none)) if number_or_none else (name, "")


@register
class NetflowReader(Reader):
    name = "netflow"
    description = "NetFlow/IPFIX flows from nfdump -o csv (1.6 and 1.7 headers, any column order)"
    priority = 40

    @classmethod
    def sniff(cls, head: bytes, path: str) -> bool:
        lines = first_lines(head, 1)
        if not lines or b"," not in lines[0]:
            return False
        names = _header(lines[0])
        return names is not None and {"src_ip", "dst_ip"} <= set(names) and "first" in names

    def read(self, stream: BinaryIO, ctx: ReadContext) -> Iterator[Event]:
        columns: list[str] | None = None
        summary_lines = 0
        for line in iter_lines(stream):
            data = line.data.strip()
            if not data:
                continue
            if summary_lines:
                summary_lines -= 1
                continue
            if data == b"Summary":
                summary_lines = 2
                continue
            header = _header(data) if data[:1].isalpha() else None
            if header is not None:
                columns = header
                continue
            ctx.record()
            event = self._row(data, columns, line, ctx)
            if event is not None:
                yield event

    def _row(self, data: bytes, columns: list[str] | None, line: Line, ctx: ReadContext) -> Event | None:
        values = data.decode("utf-8", "backslashreplace").split(",")
        if columns is None and len(values) == len(_LEGACY_HEADER):
            columns = [_ALIASES.get(name, name) for name in _LEGACY_HEADER]
        if columns is None:
            ctx.error("flow row before any nfdump CSV header", line=line.number, offset=line.offset, raw=data)
            return None
        if len(values) != len(columns):
            reason = f"{len(values)} columns where the header names {len(columns)}"
            ctx.error(reason, line=line.number, offset=line.offset, raw=data)
            return None
        try:
            return self._event(dict(zip(columns, (v.strip() for v in values), strict=True)), line)
        except ValueError as exc:
            ctx.error(f"bad flow value: {exc}", line=line.number, offset=line.offset, raw=data)
            return None

    def _event(self, row: dict[str, str], line: Line) -> Event:
        event: Event = {
            "event.kind": "event",
            "event.category": ["network"],
            "event.type": ["connection"],
            "event.action": "netflow_flow",
            "event.module": "netflow",
            "event.dataset": "netflow.log",
            "agent.type": "nfdump",
            "log.offset": line.offset,
            "shellwatch.log.line": line.number,
        }
        if self.options.host:
            event["observer.name"] = self.options.host
        _times(row, event)
        _endpoints(row, event)
        _counters(row, event)
        for name, (key, convert) in _NETFLOW_COLUMNS.items():
            value = row.get(name)
            if value is not None and value not in _ZERO_VALUES and value != "0":
                event[key] = convert(value)
        direction = _DIRECTIONS.get(row.get("direction", ""))
        if direction:
            event["network.direction"] = direction
        return event


def _times(row: dict[str, str], event: Event) -> None:
    for name, key in (("first", "@timestamp"), ("last", "event.end"), ("received", "event.created")):
        value = row.get(name)
        stamp = _time(value) if value else None
        if stamp:
            event[key] = stamp
    if "@timestamp" in event:
        event["event.start"] = event["@timestamp"]
    if row.get("duration"):
        event["event.duration"] = round(float(row["duration"]) * 1_000_000_000)


def _endpoints(row: dict[str, str], event: Event) -> None:
    related: list[str] = []
    for name, prefix in (("src_ip", "source"), ("dst_ip", "destination")):
        address = row.get(name)
        if address:
            event[f"{prefix}.ip"] = address
            if address not in related:
                related.append(address)
    if related:
        event["related.ip"] = related
        event["network.type"] = "ipv6" if ":" in related[0] else "ipv4"
    proto = row.get("proto")
    transport = _transport(proto) if proto else ("", "")
    if transport[0]:
        event["network.transport"] = transport[0]
    if transport[1]:
        event["network.iana_number"] = transport[1]
    if row.get("src_port") and transport[0] not in _ICMP:
        event["source.port"] = int(row["src_port"])
    _destination_port(row.get("dst_port", ""), transport[0], event)
    for name, key in (("in_src_mac", "source.mac"), ("in_dst_mac", "destination.mac")):
        mac = row.get(name, "")
        if mac not in _ZERO_VALUES:
            event[key] = mac.replace(":", "-").upper()


def _destination_port(text: str, transport: str, event: Event) -> None:
    """nfdump writes ``type.code`` in the port column of ICMP flows."""
    if not text:
        return
    if "." in text and transport in _ICMP:
        icmp_type, _, icmp_code = text.partition(".")
        event["netflow.icmp.type"] = int(icmp_type)
        event["netflow.icmp.code"] = int(icmp_code)
        return
    event["destination.port"] = int(text)


def _counters(row: dict[str, str], event: Event) -> None:
    packets_in, bytes_in = _count(row, "in_packets"), _count(row, "in_bytes")
    packets_out, bytes_out = _count(row, "out_packets"), _count(row, "out_bytes")
    if packets_in is not None:
        event["source.packets"] = packets_in
    if bytes_in is not None:
        event["source.bytes"] = bytes_in
    if packets_out:
        event["destination.packets"] = packets_out
    if bytes_out:
        event["destination.bytes"] = bytes_out
    if bytes_in is not None:
        event["network.bytes"] = bytes_in + (bytes_out or 0)
    if packets_in is not None:
        event["network.packets"] = packets_in + (packets_out or 0)


_SCALE: Final = {"K": 1_000, "M": 1_000_000, "G": 1_000_000_000, "T": 1_000_000_000_000}


def _count(row: dict[str, str], name: str) -> int | None:
    """A packet or byte counter; nfdump may scale big ones (``1.2 M``) unless run with ``-N``."""
    text = row.get(name)
    if not text:
        return None
    if text[-1] in _SCALE:
        return round(float(text[:-1].strip()) * _SCALE[text[-1]])
    return int(text)
