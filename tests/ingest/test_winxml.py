"""The Windows event XML reader: layouts, damage, and fuzzing."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from shellwatch.events import Event
from shellwatch.ingest.base import ParseIssue, ReadContext
from shellwatch.ingest.winxml import WinXmlReader

NS = "http://schemas.microsoft.com/win/2004/08/events/event"


def _xml(record: int, command: str = "cmd.exe /c whoami", ns: bool = True) -> str:
    xmlns = f' xmlns="{NS}"' if ns else ""
    return (
        f'<Event{xmlns}><System><Provider Name="Microsoft-Windows-Sysmon"/><EventID>1</EventID>'
        f'<TimeCreated SystemTime="2024-02-03T04:05:06.7000000Z"/><EventRecordID>{record}</EventRecordID>'
        '<Execution ProcessID="10" ThreadID="11"/><Channel>Microsoft-Windows-Sysmon/Operational</Channel>'
        f'<Computer>PC9</Computer><Security UserID="S-1-5-18"/></System><EventData>'
        f'<Data Name="Image">C:\\Windows\\System32\\cmd.exe</Data><Data Name="CommandLine">{command}</Data>'
        "</EventData></Event>"
    )


def _read(data: bytes) -> tuple[list[Event], list[ParseIssue], ReadContext]:
    issues: list[ParseIssue] = []
    ctx = ReadContext("mem.xml", "winxml", on_issue=issues.append)
    return list(WinXmlReader().read(io.BytesIO(data), ctx)), issues, ctx


def test_several_events_on_one_line_and_a_root() -> None:
    data = ("<Events>" + _xml(1) + _xml(2, "a &amp; b") + "</Events>\n").encode()
    events, issues, ctx = _read(data)
    assert issues == [] and ctx.records == 2
    assert [e["winlog.record_id"] for e in events] == [1, 2]
    assert events[1]["process.command_line"] == "a & b"
    assert events[1]["log.offset"] == len("<Events>") + len(_xml(1))
    assert events[0]["shellwatch.log.line"] == events[1]["shellwatch.log.line"] == 1


def test_pretty_printed_and_utf16_and_no_namespace() -> None:
    pretty = _xml(7).replace("><", ">\n  <")
    data = ('<?xml version="1.0" encoding="UTF-16"?>\n' + pretty + "\n").encode("utf-16")
    events, issues, _ = _read(data)
    assert issues == [] and [e["process.name"] for e in events] == ["cmd.exe"]
    assert events[0]["shellwatch.log.line"] == 2
    plain, issues, _ = _read(_xml(8, ns=False).encode())
    assert issues == [] and plain[0]["winlog.record_id"] == 8


def test_malformed_events_are_counted_and_the_rest_read() -> None:
    lines = [_xml(1), _xml(2).replace("</Data>", "", 1), "not xml at all", _xml(3)[:80], _xml(4)]
    events, issues, ctx = _read("\n".join(lines).encode())
    assert [e["winlog.record_id"] for e in events] == [1, 4]
    assert [(issue.line, issue.reason.split(":")[0]) for issue in issues] == [
        (2, "malformed event XML"),
        (3, "text outside <Event> elements"),
        (4, "event without </Event>"),
    ]
    assert ctx.errors == 3 and ctx.records == 4


def test_entities_are_not_resolved() -> None:
    data = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + _xml(1, "&e;").encode()
    events, issues, ctx = _read(data)
    assert events == [] and ctx.errors >= 1
    assert all("root:" not in str(issue.raw) for issue in issues)


def test_file_ending_inside_an_event() -> None:
    events, issues, _ = _read((_xml(1) + "\n" + _xml(2)[:150]).encode())
    assert len(events) == 1 and [issue.reason for issue in issues] == ["file ends inside an event"]


def test_sniff() -> None:
    assert WinXmlReader.sniff(_xml(1).encode(), "x")
    assert WinXmlReader.sniff(b'<?xml version="1.0"?>\r\n<Events>\r\n' + _xml(1).encode(), "x")
    assert WinXmlReader.sniff(_xml(1).encode("utf-16"), "x")
    assert not WinXmlReader.sniff(b"<Event><Foo/></Event>", "x")
    assert not WinXmlReader.sniff(b'{"EventID": 1}', "x")
    assert not WinXmlReader.sniff(b"May 11 18:10:20 u5 sysmon: <Event><System>", "x")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    _events, issues, ctx = _read(data)
    assert ctx.errors == len(issues)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_damaged_events_never_raise(data: st.DataObject) -> None:
    raw = bytearray((_xml(1) + "\n" + _xml(2)).encode())
    for _ in range(data.draw(st.integers(1, 5))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    events, _issues, ctx = _read(bytes(raw))
    assert len(events) + ctx.errors >= 1
    assert all(e["event.kind"] == "event" for e in events)
