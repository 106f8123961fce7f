"""journald JSON export reader: fields, byte-array messages, shared normalizers, errors."""

from __future__ import annotations

import io

import orjson

from shellwatch.events import Event
from shellwatch.ingest.base import ParseIssue, ReadContext
from shellwatch.ingest.journald import JournaldReader


def read(*records: object, raw: bytes = b"") -> tuple[list[Event], list[ParseIssue]]:
    data = b"".join(orjson.dumps(record) + b"\n" for record in records) + raw
    issues: list[ParseIssue] = []
    ctx = ReadContext("journal.json", "journald", on_issue=issues.append)
    return list(JournaldReader().read(io.BytesIO(data), ctx)), issues


def test_sshd_failure_through_the_shared_normalizer() -> None:
    events, issues = read(
        {
            "__CURSOR": "s=1",
            "__REALTIME_TIMESTAMP": "1704449401000000",
            "_HOSTNAME": "h",
            "SYSLOG_IDENTIFIER": "sshd",
            "_PID": "10",
            "MESSAGE": "Failed password for root from 203.0.113.50 port 40200 ssh2",
        }
    )
    assert issues == []
    event = events[0]
    assert (event["@timestamp"], event["host.name"], event["process.pid"]) == (
        "2024-01-05T10:10:01.000000Z",
        "h",
        10,
    )
    assert (event["event.action"], event["event.outcome"], event["source.ip"], event["user.name"]) == (
        "ssh_login",
        "failure",
        "203.0.113.50",
        "root",
    )


def test_message_as_byte_array_is_decoded() -> None:
    events, _ = read({"__REALTIME_TIMESTAMP": "1", "MESSAGE": list(b"caf\xc3\xa9 \xff")})
    assert events[0]["message"] == "café \\xff"


def test_repeated_field_takes_the_first_value() -> None:
    events, _ = read({"__REALTIME_TIMESTAMP": "1", "MESSAGE": ["one", "two"], "_HOSTNAME": ["a", "b"]})
    assert (events[0]["message"], events[0]["host.name"]) == ("one", "a")


def test_sudo_moves_the_logger_to_the_parent() -> None:
    events, _ = read(
        {
            "__REALTIME_TIMESTAMP": "1704449500000000",
            "SYSLOG_IDENTIFIER": "sudo",
            "_PID": "5200",
            "_COMM": "sudo",
            "_EXE": "/usr/bin/sudo",
            "_UID": "1000",
            "MESSAGE": "alice : TTY=pts/2 ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/id",
        }
    )
    event = events[0]
    assert (event["process.name"], event["process.parent.name"], event["process.parent.pid"]) == (
        "id",
        "sudo",
        5200,
    )
    assert (event["process.parent.executable"], event["process.parent.user.id"]) == ("/usr/bin/sudo", "1000")
    assert "process.pid" not in event


def test_bad_lines_are_errors_and_reading_goes_on() -> None:
    events, issues = read({"__REALTIME_TIMESTAMP": "1", "MESSAGE": "ok"}, raw=b"not json\n[1, 2]\n")
    assert [event["message"] for event in events] == ["ok"]
    assert [(issue.line, issue.reason.split(":")[0]) for issue in issues] == [
        (2, "not JSON"),
        (3, "not a JSON object"),
    ]


def test_sniff() -> None:
    assert JournaldReader.sniff(b'{"__CURSOR":"s=1","MESSAGE":"x"}\n', "x.json")
    assert JournaldReader.sniff(b'{"MESSAGE":"x","__REALTIME_TIMESTAMP":"1"}\n', "x.json")
    assert not JournaldReader.sniff(b'{"MESSAGE":"x"}\n', "x.json")
    assert not JournaldReader.sniff(b"Jan  5 10:11:12 h sshd[1]: x\n", "x")
