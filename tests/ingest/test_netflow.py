"""nfdump CSV reader: header-driven columns, Summary block, bad rows."""

from __future__ import annotations

from pathlib import Path

from shellwatch.ingest.registry import load_readers
from tests.conftest import ReadEvents


def test_column_order_does_not_matter_and_summary_is_skipped(tmp_path: Path, read: ReadEvents) -> None:
    path = tmp_path / "flows.csv"
    path.write_text(
        "pr,dp,sp,da,sa,td,te,ts,ibyt,ipkt\n"
        "UDP,53,53211,10.0.0.2,10.0.0.5,0.002,2023-11-14 22:13:10,2023-11-14 22:13:10,63,1\n"
        "47,0,0,192.0.2.7,10.0.0.5,1.000,2023-11-14 22:13:11,2023-11-14 22:13:10,100,2\n"
        "Summary\nflows,bytes,packets,avg_bps,avg_pps,avg_bpp\n2,163,3,0,0,0\n"
    )
    events, issues, report = read(path, "netflow")
    assert issues == [] and report.records == 2
    first, second = events
    assert (first["source.ip"], first["source.port"]) == ("10.0.0.5", 53211)
    assert (first["destination.ip"], first["destination.port"]) == ("10.0.0.2", 53)
    assert (first["network.transport"], first["network.iana_number"]) == ("udp", "17")
    assert first["event.duration"] == 2_000_000
    assert (second["network.transport"], second["network.iana_number"]) == ("gre", "47")
    assert second["event.end"] == "2023-11-14T22:13:11.000000Z"


def test_bad_rows_are_counted_and_skipped(tmp_path: Path, read: ReadEvents) -> None:
    path = tmp_path / "flows.csv"
    path.write_text(
        "firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows\n"
        "2023-11-14 22:13:20.000,300.000,6,10.0.0.5,49822,203.0.113.9,4444,160,9772,1\n"
        "2023-11-14 22:13:21.000,1.000,6,10.0.0.5\n"
        "2023-11-14 22:13:22.000,x,6,10.0.0.5,49823,203.0.113.9,4444,1,60,1\n"
    )
    events, issues, report = read(path, "netflow")
    assert len(events) == 1 and report.records == 3 and report.errors == 2
    assert [issue.line for issue in issues] == [3, 4]
    assert events[0]["network.bytes"] == 9772
    assert events[0]["event.duration"] == 300_000_000_000


def test_sniff_needs_a_flow_header() -> None:
    reader = load_readers().get("netflow")
    assert reader.sniff(b"ts,te,td,sa,da,sp,dp,pr\n", "f.csv")
    assert reader.sniff(b"firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort\n", "f.csv")
    assert not reader.sniff(b"name,ts,value\n", "f.csv")
    assert not reader.sniff(b'{"ts":1,"sa":"x","da":"y"}\n', "f.json")
