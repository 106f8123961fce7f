"""Network and macOS readers on the real public corpus (skipped when ../shared/corpus is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shellwatch.ingest.base import ReaderOptions
from tests.conftest import ReadEvents

pytestmark = pytest.mark.corpus


def test_brimdata_conn_log(corpus: Path, read: ReadEvents) -> None:
    path = corpus / "zeek" / "brimdata" / "conn.log"
    lines = path.read_text().splitlines()
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")]
    # The file is 100 lines: 8 header lines and 92 connections (no #close line).
    assert (len(lines), len(rows)) == (100, 92)
    events, issues, report = read(path)
    assert report.format == "zeek"
    assert issues == [] and report.errors == 0
    assert len(events) == report.records == len(rows) == 92
    first = events[0]
    assert first["@timestamp"] == "2018-03-24T17:15:21.255387Z"
    assert first["zeek.session_id"] == "C8Tful1TvM3Zf5x8fl"
    assert (first["source.ip"], first["source.port"]) == ("10.164.94.120", 39681)
    assert (first["destination.ip"], first["destination.port"]) == ("10.47.3.155", 3389)
    assert first["event.duration"] == 4_266_000
    assert (first["source.bytes"], first["destination.bytes"]) == (730, 342)
    assert first["zeek.connection.state"] == "RSTR"
    http = next(e for e in events if e["zeek.session_id"] == "CC35pe1n2m9PAt2f77")
    assert http["network.protocol"] == "http" and http["destination.port"] == 80
    assert http["zeek.connection.history"] == "ShADTdtfR"
    states = {e["zeek.connection.state"] for e in events}
    assert sum(1 for row in rows if row[11] == "REJ") == sum(
        1 for e in events if e["zeek.connection.state"] == "REJ"
    )
    assert {"REJ", "S0", "RSTR"} <= states


def test_apt29_conn_logs_parse_without_errors(corpus: Path, read: ReadEvents) -> None:
    files = sorted((corpus / "zeek" / "otrf-apt29").glob("*_conn.log"))
    assert len(files) == 8
    for path in files:
        expected = sum(1 for line in path.read_bytes().splitlines() if line.strip())
        events, issues, report = read(path)
        assert report.format == "zeek", path.name
        assert issues == [] and report.errors == 0, path.name
        assert len(events) == expected, path.name
        assert all(e["event.dataset"] == "zeek.conn" and "source.ip" in e for e in events)


def test_apt29_scranton_reverse_shell(corpus: Path, read: ReadEvents) -> None:
    path = corpus / "zeek" / "otrf-apt29" / "day1_SCRANTON_conn.log"
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    expected = [r for r in records if r["id_resp_h"] == "192.168.0.5" and r["id_resp_p"] == 1234]
    assert len(expected) == 1
    events, _, _ = read(path)
    shells = [e for e in events if e["destination.ip"] == "192.168.0.5" and e["destination.port"] == 1234]
    assert len(shells) == len(expected) == 1
    (shell,) = shells
    assert shell["zeek.session_id"] == expected[0]["uid"]
    assert shell["source.ip"] == expected[0]["id_orig_h"]
    assert shell["observer.name"] == "simplerockbuild.simplerock.lan"
    assert shell["network.transport"] == "tcp"


def test_apt29_nashua_beacons(corpus: Path, read: ReadEvents) -> None:
    path = corpus / "zeek" / "otrf-apt29" / "day1_NASHUA_conn.log"
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    expected = sum(1 for r in records if r["id_resp_h"] == "192.168.0.4" and r["id_resp_p"] == 8443)
    events, _, _ = read(path)
    beacons = sum(1 for e in events if e["destination.ip"] == "192.168.0.4" and e["destination.port"] == 8443)
    assert beacons == expected > 0


def test_eslogger_samples(corpus: Path, read: ReadEvents) -> None:
    path = corpus / "macos" / "eslogger" / "mullvad_eslogger_samples.jsonl"
    events, issues, report = read(path, options=ReaderOptions(host="mullvad-mac"))
    assert report.format == "eslogger" and issues == []
    assert len(events) == 4
    summary = [
        (e["event.action"], e["eslogger.version"], e["process.pid"], e["process.executable"]) for e in events
    ]
    assert summary == [
        ("exit", 9, 11221, "/usr/sbin/ipconfig"),
        ("exec", 9, 97391, "/bin/connection-checker"),
        ("fork", 10, 21497, "/Applications/Mullvad VPN.app/Contents/MacOS/Mullvad VPN"),
        (
            "exec",
            11,
            11085,
            "/System/Library/PrivateFrameworks/IntlPreferences.framework/Support/localizationswitcherd",
        ),
    ]
    assert [e["event.type"] for e in events] == [["end"], ["start"], ["start"], ["start"]]
    exec9 = events[1]
    assert exec9["process.parent.pid"] == 58916
    assert exec9["process.tty.name"] == "ttys003"
    assert exec9["process.working_directory"] == "/bin/mullvadvpn-app"
    assert exec9["process.args"] == ["/bin/connection-checker"]
    fork10 = events[2]
    assert fork10["process.parent.pid"] == 19745
    assert fork10["user.effective.id"] == "501"
    assert fork10["process.code_signature.team_id"] == "CKG9MXH72F"
    assert events[0]["process.exit_code"] == 0
    assert events[0]["@timestamp"] == "2025-08-07T15:13:09.811587Z"
