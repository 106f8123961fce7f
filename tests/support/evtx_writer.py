"""A small EVTX writer, for fixtures: Windows event XML in, a valid binary ``.evtx`` file out.

It writes one file header and one 64 KiB chunk whose records hold plain BinXML (element, attribute and
value tokens; names inline, no templates), with the CRC32 checksums that readers check (file header,
chunk header, records). A few well-known System values are written with their real types (EventID as
UInt16, TimeCreated as FILETIME, EventRecordID as UInt64, ...) so that parsers see what Windows writes;
everything else is a string.

Regenerate a fixture::

    .venv/bin/python -m tests.support.evtx_writer tests/fixtures/ingest/winxml/case.xml \
        tests/fixtures/ingest/evtx/case.evtx
"""

from __future__ import annotations

import struct
import sys
import uuid
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

FILE_HEADER_SIZE = 4096
CHUNK_SIZE = 65536
CHUNK_HEADER_SIZE = 512
EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)

# BinXML tokens
_EOF, _OPEN, _CLOSE_START, _CLOSE_EMPTY, _END, _VALUE, _ATTRIBUTE, _FRAGMENT = (
    0x00,
    0x01,
    0x02,
    0x03,
    0x04,
    0x05,
    0x06,
    0x0F,
)
_MORE = 0x40


def _filetime(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    delta = moment - _FILETIME_EPOCH
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def _guid(text: str) -> bytes:
    return uuid.UUID(text.strip("{}")).bytes_le


# Typed values: (element path, attribute or None) -> (BinXML value type, encoder)
_TYPED: dict[tuple[str, str | None], tuple[int, Callable[[str], bytes]]] = {
    ("EventID", None): (0x06, lambda text: struct.pack("<H", int(text))),
    ("Version", None): (0x04, lambda text: struct.pack("<B", int(text))),
    ("Level", None): (0x04, lambda text: struct.pack("<B", int(text))),
    ("Task", None): (0x06, lambda text: struct.pack("<H", int(text))),
    ("Opcode", None): (0x04, lambda text: struct.pack("<B", int(text))),
    ("Keywords", None): (0x15, lambda text: struct.pack("<Q", int(text, 16))),
    ("EventRecordID", None): (0x0A, lambda text: struct.pack("<Q", int(text))),
    ("TimeCreated", "SystemTime"): (0x11, lambda text: struct.pack("<Q", _filetime(text))),
    ("Execution", "ProcessID"): (0x08, lambda text: struct.pack("<I", int(text))),
    ("Execution", "ThreadID"): (0x08, lambda text: struct.pack("<I", int(text))),
    ("Provider", "Guid"): (0x0F, _guid),
}


def _name_hash(name: str) -> int:
    value = 0
    for char in name:
        value = (value * 65599 + ord(char)) & 0xFFFFFFFF
    return value & 0xFFFF


class _BinXml:
    """Writes BinXML for one record; ``base`` is the chunk offset where the output starts."""

    def __init__(self, base: int) -> None:
        self.base = base
        self.out = bytearray()

    def name(self, name: str) -> None:
        """A name offset pointing just past itself, followed by the inline name structure."""
        offset = self.base + len(self.out) + 4
        self.out += struct.pack("<I", offset)
        encoded = name.encode("utf-16-le")
        self.out += struct.pack("<IHH", 0, _name_hash(name), len(name)) + encoded + b"\x00\x00"

    def value(self, text: str, typed: tuple[int, Callable[[str], bytes]] | None) -> None:
        if typed is not None:
            kind, encode = typed
            self.out += bytes([_VALUE, kind]) + encode(text)
            return
        encoded = text.encode("utf-16-le")
        self.out += bytes([_VALUE, 0x01]) + struct.pack("<H", len(encoded) // 2) + encoded

    def element(self, node: etree._Element, attributes: list[tuple[str, str]]) -> None:
        tag = etree.QName(node).localname
        text = node.text.strip() if node.text and node.text.strip() else None
        children = [child for child in node if isinstance(child.tag, str)]
        self.out.append(_OPEN | (_MORE if attributes else 0))
        size_at = len(self.out)
        self.out += b"\x00\x00\x00\x00"
        self.name(tag)
        if attributes:
            self._attributes(tag, attributes)
        if text is None and not children:
            self.out.append(_CLOSE_EMPTY)
        else:
            self.out.append(_CLOSE_START)
            if text is not None:
                self.value(node.text or "", _TYPED.get((tag, None)))
            for child in children:
                self.element(child, _attrs(child))
            self.out.append(_END)
        struct.pack_into("<I", self.out, size_at, len(self.out) - size_at - 4)

    def _attributes(self, tag: str, attributes: list[tuple[str, str]]) -> None:
        size_at = len(self.out)
        self.out += b"\x00\x00\x00\x00"
        for index, (name, value) in enumerate(attributes):
            more = _MORE if index < len(attributes) - 1 else 0
            self.out.append(_ATTRIBUTE | more)
            self.name(name)
            self.value(value, _TYPED.get((tag, name)))
        struct.pack_into("<I", self.out, size_at, len(self.out) - size_at - 4)


def _attrs(node: etree._Element) -> list[tuple[str, str]]:
    return [(etree.QName(name).localname, str(value)) for name, value in node.attrib.items()]


def _record(event: etree._Element, record_id: int, offset: int) -> bytes:
    binxml = _BinXml(offset + 24 + 4)
    attributes = [("xmlns", EVENT_NS), *_attrs(event)]
    binxml.element(event, attributes)
    binxml.out.append(_EOF)
    body = bytes([_FRAGMENT, 1, 1, 0]) + bytes(binxml.out)
    size = 24 + len(body) + 4
    written = _filetime(_system_time(event))
    return struct.pack("<IIQQ", 0x00002A2A, size, record_id, written) + body + struct.pack("<I", size)


def _system_time(event: etree._Element) -> str:
    found = event.find(f"{{{EVENT_NS}}}System/{{{EVENT_NS}}}TimeCreated")
    if found is None:
        found = event.find("System/TimeCreated")
    return found.get("SystemTime", "2000-01-01T00:00:00Z") if found is not None else "2000-01-01T00:00:00Z"


def _record_id(event: etree._Element, default: int) -> int:
    for path in (f"{{{EVENT_NS}}}System/{{{EVENT_NS}}}EventRecordID", "System/EventRecordID"):
        found = event.find(path)
        if found is not None and found.text:
            return int(found.text)
    return default


def build_evtx(events: Iterable[etree._Element]) -> bytes:
    """An EVTX file (header + one chunk) holding ``events`` in order."""
    records = bytearray()
    ids: list[int] = []
    last_offset = CHUNK_HEADER_SIZE
    for index, event in enumerate(events, start=1):
        record_id = _record_id(event, index)
        last_offset = CHUNK_HEADER_SIZE + len(records)
        records += _record(event, record_id, last_offset)
        ids.append(record_id)
    if not ids or CHUNK_HEADER_SIZE + len(records) > CHUNK_SIZE:
        raise ValueError("need between one event and one chunk's worth of events")
    chunk = _chunk(bytes(records), ids, last_offset)
    return _file_header(ids[-1] + 1) + chunk


def _chunk(records: bytes, ids: list[int], last_offset: int) -> bytes:
    free = CHUNK_HEADER_SIZE + len(records)
    header = bytearray(CHUNK_HEADER_SIZE)
    header[0:8] = b"ElfChnk\x00"
    struct.pack_into("<QQQQ", header, 8, ids[0], ids[-1], ids[0], ids[-1])
    struct.pack_into("<III", header, 40, 128, last_offset, free)
    struct.pack_into("<I", header, 52, zlib.crc32(records))
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120]) + bytes(header[128:])))
    return bytes(header) + records + bytes(CHUNK_SIZE - free)


def _file_header(next_record: int) -> bytes:
    header = bytearray(FILE_HEADER_SIZE)
    header[0:8] = b"ElfFile\x00"
    struct.pack_into("<QQQIHHHH", header, 8, 0, 0, next_record, 128, 1, 3, FILE_HEADER_SIZE, 1)
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
    return bytes(header)


def events_from_xml(text: bytes) -> list[etree._Element]:
    """The ``<Event>`` elements of a wevtutil-style XML text (with or without an ``<Events>`` root)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
    root = etree.fromstring(b"<Events>" + _strip_root(text) + b"</Events>", parser)
    return [node for node in root.iter(f"{{{EVENT_NS}}}Event", "Event")]


def _strip_root(text: bytes) -> bytes:
    text = text.strip()
    if text.startswith(b"<?xml"):
        text = text[text.index(b"?>") + 2 :].strip()
    if text.startswith(b"<Events>"):
        text = text[len(b"<Events>") : text.rindex(b"</Events>")]
    return text


def main(argv: list[str]) -> None:
    source, target = Path(argv[0]), Path(argv[1])
    target.write_bytes(build_evtx(events_from_xml(source.read_bytes())))


if __name__ == "__main__":
    main(sys.argv[1:])
