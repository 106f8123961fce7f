"""Windows event XML as ``wevtutil qe /f:xml`` (or ``Get-WinEvent | ForEach ToXml()``) prints it.

A stream of ``<Event xmlns=...>...</Event>`` elements, with or without an ``<Events>`` root, one per line,
several per line or pretty-printed; UTF-8 or UTF-16 with a BOM. Each event is parsed on its own with a safe
lxml parser (no entities, no network), so one malformed event is one error (with its line and offset) and
the rest are read. :func:`event_from_element` is shared with the other readers that carry event XML
(Sysmon for Linux, Sentinel exports).
"""

from __future__ import annotations

import io
import re
from collections.abc import Generator, Iterator
from typing import BinaryIO, Final

from lxml import etree

from shellwatch.events import Event, clean_text
from shellwatch.ingest._windows import ScriptBlockAssembler, base_event, map_event, unnamed_data
from shellwatch.ingest.base import Line, ReadContext, Reader, iter_lines
from shellwatch.ingest.registry import register

_START: Final = re.compile(rb"<Event[\s>]")
_END: Final = b"</Event>"
_OUTSIDE_OK: Final = re.compile(rb"^(?:\s|<\?xml[^>]*\?>|<Events(?:\s[^>]*)?>|</Events>)*$")
_SNIFF: Final = re.compile(
    rb"^(?:\s|<\?xml[^>]*\?>)*(?:<Events(?:\s[^>]*)?>\s*)?"
    rb"<Event(?:\s+xmlns=['\"]http://schemas\.microsoft\.com/win/2004/08/events/event['\"])?\s*>\s*<System>"
)
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")
MAX_EVENT_BYTES: Final = 16 * 1024 * 1024

PARSER: Final = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
)


class EventXmlError(ValueError):
    """An ``<Event>`` element that is well-formed XML but not a Windows event."""


def parse_event_xml(raw: bytes | str) -> etree._Element:
    """One ``<Event>`` element from its XML text (safe parser); raises ``XMLSyntaxError`` when malformed."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    return etree.fromstring(raw, PARSER)


def _local(tag: object) -> str:
    text = tag if isinstance(tag, str) else ""
    return text.rpartition("}")[2]


def _children(element: etree._Element) -> dict[str, etree._Element]:
    return {_local(child.tag): child for child in element if isinstance(child.tag, str)}


def event_from_element(root: etree._Element, os_type: str | None = None) -> Event:
    """An ECS event from a parsed ``<Event>`` element; raises :class:`EventXmlError` if it is not one."""
    if _local(root.tag) != "Event":
        raise EventXmlError(f"root element is <{_local(root.tag)}>, not <Event>")
    parts = _children(root)
    system = parts.get("System")
    if system is None:
        raise EventXmlError("<Event> without <System>")
    event = _base(_children(system))
    if os_type is not None:
        event["host.os.type"] = os_type
    map_event(event, _data(parts.get("EventData")))
    user_data = parts.get("UserData")
    if user_data is not None:
        _user_data(event, user_data)
    message = _message(parts.get("RenderingInfo"))
    if message:
        event["message"] = message
    return event


def _text(element: etree._Element | None) -> str:
    if element is None:
        return ""
    return clean_text("".join(str(part) for part in element.itertext()))


def _attribute(element: etree._Element | None, *names: str) -> str | None:
    if element is None:
        return None
    for name in names:
        value = element.get(name)
        if value is not None:
            return clean_text(value)
    return None


def _base(system: dict[str, etree._Element]) -> Event:
    provider = _attribute(system.get("Provider"), "Name") or ""
    event_id = _text(system.get("EventID")).strip()
    if not event_id.isdigit():
        raise EventXmlError(f"EventID {event_id!r} is not a number")
    record = _text(system.get("EventRecordID")).strip()
    pid = _attribute(system.get("Execution"), "ProcessID") or ""
    return base_event(
        provider,
        _text(system.get("Channel")).strip(),
        int(event_id),
        _text(system.get("Computer")).strip(),
        _attribute(system.get("TimeCreated"), "SystemTime"),
        int(record) if record.isdigit() else None,
        int(pid) if pid.isdigit() else None,
        _attribute(system.get("Security"), "UserID", "UserId"),
    )


def _data(event_data: etree._Element | None) -> dict[str, object]:
    if event_data is None:
        return {}
    named: dict[str, object] = {}
    unnamed: list[object] = []
    for item in event_data:
        if not isinstance(item.tag, str):
            continue
        name = item.get("Name")
        text = _text(item)
        if name is not None:
            named[clean_text(name)] = text
        elif _local(item.tag) == "Data":
            unnamed.append(text)
        else:
            named[_local(item.tag)] = text
    return {**unnamed_data(unnamed), **named} if unnamed else named


def _user_data(event: Event, user_data: etree._Element) -> None:
    for inner in user_data:
        if not isinstance(inner.tag, str):
            continue
        for item in inner:
            if isinstance(item.tag, str) and len(item) == 0:
                text = _text(item)
                if text:
                    event[f"winlog.user_data.{_local(item.tag)}"] = text


def _message(rendering: etree._Element | None) -> str:
    if rendering is None:
        return ""
    for child in rendering:
        if _local(child.tag) == "Message":
            return _text(child).strip()
    return ""


def _decoded(stream: BinaryIO) -> BinaryIO:
    """UTF-16 text (PowerShell redirection writes it) re-encoded as UTF-8; other streams as they are."""
    peek = getattr(stream, "peek", None)
    if peek is not None and bytes(peek(2)[:2]) not in _UTF16_BOMS:
        return stream
    data = stream.read()
    if data[:2] in _UTF16_BOMS:
        data = data.decode("utf-16", "replace").encode("utf-8")
    return io.BytesIO(data)


def sniff_event_xml(head: bytes) -> bool:
    if head[:2] in _UTF16_BOMS:
        head = head[: len(head) // 2 * 2].decode("utf-16", "replace").encode("utf-8", "replace")
    return _SNIFF.match(head.removeprefix(b"\xef\xbb\xbf")) is not None


@register
class WinXmlReader(Reader):
    name = "winxml"
    description = "Windows event XML (wevtutil qe /f:xml, Get-WinEvent ToXml), one event or many per line"
    priority = 20

    @classmethod
    def sniff(cls, head: bytes, path: str) -> bool:
        return sniff_event_xml(head)

    def read(self, stream: BinaryIO, ctx: ReadContext) -> Iterator[Event]:
        assembler = ScriptBlockAssembler()
        for line, offset, raw in _segments(_decoded(stream), ctx):
            ctx.record()
            event = _parse(raw, line, offset, ctx)
            if event is not None:
                yield from assembler.add(event)
        yield from assembler.flush()


def _parse(raw: bytes, line: int, offset: int, ctx: ReadContext) -> Event | None:
    try:
        event = event_from_element(parse_event_xml(raw))
    except (etree.XMLSyntaxError, EventXmlError, ValueError) as exc:
        ctx.error(f"malformed event XML: {exc}", line=line, offset=offset, raw=raw)
        return None
    event["log.offset"] = offset
    event["shellwatch.log.line"] = line
    return event


class _Collector:
    """Cuts a byte stream into ``<Event>...</Event>`` segments, reporting text that is neither."""

    def __init__(self, ctx: ReadContext) -> None:
        self.ctx = ctx
        self.buffer = bytearray()
        self.collecting = False
        self.line = 0
        self.offset = 0

    def feed(self, line: Line) -> Generator[tuple[int, int, bytes], None, None]:
        text = line.data + b"\n"
        column = 0
        while column < len(text):
            if not self.collecting:
                column = self._find_start(text, column, line)
                if column < 0:
                    return
            column = yield from self._collect(text, column, line)

    def _find_start(self, text: bytes, column: int, line: Line) -> int:
        match = _START.search(text, column)
        end = match.start() if match else len(text)
        self._outside(text[column:end], line, column)
        if match is None:
            return -1
        self.collecting, self.line, self.offset = True, line.number, line.offset + match.start()
        self.buffer.clear()
        return match.start()

    def _collect(self, text: bytes, column: int, line: Line) -> Generator[tuple[int, int, bytes], None, int]:
        fresh = not self.buffer
        end = text.find(_END, column)
        restart = _START.search(text, column + 1 if fresh else column, end if end >= 0 else len(text))
        if restart is not None:
            self._broken("event without </Event>", text[column : restart.start()])
            return restart.start()
        if end < 0:
            self.buffer += text[column:]
            if len(self.buffer) > MAX_EVENT_BYTES:
                self._broken("event larger than 16 MiB", b"")
            return len(text)
        self.buffer += text[column : end + len(_END)]
        self.collecting = False
        yield self.line, self.offset, bytes(self.buffer)
        return end + len(_END)

    def _broken(self, reason: str, tail: bytes) -> None:
        self.ctx.record()
        self.ctx.error(reason, line=self.line, offset=self.offset, raw=bytes(self.buffer) + tail)
        self.collecting = False
        self.buffer.clear()

    def _outside(self, text: bytes, line: Line, column: int) -> None:
        if text and _OUTSIDE_OK.match(text) is None:
            self.ctx.error(
                "text outside <Event> elements", line=line.number, offset=line.offset + column, raw=text
            )

    def close(self) -> None:
        if self.collecting:
            self._broken("file ends inside an event", b"")


def _segments(stream: BinaryIO, ctx: ReadContext) -> Iterator[tuple[int, int, bytes]]:
    collector = _Collector(ctx)
    for line in iter_lines(stream):
        yield from collector.feed(line)
    collector.close()
