"""The EVTX reader: our own fixture files (built by tests/support/evtx_writer.py), damage and 4104 parts."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import evtx
import pytest

from shellwatch.events import Event
from shellwatch.ingest.base import ParseIssue, ReadContext
from shellwatch.ingest.evtx import EvtxReader
from tests.conftest import FIXTURES, read_events
from tests.support.evtx_writer import build_evtx, events_from_xml

EVTX = FIXTURES / "ingest" / "evtx"
WINXML = FIXTURES / "ingest" / "winxml"
POSITION_KEYS = ("log.offset", "shellwatch.log.line", "log.file.path", "shellwatch.log.format")


def _read(data: bytes) -> tuple[list[Event], list[ParseIssue], ReadContext]:
    issues: list[ParseIssue] = []
    ctx = ReadContext("mem.evtx", "evtx", on_issue=issues.append)
    events = list(EvtxReader().read(io.BytesIO(data), ctx))
    return events, issues, ctx


def _record_ends(data: bytes) -> dict[int, int]:
    """Record id → file offset just past the record, walking the first chunk."""
    ends, offset = {}, 4096 + 512
    while data[offset : offset + 4] == b"\x2a\x2a\x00\x00":
        size, record = struct.unpack_from("<IQ", data, offset + 4)
        ends[record] = offset + size
        offset += size
    return ends


@pytest.mark.parametrize("case", ["office_to_powershell", "rdp_bruteforce"])
def test_fixture_is_valid_evtx_with_checksums(case: Path) -> None:
    data = (EVTX / f"{case}.evtx").read_bytes()
    assert data == build_evtx(events_from_xml((WINXML / f"{case}.xml").read_bytes())), (
        "regenerate the fixture"
    )
    records = list(evtx.PyEvtxParser(io.BytesIO(data), validate_checksums=True).records_json())
    assert len(records) == len(events_from_xml((WINXML / f"{case}.xml").read_bytes()))


@pytest.mark.parametrize("case", ["office_to_powershell", "rdp_bruteforce"])
def test_evtx_and_event_xml_give_the_same_events(case: str) -> None:
    from_evtx, issues, _ = read_events(EVTX / f"{case}.evtx")
    from_xml, xml_issues, _ = read_events(WINXML / f"{case}.xml")
    assert issues == xml_issues == []

    def strip(events: list[Event]) -> list[Event]:
        return [{k: v for k, v in e.items() if k not in POSITION_KEYS} for e in events]

    assert strip(from_evtx) == strip(from_xml)
    assert [e["log.offset"] for e in from_evtx] == [e["winlog.record_id"] for e in from_evtx]


def test_truncated_file_yields_every_record_before_the_damage() -> None:
    data = (EVTX / "rdp_bruteforce.evtx").read_bytes()
    ends = _record_ends(data)
    assert len(ends) == 6
    last_end = max(ends.values())
    cuts = [4096 + 512 + 100, *(end - 7 for end in ends.values()), *ends.values(), last_end + 1000]
    for cut in cuts:
        events, issues, ctx = _read(data[:cut])
        whole = sorted(record for record, end in ends.items() if end <= cut)
        assert sorted(e["winlog.record_id"] for e in events) == whole, cut
        assert issues and issues[0].offset == cut and "truncated EVTX" in issues[0].reason
        assert ctx.errors == len(issues) >= 1


def test_damaged_record_is_an_error_and_reading_goes_on() -> None:
    data = bytearray((EVTX / "rdp_bruteforce.evtx").read_bytes())
    ends = _record_ends(bytes(data))
    second_start = ends[88410]
    data[second_start + 24 : second_start + 60] = b"\xff" * 36
    events, issues, ctx = _read(bytes(data))
    assert [e["winlog.record_id"] for e in events] == [88410, 88412, 88420, 88431, 88432]
    assert ctx.errors == len(issues) == 1 and "unparseable EVTX record" in issues[0].reason
    assert ctx.records == 6


def test_not_evtx_after_the_magic_is_an_error() -> None:
    events, issues, ctx = _read(b"ElfFile\x00" + b"\x00" * 100)
    assert events == [] and ctx.errors >= 1
    assert issues[0].offset is not None


def _script_events(order: list[int], total: int = 3) -> str:
    texts = {1: "$a = 1;", 2: "$b = 2;", 3: "Write-Output ($a + $b)"}
    ns = "http://schemas.microsoft.com/win/2004/08/events/event"
    out = []
    for index, number in enumerate(order):
        out.append(
            f'<Event xmlns="{ns}"><System><Provider Name="Microsoft-Windows-PowerShell" '
            'Guid="{a0c1853b-5c40-4b15-8766-3cf1c58f985a}"/><EventID>4104</EventID><Version>1</Version>'
            f"<Level>5</Level><Task>2</Task><Opcode>15</Opcode><Keywords>0x0</Keywords>"
            f'<TimeCreated SystemTime="2024-05-01T10:00:0{index}.000000Z"/>'
            f"<EventRecordID>{700 + index}</EventRecordID>"
            '<Execution ProcessID="4242" ThreadID="1"/>'
            "<Channel>Microsoft-Windows-PowerShell/Operational</Channel>"
            "<Computer>PC1</Computer><Security/></System><EventData>"
            f'<Data Name="MessageNumber">{number}</Data><Data Name="MessageTotal">{total}</Data>'
            f'<Data Name="ScriptBlockText">{texts[number]}</Data><Data Name="ScriptBlockId">s-1</Data>'
            '<Data Name="Path"/></EventData></Event>'
        )
    return "\n".join(out)


def test_4104_parts_out_of_order_are_joined() -> None:
    data = build_evtx(events_from_xml(_script_events([3, 1, 2]).encode()))
    events, issues, ctx = _read(data)
    assert issues == [] and ctx.records == 3 and len(events) == 1
    assert events[0]["powershell.file.script_block_text"] == "$a = 1;$b = 2;Write-Output ($a + $b)"
    assert events[0]["winlog.record_id"] == 701 and events[0]["log.offset"] == 701
    assert events[0]["@timestamp"] == "2024-05-01T10:00:01.000000Z"
    assert events[0]["shellwatch.powershell.record_ids"] == ["701", "702", "700"]


def test_4104_missing_part_is_emitted_incomplete() -> None:
    data = build_evtx(events_from_xml(_script_events([1, 3]).encode()))
    events, issues, _ = _read(data)
    assert issues == [] and len(events) == 1
    event = events[0]
    assert event["powershell.file.script_block_text"] == "$a = 1;Write-Output ($a + $b)"
    assert event["shellwatch.powershell.incomplete"] is True
    assert event["powershell.file.script_block_part_count"] == 3


def test_sniff() -> None:
    assert EvtxReader.sniff(b"ElfFile\x00rest", "x.bin")
    assert not EvtxReader.sniff(b"ElfChnk\x00", "x.evtx")
