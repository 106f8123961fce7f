"""Sysmon for Linux: its ``<Event>`` XML inside syslog lines, or inside a Sentinel Syslog-table JSON export.

Syslog form: ``May 11 18:10:20 ubuntu5 sysmon: <Event><System>...</System>...</Event>``. Sentinel form:
one JSON object per line whose ``SyslogMessage`` holds the same XML (``ProcessName`` sysmon). Either way
the XML goes through the Windows mapping with ``host.os.type`` linux. Lines that carry no Sysmon event
(other programs in the same syslog file) are counted and skipped; a Sysmon line whose XML is broken is
an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO, Final

import orjson
from lxml import etree

from shellwatch.events import Event
from shellwatch.ingest.base import Line, ReadContext, Reader, first_lines, iter_lines
from shellwatch.ingest.registry import register
from shellwatch.ingest.winxml import EventXmlError, event_from_element, parse_event_xml

_SYSLOG_EVENT: Final = re.compile(rb"\bsysmon(?:\[\d+\])?:\s*(<Event>.*</Event>)\s*$")
_SENTINEL_HINT: Final = re.compile(rb'^\{.*"SyslogMessage"\s*:\s*"(?:<|\\u003c)Event(?:>|\\u003e)')
_LINUX_SYSMON: Final = b"Linux-Sysmon"
# Sysmon for Linux writes "&lt unknown process&gt " (entities without ';') for processes it cannot name.
_BARE_ENTITY: Final = re.compile(rb"&(lt|gt|amp|quot|apos)(?![a-z]*;)")
_RECOVER: Final = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, load_dtd=False)


@register
class SysmonLinuxReader(Reader):
    name = "sysmon_linux"
    description = "Sysmon for Linux event XML in syslog lines or in Sentinel Syslog JSON exports"
    priority = 25

    @classmethod
    def sniff(cls, head: bytes, path: str) -> bool:
        lines = first_lines(head, 5)
        if not lines:
            return False
        first = lines[0]
        if first.startswith(b"{"):
            return _SENTINEL_HINT.match(first) is not None and _LINUX_SYSMON in first
        return any(_SYSLOG_EVENT.search(line) and _LINUX_SYSMON in line for line in lines)

    def read(self, stream: BinaryIO, ctx: ReadContext) -> Iterator[Event]:
        for line in iter_lines(stream):
            if not line.data.strip():
                continue
            ctx.record()
            xml = _xml(line, ctx)
            if xml is None:
                continue
            event = _event(xml, line, ctx)
            if event is not None:
                yield event


def _xml(line: Line, ctx: ReadContext) -> bytes | None:
    if line.data.lstrip().startswith(b"{"):
        return _sentinel_xml(line, ctx)
    match = _SYSLOG_EVENT.search(line.data)
    return match.group(1) if match else None


def _sentinel_xml(line: Line, ctx: ReadContext) -> bytes | None:
    try:
        row = orjson.loads(line.data)
    except orjson.JSONDecodeError as exc:
        ctx.error(f"invalid JSON: {exc}", line=line.number, offset=line.offset, raw=line.data)
        return None
    message = row.get("SyslogMessage") if isinstance(row, dict) else None
    if not isinstance(message, str) or not message.lstrip().startswith("<Event>"):
        return None
    return message.encode("utf-8", "surrogateescape")


def _element(xml: bytes) -> tuple[etree._Element, bool]:
    """The ``<Event>`` element, and whether it had to be recovered from a message cut short.

    Syslog (and the Sentinel Syslog table) cut long messages at about 2 KiB, which leaves the XML without
    its closing tags; the part that is there is kept and the event is marked ``shellwatch.truncated``.
    """
    xml = _BARE_ENTITY.sub(rb"&\1;", xml)
    try:
        return parse_event_xml(xml), False
    except etree.XMLSyntaxError:
        root = etree.fromstring(xml, _RECOVER)
        if root is None:
            raise
        return root, True


def _event(xml: bytes, line: Line, ctx: ReadContext) -> Event | None:
    try:
        root, truncated = _element(xml)
        event = event_from_element(root, os_type="linux")
    except (etree.XMLSyntaxError, EventXmlError, ValueError) as exc:
        ctx.error(f"malformed Sysmon event XML: {exc}", line=line.number, offset=line.offset, raw=line.data)
        return None
    if truncated:
        event["shellwatch.truncated"] = True
    event["log.offset"] = line.offset
    event["shellwatch.log.line"] = line.number
    event["agent.type"] = "sysmon"
    return event
