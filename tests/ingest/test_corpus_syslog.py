"""The real corpus: loghub OpenSSH/Linux logs against their structured ground truth, plaso syslog and shell
history, and every sshd/sudo/su/pam line of Wazuh's labelled rule tests."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from shellwatch.events import Event
from shellwatch.ingest._auth_messages import normalize
from shellwatch.ingest._syslog_frame import YearGuess, parse_line
from shellwatch.ingest.base import ReaderOptions
from tests.conftest import ReadEvents

pytestmark = pytest.mark.corpus


def _ground_truth(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _by_line(events: list[Event]) -> dict[int, list[Event]]:
    lines: dict[int, list[Event]] = {}
    for event in events:
        lines.setdefault(int(event["shellwatch.log.line"]), []).append(event)  # type: ignore[arg-type]
    return lines


def test_openssh_2k_matches_loghub_templates(corpus: Path, read: ReadEvents) -> None:
    events, issues, report = read(corpus / "syslog/loghub/OpenSSH_2k.log", None, ReaderOptions(year=2015))
    assert (report.format, report.records, report.errors, issues) == ("syslog", 2000, 0, [])
    lines = _by_line(events)
    truth = _ground_truth(corpus / "syslog/loghub/OpenSSH_2k.log_structured.csv")
    assert len(truth) == len(lines) == 2000
    seen: Counter[str] = Counter()
    for row in truth:
        line_events = lines[int(row["LineId"])]
        event = line_events[0]
        words = row["Content"].split()
        template = row["EventTemplate"]
        assert event["@timestamp"].startswith(f"2015-12-{int(row['Day']):02d}T{row['Time']}")  # type: ignore[union-attr]
        assert event["process.pid"] == int(row["Pid"])
        if template == "Failed password for <*> from <*> port <*> ssh2":
            assert (event["event.action"], event["event.outcome"]) == ("ssh_login", "failure")
            assert (event["user.name"], event["source.ip"], event["source.port"]) == (
                words[3],
                words[5],
                int(words[7]),
            )
        elif template.startswith(("Failed password for invalid user", "Failed none for invalid user")):
            assert (event["event.outcome"], event["event.reason"]) == ("failure", "invalid user")
            user = row["Content"].partition("invalid user ")[2].rpartition(" from ")[0]  # may have spaces
            assert (event["user.name"], event["source.ip"], event["source.port"]) == (
                user,
                words[-4],
                int(words[-2]),
            )
        elif template == "Accepted password for <*> from <*> port <*> ssh2":
            assert (event["event.action"], event["event.outcome"]) == ("ssh_login", "success")
            assert (event["user.name"], event["source.ip"]) == (words[3], words[5])
        elif template.startswith("message repeated"):
            assert len(line_events) == int(words[2])
            assert all(e["event.outcome"] == "failure" and e["source.ip"] == words[10] for e in line_events)
        elif template == "Invalid user <*> from <*>":
            user = row["Content"].removeprefix("Invalid user ").rpartition(" from ")[0]
            assert (event["event.action"], event["user.name"], event["source.ip"]) == (
                "ssh_invalid_user",
                user,
                words[-1],
            )
        elif template.startswith("pam_unix(sshd:auth): authentication failure"):
            assert event["event.action"] == "pam-authentication-failure"
            rhost = row["Content"].split("rhost=")[1].split()[0]
            assert rhost in (event.get("source.ip"), event.get("source.domain"))
        elif template.startswith("reverse mapping"):
            assert event["source.ip"] == words[6].strip("[]")
        elif template.startswith("Received disconnect"):
            assert (event["event.action"], event["source.ip"]) == (
                "ssh_disconnect_received",
                words[3].rstrip(":"),
            )
        elif template.startswith("pam_unix(sshd:session): session opened"):
            assert (event["event.action"], event["user.name"]) == ("session-opened", words[5])
        seen[row["EventId"]] += len(line_events)
    failures = [
        e for e in events if e.get("event.action") == "ssh_login" and e.get("event.outcome") == "failure"
    ]
    assert len(failures) == seen["E9"] + seen["E10"] + seen["E8"] + seen["E14"] == 383 + 135 + 4 + 10
    assert Counter(e.get("event.action") for e in events if e.get("event.outcome") == "success") == {
        "ssh_login": 1,
        "session-opened": 1,
        "session-closed": 1,
    }
    by_ip = Counter(e["source.ip"] for e in failures)
    assert by_ip.most_common(1) == [("183.62.140.253", 286)]


def test_linux_2k_matches_loghub_templates(corpus: Path, read: ReadEvents) -> None:
    events, issues, report = read(corpus / "syslog/loghub/Linux_2k.log", None, ReaderOptions(year=2005))
    assert (report.records, report.errors, issues, len(events)) == (2000, 0, [], 2000)
    lines = _by_line(events)
    counts: Counter[str] = Counter()
    for row in _ground_truth(corpus / "syslog/loghub/Linux_2k.log_structured.csv"):
        event = lines[int(row["LineId"])][0]
        template = row["EventTemplate"]
        if template.startswith("authentication failure;") and "tty=NODEVssh" in template:
            assert (event["event.action"], event["event.outcome"], event["process.name"]) == (
                "pam-authentication-failure",
                "failure",
                "sshd",
            )
            found = re.search(r"(?<![a-z])user=(\S+)", row["Content"])
            user = found.group(1) if found else None
            assert event.get("user.name") == user
            counts["ssh-auth-failure"] += 1
        elif template.startswith("session opened for user"):
            assert (event["event.action"], event["user.name"]) == (
                "session-opened",
                row["Content"].split()[4],
            )
            counts["session-opened"] += 1
        elif template == "check pass; user unknown":
            assert event["event.action"] == "pam-user-unknown"
            counts["unknown"] += 1
    assert counts == {"ssh-auth-failure": 351 + 117 + 17 + 4, "session-opened": 123, "unknown": 117}


@pytest.mark.parametrize("name", ["syslog", "syslog_ssh.log"])
def test_plaso_syslog_parses_cleanly(corpus: Path, read: ReadEvents, name: str) -> None:
    events, issues, report = read(corpus / "syslog/plaso" / name, None, ReaderOptions(year=2012))
    assert (report.format, report.errors, issues) == ("syslog", 0, [])
    assert all(event.get("@timestamp") for event in events)
    if name == "syslog":
        # 18 lines: one tab-indented and one "MMM" line join the message before them; sysklogd's "last message
        # repeated 5 times" yields 5 copies of the previous event: 16 + 4.
        assert (report.records, len(events)) == (18, 20)
        assert events[0]["message"] == "INFO No new content in ímynd.dd."
        assert events[6]["@timestamp"] == "2012-02-29T01:15:43.000000Z"
        assert [e["process.command_line"] for e in events if e.get("event.action") == "cron-command"] == [
            "touch /var/run/crond.somecheck",
            "touch /var/run/crond.somecheck",
            "/sbin/status.mycheck)",
        ]
    else:
        outcomes = [
            (e.get("user.name"), e.get("event.outcome"))
            for e in events
            if e.get("event.action") == "ssh_login"
        ]
        assert outcomes == [
            ("plaso", "success"),
            ("plaso", "success"),
            ("plaso", "failure"),
            ("root", "failure"),
            ("fred", "success"),
            ("fred", "success"),
            ("fred", "success"),
        ]
        assert events[2]["source.ip"] == "2001:db8:a0b:12f0::1"


_LOG = re.compile(r"log \d+ pass = (.*)$")  # "fail" lines are ones the rule must not match
# Wazuh rule id -> the outcome our normalizer must give (ids from wazuh_rule_ids.tsv whose groups say
# authentication_failed / authentication_success / invalid_login).
_OUTCOMES = {
    "5710": "failure",  # sshd: attempt to login using a non-existent user (Postponed lines: see below)
    "5716": "failure",
    "5718": "failure",
    "5719": "failure",
    "5758": "failure",
    "5760": "failure",
    "5763": "failure",
    "5712": "failure",
    "5401": "failure",
    "5404": "failure",
    "5405": "failure",
    "5403": "success",
    "5301": "failure",
    "5302": "failure",
    "5305": "success",
    "5501": "success",
    "5503": "failure",
    "5504": "failure",
    "2502": "failure",
}


def _wazuh_cases(corpus: Path) -> list[tuple[str, str, str]]:
    cases = []
    for name in ("sshd", "sudo", "su", "pam"):
        rule_lines: list[str] = []
        for text in (corpus / f"labeled-rules-tests/wazuh/{name}.ini").read_text().splitlines():
            match = _LOG.match(text)
            if match:
                rule_lines.append(match.group(1))
            elif text.startswith("rule = "):
                cases += [(name, text.split("=")[1].strip(), line) for line in rule_lines]
                rule_lines = []
    return cases


def test_wazuh_auth_lines(corpus: Path) -> None:
    cases = _wazuh_cases(corpus)
    assert len(cases) == 85  # the "log N pass" lines of sshd.ini, sudo.ini, su.ini and pam.ini
    years = YearGuess(2020)
    checked = 0
    for _name, rule, line in cases:
        frame = parse_line(line, years)
        assert frame is not None and frame.timestamp and frame.program, line
        event: Event = {}
        normalize(event, frame.program, frame.message)
        expected = _OUTCOMES.get(rule)
        if expected is None or (
            frame.message.startswith(("Postponed", "Disconnecting invalid", "Disconnected from invalid"))
        ):
            continue
        assert event.get("event.outcome") == expected, (rule, line, event)
        assert event.get("user.name") or rule == "5504", line  # "check pass; user unknown" names nobody
        checked += 1
    assert checked == 53


def test_shell_history_corpus(corpus: Path, read: ReadEvents) -> None:
    folder = corpus / "shell-history"
    expected = {
        "plaso_bash_history": [
            ("2013-10-01T12:36:17.000000Z", "/usr/lib/plaso"),
            ("2013-10-01T12:36:18.000000Z", "/bin/bash"),
            ("2013-10-01T12:36:19.000000Z", "/usr/local/bin/splunk -p 8080"),
            (
                "2021-06-10T22:30:36.000000Z",
                'binary argument1 "--params=\\\nparam1=foo,\nparam2=bar\n" argument2',
            ),
        ],
        "plaso_zsh_extended_history.txt": [
            ("2016-03-12T08:26:50.000000Z", "cd plaso"),
            ("2016-03-12T08:26:52.000000Z", "ls"),
            ("2016-03-26T11:54:53.000000Z", "echo dfgdfg \\\n& touch /tmp/afile"),
            ("2016-03-26T11:54:57.000000Z", "PYTHONPATH=. ./runtests.py"),
        ],
    }
    for name, commands in expected.items():
        events, issues, report = read(folder / name)
        assert (report.format, report.errors, issues) == ("shell_history", 0, [])
        assert [(e.get("@timestamp"), e["process.command_line"]) for e in events] == commands
    events, issues, report = read(folder / "plaso_bash_history_desync")
    assert (report.errors, len(events), events[0].get("@timestamp"), events[0]["process.command_line"]) == (
        0,
        5,
        None,
        "/sbin/reboot",
    )
    events, issues, report = read(folder / "plaso_fish_history")
    assert (report.errors, len(events)) == (0, 10)
    assert (events[0]["@timestamp"], events[0]["process.command_line"]) == (
        "2021-04-29T22:53:00.000000Z",
        "ll",
    )
    assert events[8]["process.command_line"] == "git clone git@github.com:log2timeline/plaso.git"
    _, _, report = read(folder / "plaso_powershell_transcript.txt")
    assert report.format != "shell_history"
