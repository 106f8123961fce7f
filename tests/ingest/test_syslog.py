# ruff: noqa: E501  (log lines are long)
"""Unit tests of the syslog reader: framing, years, continuation and errors, and the auth normalizers."""

from __future__ import annotations

import io

import pytest

from shellwatch.events import Event
from shellwatch.ingest._auth_messages import normalize
from shellwatch.ingest.base import ParseIssue, ReadContext, ReaderOptions
from shellwatch.ingest.registry import load_readers
from shellwatch.ingest.syslog import SyslogReader

JAN_2025 = 1736899200.0  # 2025-01-15T00:00:00Z


def read(
    data: bytes, *, year: int | None = 2024, mtime: float | None = None
) -> tuple[list[Event], list[ParseIssue]]:
    issues: list[ParseIssue] = []
    ctx = ReadContext("test.log", "syslog", ReaderOptions(year=year), issues.append, mtime)
    events = list(SyslogReader(ReaderOptions(year=year)).read(io.BytesIO(data), ctx))
    assert ctx.errors == len(issues)
    return events, issues


def norm(program: str, message: str) -> tuple[Event, int]:
    event: Event = {}
    count = normalize(event, program, message)
    return event, count


def test_rfc3164_line_fields() -> None:
    events, issues = read(b"Jan  5 10:11:12 web01 sshd[4100]: Server listening on :: port 22.\n")
    assert issues == []
    assert events == [
        {
            "event.kind": "event",
            "event.module": "system",
            "event.dataset": "system.auth",
            "message": "Server listening on :: port 22.",
            "@timestamp": "2024-01-05T10:11:12.000000Z",
            "log.offset": 0,
            "shellwatch.log.line": 1,
            "host.name": "web01",
            "log.syslog.hostname": "web01",
            "log.syslog.appname": "sshd",
            "process.name": "sshd",
            "process.pid": 4100,
        }
    ]


def test_year_rollover_from_mtime() -> None:
    data = b"Dec 31 23:59:59 h cron[1]: late\nJan  1 00:00:01 h cron[1]: early\n"
    events, _ = read(data, year=None, mtime=JAN_2025)
    assert [event["@timestamp"] for event in events] == [
        "2024-12-31T23:59:59.000000Z",
        "2025-01-01T00:00:01.000000Z",
    ]


def test_feb_29_goes_to_a_leap_year() -> None:
    events, issues = read(b"Feb 29 01:02:03 h app: leap\n", year=None, mtime=JAN_2025)
    assert issues == []
    assert events[0]["@timestamp"] == "2024-02-29T01:02:03.000000Z"


def test_impossible_date_is_an_error() -> None:
    events, issues = read(b"Feb 30 01:02:03 h app: no such day\n")
    assert events == []
    assert [(issue.line, issue.offset, issue.raw) for issue in issues] == [
        (1, 0, "Feb 30 01:02:03 h app: no such day")
    ]


def test_iso_timestamps_and_priority() -> None:
    data = (
        b"2024-01-05T10:11:12.123456789+01:00 h1 sshd[7]: hello\n"
        b"2020-03-23 06:47:42.801612-0700  localhost sshd[8]: world\n"
        b"<86>Jan  5 10:11:12 h2 sudo: x\n"
    )
    events, issues = read(data)
    assert issues == []
    assert [event["@timestamp"] for event in events] == [
        "2024-01-05T09:11:12.123456Z",
        "2020-03-23T13:47:42.801612Z",
        "2024-01-05T10:11:12.000000Z",
    ]
    assert [event.get("host.name") for event in events] == ["h1", "localhost", "h2"]
    assert (events[2]["log.syslog.facility.code"], events[2]["log.syslog.severity.code"]) == (10, 6)


def test_continuation_lines_join_the_previous_message() -> None:
    data = b"Jan  5 10:11:12 h app[1]: first\n\tsecond\nJan  5 10:11:13 h app[1]: next\n"
    events, issues = read(data)
    assert issues == []
    assert [event["message"] for event in events] == ["first\n\tsecond", "next"]
    assert events[0]["shellwatch.syslog.continuation_lines"] == 1


def test_garbage_and_orphan_lines_are_errors() -> None:
    data = b"orphan text before any syslog line\nJan  5 10:11:12 h app[1]: ok\n\x00\x01\xff\xfe binary\n"
    events, issues = read(data)
    assert [event["message"] for event in events] == ["ok"]
    assert [(issue.line, issue.offset, issue.reason) for issue in issues] == [
        (1, 0, "not a syslog line"),
        (3, 64, "not a syslog line"),
    ]


def test_rsyslog_repeat_yields_one_event_per_occurrence() -> None:
    data = b"Jan  5 10:11:12 h sshd[9]: message repeated 3 times: [ Failed password for root from 203.0.113.5 port 22 ssh2]\n"
    events, _ = read(data)
    assert [(e["event.outcome"], e["user.name"], e["shellwatch.repeat.index"]) for e in events] == [
        ("failure", "root", 1),
        ("failure", "root", 2),
        ("failure", "root", 3),
    ]
    assert all(event["shellwatch.repeat.count"] == 3 for event in events)


def test_sysklogd_last_message_repeated_copies_the_previous_event() -> None:
    data = (
        b"Jan  5 10:11:12 h sshd[9]: Failed password for root from 203.0.113.5 port 22 ssh2\n"
        b"Jan  5 10:11:20 h sshd[9]: last message repeated 2 times\n"
    )
    events, _ = read(data)
    assert [(e["@timestamp"], e["event.outcome"], e["shellwatch.log.line"]) for e in events] == [
        ("2024-01-05T10:11:12.000000Z", "failure", 1),
        ("2024-01-05T10:11:20.000000Z", "failure", 2),
        ("2024-01-05T10:11:20.000000Z", "failure", 2),
    ]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Accepted publickey for alice from 2001:0db8::0001 port 50022 ssh2: RSA SHA256:abc",
            {
                "event.action": "ssh_login",
                "event.outcome": "success",
                "user.name": "alice",
                "source.ip": "2001:db8::1",
                "source.port": 50022,
                "system.auth.ssh.method": "publickey",
                "system.auth.ssh.signature": "RSA SHA256:abc",
            },
        ),
        (
            "Accepted keyboard-interactive/pam for bob from 198.51.100.4 port 1 ssh2",
            {"event.outcome": "success", "system.auth.ssh.method": "keyboard-interactive/pam"},
        ),
        (
            "Failed password for invalid user oracle from 203.0.113.9 port 4242 ssh2",
            {
                "event.action": "ssh_login",
                "event.outcome": "failure",
                "user.name": "oracle",
                "event.reason": "invalid user",
            },
        ),
        ("Invalid user pi from 203.0.113.9", {"event.action": "ssh_invalid_user", "user.name": "pi"}),
        (
            "Connection closed by invalid user pi 203.0.113.9 port 5 [preauth]",
            {"event.action": "ssh_connection_closed", "user.name": "pi", "source.port": 5},
        ),
        ("Connection closed by 203.0.113.9 [preauth]", {"source.ip": "203.0.113.9"}),
        (
            "Disconnected from user alice 198.51.100.4 port 22",
            {"event.category": ["session"], "event.type": ["end"], "user.name": "alice"},
        ),
        (
            "reverse mapping checking getaddrinfo for bad.example [203.0.113.9] failed - POSSIBLE BREAK-IN ATTEMPT!",
            {
                "event.action": "ssh_reverse_mapping_failed",
                "source.ip": "203.0.113.9",
                "source.domain": "bad.example",
            },
        ),
        (
            "Received disconnect from 203.0.113.9: 11: Bye Bye [preauth]",
            {
                "event.action": "ssh_disconnect_received",
                "event.reason": "Bye Bye",
                "source.ip": "203.0.113.9",
            },
        ),
        (
            "error: maximum authentication attempts exceeded for root from 203.0.113.9 port 7 ssh2 [preauth]",
            {"event.action": "ssh_max_auth_attempts", "event.outcome": "failure", "source.port": 7},
        ),
        (
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root",
            {"event.action": "pam-authentication-failure", "user.name": "root", "source.ip": "203.0.113.9"},
        ),
        (
            "pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
            {"event.action": "session-opened", "user.name": "alice", "user.id": "1000"},
        ),
        (
            "Starting session: shell on pts/1 for alice from 198.51.100.4 port 2222 id 0",
            {"event.action": "ssh_session_start", "process.tty.name": "pts/1", "user.name": "alice"},
        ),
        ("Failed password for root from 183.106.179.x port 1 ssh2", {"source.address": "183.106.179.x"}),
    ],
)
def test_sshd_messages(message: str, expected: Event) -> None:
    event, count = norm("sshd", message)
    assert count == 1
    assert {key: event.get(key) for key in expected} == expected


def test_sudo_command_is_a_process_start_under_sudo() -> None:
    event: Event = {"process.name": "sudo", "process.pid": 77}
    normalize(event, "sudo", "   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash -c id")
    assert event == {
        "event.dataset": "system.auth",
        "event.category": ["process"],
        "event.type": ["start"],
        "event.action": "sudo-command",
        "event.outcome": "success",
        "process.parent.name": "sudo",
        "process.parent.pid": 77,
        "process.command_line": "/bin/bash -c id",
        "process.args": ["/bin/bash", "-c", "id"],
        "process.args_count": 3,
        "process.name": "bash",
        "process.executable": "/bin/bash",
        "process.working_directory": "/home/alice",
        "process.tty.name": "pts/0",
        "process.interactive": True,
        "user.name": "alice",
        "user.target.name": "root",
        "user.effective.name": "root",
        "related.user": ["alice", "root"],
        "system.auth.sudo.tty": "pts/0",
        "system.auth.sudo.pwd": "/home/alice",
        "system.auth.sudo.user": "root",
        "system.auth.sudo.command": "/bin/bash -c id",
    }


@pytest.mark.parametrize(
    "message",
    [
        "mallory : user NOT in sudoers ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh",
        "mallory : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh",
    ],
)
def test_sudo_failures_are_authentication_failures(message: str) -> None:
    event, _ = norm("sudo", message)
    assert (event["event.category"], event["event.outcome"], event["user.name"]) == (
        ["authentication"],
        "failure",
        "mallory",
    )
    assert "process.command_line" not in event


@pytest.mark.parametrize(
    ("message", "outcome", "tty"),
    [
        ("Successful su for root by alice", "success", None),
        ("FAILED su for root by alice", "failure", None),
        ("+ pts/0 alice:root", "success", "pts/0"),
        ("- pts/0 alice:root", "failure", "pts/0"),
        ("(to root) alice on pts/0", "success", "pts/0"),
        ("FAILED SU (to root) alice on pts/0", "failure", "pts/0"),
    ],
)
def test_su_messages(message: str, outcome: str, tty: str | None) -> None:
    event, _ = norm("su", message)
    assert (event["event.action"], event["event.outcome"], event["user.name"], event["user.target.name"]) == (
        "su",
        outcome,
        "alice",
        "root",
    )
    assert event.get("process.tty.name") == tty


def test_su_pam_session_names_the_switching_user() -> None:
    event, _ = norm("su", "pam_unix(su:session): session opened for user root by alice(uid=1000)")
    assert (event["user.name"], event["user.target.name"], event["user.id"]) == ("alice", "root", "1000")


def test_cron_command_is_a_process_start_under_cron() -> None:
    event: Event = {"process.name": "CRON", "process.pid": 31051}
    normalize(event, "CRON", "(root) CMD (cd / && run-parts --report /etc/cron.hourly)")
    assert (event["event.action"], event["process.parent.name"], event["process.parent.pid"]) == (
        "cron-command",
        "cron",
        31051,
    )
    assert event["process.command_line"] == "cd / && run-parts --report /etc/cron.hourly"
    assert event["process.name"] == "cd"
    assert event["user.name"] == "root"


@pytest.mark.parametrize(
    ("program", "message", "action", "target"),
    [
        (
            "useradd",
            "new user: name=eve, UID=1002, GID=1002, home=/home/eve, shell=/bin/sh",
            "user-created",
            "eve",
        ),
        ("userdel", "delete user 'eve'", "user-deleted", "eve"),
        ("usermod", "add 'eve' to group 'wheel'", "user-added-to-group", "eve"),
        ("passwd", "pam_unix(passwd:chauthtok): password changed for eve", "password-changed", "eve"),
    ],
)
def test_account_management(program: str, message: str, action: str, target: str) -> None:
    event, _ = norm(program, message)
    assert (event["event.category"], event["event.action"], event["user.target.name"]) == (
        ["iam"],
        action,
        target,
    )


def test_logind_and_login() -> None:
    event, _ = norm("systemd-logind", "New session 12 of user alice.")
    assert (event["event.action"], event["user.name"], event["shellwatch.session.id"]) == (
        "session-new",
        "alice",
        "12",
    )
    event, _ = norm("login", "FAILED LOGIN (1) on '/dev/tty1' FOR 'UNKNOWN', Authentication failure")
    assert (event["event.outcome"], event["process.tty.name"], event["user.name"]) == (
        "failure",
        "tty1",
        "UNKNOWN",
    )


def test_unrelated_message_is_left_alone() -> None:
    event, count = norm("kernel", "Failed password for root from 203.0.113.9 port 22 ssh2")
    assert (event, count) == ({}, 1)


def test_sniff() -> None:
    registry = load_readers()
    assert SyslogReader.sniff(b"Jan  5 10:11:12 h sshd[1]: x\nJan  5 10:11:13 h sshd[1]: y\n", "auth.log")
    assert SyslogReader.sniff(b"<13>1 2024-01-05T10:11:12Z h app - - - msg\n", "x")
    assert SyslogReader.sniff(b"2024-01-05T10:11:12.1+01:00 h sshd[1]: x\n", "x")
    assert not SyslogReader.sniff(b'{"a": 1}\n', "x")
    assert not SyslogReader.sniff(b"2024-01-05 10:11:12,123 INFO app started\n", "x")
    assert not SyslogReader.sniff(b"#1700000000\nls\n", ".bash_history")
    sniffed = registry.sniff(
        b"Jan  5 10:11:12 h sshd[1]: Accepted password for a from 203.0.113.1 port 1 ssh2\n", "a"
    )
    assert sniffed is SyslogReader
