"""Windows EVTX files, read with the ``evtx`` package (evtx-rs) and mapped through :mod:`._windows`.

``log.offset`` of an EVTX event is its record id (the System ``EventRecordID``, also in ``winlog.record_id``),
not a byte offset.

A file cut short (copied while it was written, a partial download) ends inside a chunk; evtx-rs silently
skips such a chunk, so the reader pads the file to a whole chunk with zeros and turns checksum
validation off: every record before the damage is read, and the damage is reported once as an error
with the offset where the file ends. A record evtx-rs cannot parse is an error too; reading goes on.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, BinaryIO, Final

import evtx
import orjson

from shellwatch.events import Event
from shellwatch.ingest._windows import (
    EVENT_DATA,
    ScriptBlockAssembler,
    base_event,
    is_script_block_part,
    map_event,
    unnamed_data,
)
from shellwatch.ingest.base import ReadContext, Reader
from shellwatch.ingest.registry import register

MAGIC: Final = b"ElfFile\x00"
HEADER_SIZE: Final = 4096
CHUNK_SIZE: Final = 65536
MAX_CONSECUTIVE_ERRORS: Final = 1000


@register
class EvtxReader(Reader):
    name = "evtx"
    description = "Windows EVTX event logs (Sysmon, Security, PowerShell, ...; 4104 parts joined)"
    priority = 10

    @classmethod
    def sniff(cls, head: bytes, path: str) -> bool:
        return head.startswith(MAGIC)

    def read(self, stream: BinaryIO, ctx: ReadContext) -> Iterator[Event]:
        source = _prepare(stream, ctx)
        try:
            parser = evtx.PyEvtxParser(source, validate_checksums=False)
        except (OSError, RuntimeError, ValueError) as exc:
            ctx.error(f"not a readable EVTX file: {exc}", offset=0)
            return
        assembler = ScriptBlockAssembler()
        for event in _events(parser.records_json(), ctx):
            if is_script_block_part(event):
                yield from assembler.add(event)
            else:
                yield event
        yield from assembler.flush()


def _prepare(stream: BinaryIO, ctx: ReadContext) -> Any:
    """The stream to hand to evtx-rs: as is when whole chunks, padded to a whole chunk when cut short."""
    size = _size(stream)
    if size is not None and _whole(size):
        return stream
    data = stream.read()
    if _whole(len(data)):
        return io.BytesIO(data)
    ctx.error(
        f"truncated EVTX file: it ends at offset {len(data)}, inside chunk "
        f"{max(len(data) - HEADER_SIZE, 0) // CHUNK_SIZE}; records before the damage were read",
        offset=len(data),
    )
    missing = -(len(data) - HEADER_SIZE) % CHUNK_SIZE if len(data) > HEADER_SIZE else 0
    return io.BytesIO(data + bytes(missing))


def _whole(size: int) -> bool:
    return size >= HEADER_SIZE and (size - HEADER_SIZE) % CHUNK_SIZE == 0


def _size(stream: BinaryIO) -> int | None:
    try:
        if not stream.seekable():
            return None
        start = stream.tell()
        size = stream.seek(0, io.SEEK_END) - start
        stream.seek(start)
    except (OSError, ValueError):
        return None
    return size


def _events(records: Any, ctx: ReadContext) -> Iterator[Event]:
    failures = 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except (RuntimeError, OSError, ValueError) as exc:
            ctx.record()
            ctx.error(f"unparseable EVTX record: {exc}")
            failures += 1
            if failures >= MAX_CONSECUTIVE_ERRORS:
                ctx.error("too many unparseable EVTX records in a row; reading stopped")
                return
            continue
        failures = 0
        ctx.records += 1
        record_id = record.get("event_record_id")
        try:
            event = map_record(orjson.loads(record["data"])["Event"], record_id)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            ctx.error(f"unexpected EVTX record layout: {type(exc).__name__}: {exc}", offset=record_id)
            continue
        yield event


def map_record(doc: dict[str, Any], record_id: int | None) -> Event:
    """One evtx-rs JSON ``Event`` object as an ECS event."""
    system = doc["System"]
    provider = system["Provider"]["#attributes"]["Name"]
    execution = system.get("Execution")
    security = system.get("Security")
    record_id = _record_id(system.get("EventRecordID"), record_id)
    event = base_event(
        provider,
        system.get("Channel") or "",
        _event_id(system["EventID"]),
        system.get("Computer") or "",
        system["TimeCreated"]["#attributes"]["SystemTime"],
        record_id,
        execution["#attributes"].get("ProcessID") if execution else None,
        security["#attributes"].get("UserID") if security and "#attributes" in security else None,
    )
    if record_id is not None:
        event["log.offset"] = record_id
    data = doc.get("EventData")
    if data:
        map_event(event, _event_data(data))
    else:
        map_event(event, {})
        user_data = doc.get("UserData")
        if user_data:
            _user_data(event, user_data)
    return event


def _record_id(raw: Any, fallback: int | None) -> int | None:
    """The System ``EventRecordID`` (what Windows shows); the record header's number when it is absent."""
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    return fallback


def _event_id(raw: Any) -> int:
    if isinstance(raw, dict):
        raw = raw["#text"]
    return int(raw)


def _event_data(data: dict[str, Any]) -> dict[str, Any]:
    unnamed = data.get("Data")
    if unnamed is None:
        if "#attributes" in data:
            return {key: _scalar(value) for key, value in data.items() if key[0] != "#"}
        return data
    if isinstance(unnamed, dict):
        unnamed = unnamed.get("#text")
    named = {key: _scalar(value) for key, value in data.items() if key != "Data" and key[0] != "#"}
    values = unnamed if isinstance(unnamed, list) else [unnamed]
    return {**unnamed_data(values), **named}


def _scalar(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("#text")
    return value


def _user_data(event: Event, user_data: dict[str, Any]) -> None:
    for inner in user_data.values():
        if not isinstance(inner, dict):
            continue
        for key, value in inner.items():
            if key[0] != "#" and value is not None and not isinstance(value, dict | list):
                event[f"winlog.user_data.{key}"] = str(value)


__all__ = ["EVENT_DATA", "EvtxReader", "map_record"]
