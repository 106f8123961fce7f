"""Zeek reader: TSV and JSON conn logs, corrupt rows, sniffing precision."""

from __future__ import annotations

from pathlib import Path

import pytest

from shellwatch.ingest.registry import load_readers
from tests.conftest import ReadEvents

TSV_HEAD = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\tconn_state\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tstring\n"
)


def test_corrupt_rows_are_errors_with_line_numbers(tmp_path: Path, read: ReadEvents) -> None:
    path = tmp_path / "conn.log"
    path.write_text(
        TSV_HEAD
        + "1700000000.0\tC1\t10.0.0.5\t49822\t203.0.113.9\t4444\ttcp\t-\t300.0\tSF\n"
        + "1700000001.0\tC2\t10.0.0.5\t49823\n"
        + "1700000002.0\tC3\t10.0.0.5\tnot-a-port\t203.0.113.9\t80\ttcp\thttp\t1.0\tSF\n"
        + "1700000003.0\tC4\t10.0.0.5\t49825\t198.51.100.20\t443\ttcp\tssl,http\t0.5\tSF\n"
    )
    events, issues, report = read(path, "zeek")
    assert [e["zeek.session_id"] for e in events] == ["C1", "C4"]
    assert report.records == 4 and report.errors == 2
    assert [issue.line for issue in issues] == [9, 10]
    assert "4 columns where #fields names 10" in issues[0].reason
    assert "id.orig_p" in issues[1].reason
    assert events[0]["event.duration"] == 300_000_000_000
    assert events[0]["event.end"] == "2023-11-14T22:18:20.000000Z"
    assert events[1]["network.protocol"] == "ssl"
    assert events[1]["zeek.connection.service"] == "ssl,http"


def test_bad_json_line_is_an_error_and_reading_goes_on(tmp_path: Path, read: ReadEvents) -> None:
    path = tmp_path / "conn.log"
    good = (
        '{"ts":1700000000.5,"uid":"C1","id.orig_h":"10.0.0.5","id.orig_p":1,'
        '"id.resp_h":"192.0.2.1","id.resp_p":2,"proto":"tcp","conn_state":"S0"}'
    )
    path.write_text(good + '\n{"ts": 17000\n' + good.replace("C1", "C2") + "\n")
    events, issues, report = read(path, "zeek")
    assert [e["zeek.session_id"] for e in events] == ["C1", "C2"]
    assert report.errors == 1 and issues[0].line == 2
    assert events[0]["@timestamp"] == "2023-11-14T22:13:20.500000Z"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}', True),
        (b'{"@stream":"conn","@system":"s","@proc":"zeek","ts":1.0,"uid":"C1","id_orig_h":"10.0.0.1"}', True),
        (b'{"__REALTIME_TIMESTAMP":"1700000000000000","MESSAGE":"x","ts":1}', False),
        (b'{"SyslogMessage":"x","TimeGenerated":"2023-01-01","uid":"C1"}', False),
        (b'{"name":"pack_x","hostIdentifier":"h","columns":{"uid":"0"},"ts":1}', False),
        (b'{"winlog":{"event_id":1},"@timestamp":"2023-01-01"}', False),
    ],
)
def test_sniff_claims_only_zeek(line: bytes, expected: bool) -> None:
    sniffed = load_readers().get("zeek").sniff(line + b"\n", "x.log")
    assert sniffed is expected
