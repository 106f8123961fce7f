"""osquery reader: the three result shapes, table detection by columns, sniffing precision."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shellwatch.ingest.registry import load_readers
from tests.conftest import ReadEvents

BASE = {
    "name": "q",
    "hostIdentifier": "h1",
    "calendarTime": "Tue Nov 14 22:13:20 2023 UTC",
    "unixTime": 1700000000,
}


def _write(tmp_path: Path, *records: object) -> Path:
    path = tmp_path / "osqueryd.results.log"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def test_accept_swaps_source_and_destination(tmp_path: Path, read: ReadEvents) -> None:
    row = {"action": "accept", "pid": "77", "path": "/usr/sbin/sshd", "family": "10", "protocol": "6",
           "local_address": "2001:db8::1", "local_port": "22", "remote_address": "2001:db8::99",
           "remote_port": "50000", "time": "1700000010", "success": "0"}  # fmt: skip
    events, issues, _ = read(_write(tmp_path, {**BASE, "columns": row, "action": "added"}), "osquery")
    assert issues == []
    (event,) = events
    assert (event["source.ip"], event["source.port"]) == ("2001:db8::99", 50000)
    assert (event["destination.ip"], event["destination.port"]) == ("2001:db8::1", 22)
    assert event["network.type"] == "ipv6"
    assert event["event.outcome"] == "failure"
    assert event["@timestamp"] == "2023-11-14T22:13:30.000000Z"


def test_unknown_table_keeps_columns_and_unix_time(tmp_path: Path, read: ReadEvents) -> None:
    record = {**BASE, "snapshot": [{"a": "1", "b": ""}, {"a": "2"}], "action": "snapshot"}
    events, _, report = read(_write(tmp_path, record), "osquery")
    assert report.records == 1
    assert [e["osquery.columns.a"] for e in events] == ["1", "2"]
    assert "osquery.columns.b" not in events[0]
    assert events[0]["@timestamp"] == "2023-11-14T22:13:20.000000Z"
    assert events[0]["host.name"] == "h1" and "event.category" not in events[0]


def test_calendar_time_when_no_unix_time(tmp_path: Path, read: ReadEvents) -> None:
    record = {"name": "q", "hostIdentifier": "h1", "calendarTime": "Tue Nov 14 22:13:20 2023 UTC",
              "columns": {"x": "y"}, "action": "added"}  # fmt: skip
    events, _, _ = read(_write(tmp_path, record), "osquery")
    assert events[0]["@timestamp"] == "2023-11-14T22:13:20.000000Z"


def test_bad_record_is_an_error(tmp_path: Path, read: ReadEvents) -> None:
    path = _write(tmp_path, {**BASE, "columns": {"x": "1"}, "action": "added"}, {**BASE, "nothing": 1})
    events, issues, report = read(path, "osquery")
    assert len(events) == 1 and report.errors == 1 and issues[0].line == 2


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'{"name":"p","hostIdentifier":"h","unixTime":1,"columns":{},"action":"added"}', True),
        (b'{"name":"p","hostIdentifier":"h","snapshot":[],"action":"snapshot"}', True),
        (b'{"name":"p","hostIdentifier":"h","diffResults":{"added":[],"removed":[]}}', True),
        (b'{"name":"p","MESSAGE":"x","__REALTIME_TIMESTAMP":"1"}', False),
        (b'{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1"}', False),
        (b'{"name":"p","SyslogMessage":"x","columns":{}}', False),
    ],
)
def test_sniff_claims_only_osquery(line: bytes, expected: bool) -> None:
    assert load_readers().get("osquery").sniff(line + b"\n", "r.log") is expected
