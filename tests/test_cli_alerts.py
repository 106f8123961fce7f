"""`shellwatch alerts list | show` over a real scan of the sample, and the alert renderers on built alerts."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import orjson
import pytest
from rich.console import Console, RenderableType
from typer.testing import CliRunner

from shellwatch.cli import app
from shellwatch.cli.alert_view import alert_view, process_tree
from shellwatch.errors import ShellwatchError
from shellwatch.store.db import Store, sqlite_url

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
REVERSE_SHELL = "Reverse Shell"


def render(renderable: RenderableType) -> str:
    console = Console(file=StringIO(), width=200, color_system=None)
    console.print(renderable)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(output, str)
    return output


def line_of(lines: list[str], text: str) -> int:
    (index,) = [number for number, line in enumerate(lines) if text in line]
    return index


def indent_of(line: str, text: str) -> int:
    return line.index(text)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("alerts")
    path = folder / "sw.db"
    result = runner.invoke(
        app,
        [
            "scan",
            "--sample",
            "--db",
            str(path),
            "--dead-letter",
            str(folder / "dl.jsonl"),
            "--format",
            "jsonl",
        ],
    )
    assert result.exit_code == 0, result.output
    return path


def stored(db: Path, rule: str | None = None) -> list[tuple[int, dict[str, Any]]]:
    store = Store(sqlite_url(str(db)))
    try:
        return [(record.id, record.doc) for record in store.alerts(rule=rule)]
    finally:
        store.close()


def list_jsonl(db: Path, *options: str) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["alerts", "list", "--db", str(db), "--format", "jsonl", *options])
    assert result.exit_code == 0, result.output
    return [orjson.loads(line) for line in result.stdout.splitlines()]


# --------------------------------------------------------------------------- alerts list


def test_list_shows_every_stored_alert_with_its_rule_host_and_score(db: Path) -> None:
    alerts = stored(db)
    assert len(alerts) > 3
    result = runner.invoke(app, ["alerts", "list", "--db", str(db)], env=WIDE)
    assert result.exit_code == 0, result.output
    assert f"alerts ({len(alerts)})" in result.output
    alert_id, doc = stored(db, REVERSE_SHELL)[0]
    (row,) = [line for line in result.output.splitlines() if line.startswith(f"│ {alert_id:>2} │")]
    for value in (doc["host.name"], str(doc["shellwatch.score"]), str(doc["rule.level"]), "/dev/tcp/"):
        assert value in row


def test_list_filters_by_score_rule_host_scan_and_limit(db: Path) -> None:
    everything = list_jsonl(db)
    assert [line["shellwatch.alert.id"] for line in everything] == [alert_id for alert_id, _ in stored(db)]
    high = list_jsonl(db, "--min-score", "80")
    assert high
    assert all(line["shellwatch.score"] >= 80 for line in high)
    assert len(high) == len([line for line in everything if line["shellwatch.score"] >= 80])
    reverse = list_jsonl(db, "--rule", "reverse shell")
    assert [line["rule.name"] for line in reverse] == [
        line["rule.name"] for line in everything if "reverse shell" in line["rule.name"].lower()
    ]
    assert reverse
    by_id = list_jsonl(db, "--rule", reverse[0]["rule.id"])
    assert [line["shellwatch.alert.id"] for line in by_id] == [
        line["shellwatch.alert.id"] for line in reverse
    ]
    assert {line["host.name"] for line in list_jsonl(db, "--host", "web01")} == {"web01"}
    assert len(list_jsonl(db, "--limit", "2")) == 2
    assert list_jsonl(db, "--scan", "1") == everything
    assert list_jsonl(db, "--scan", "99") == []


def test_list_says_when_the_limit_cut_the_list(db: Path) -> None:
    result = runner.invoke(app, ["alerts", "list", "--db", str(db), "--limit", "1"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "alerts (first 1; --limit shows more)" in result.output


def test_store_lists_newest_scan_first_in_time_order(tmp_path: Path) -> None:
    store = Store(sqlite_url(str(tmp_path / "sw.db")))
    try:
        old, new = store.begin_scan(["a"]), store.begin_scan(["b"])
        alert = {"rule.id": "r1", "rule.name": "Odd 100% Shell", "host.name": "h1"}
        store.add_alerts(old, [{**alert, "@timestamp": "2024-01-01T00:00:00Z", "shellwatch.score": 90}])
        store.add_alerts(
            new,
            [
                {**alert, "@timestamp": "2024-01-03T00:00:00Z", "shellwatch.score": 10},
                {**alert, "@timestamp": "2024-01-02T00:00:00Z", "rule.name": "Other"},
            ],
        )
        records = store.alerts()
        assert [(record.scan_id, record.doc["@timestamp"][:10]) for record in records] == [
            (new, "2024-01-02"),
            (new, "2024-01-03"),
            (old, "2024-01-01"),
        ]
        assert [record.scan_id for record in store.alerts(min_score=90)] == [old]
        assert len(store.alerts(rule="100%")) == 2
        assert store.alerts(rule="1_0%") == []
        assert store.alerts(scan_id=old, limit=5)[0].doc["shellwatch.score"] == 90
        found = store.alert(records[0].id)
        assert found == records[0]
        assert store.alert(999) is None
    finally:
        store.close()


# --------------------------------------------------------------------------- alerts show


def test_show_draws_the_lineage_the_children_and_the_context(db: Path) -> None:
    alert_id, doc = stored(db, REVERSE_SHELL)[0]
    result = runner.invoke(app, ["alerts", "show", str(alert_id), "--db", str(db)], env=WIDE)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    nearest = f"pid {doc['shellwatch.process.ancestry.pid'][0]}  {doc['process.parent.executable']}"
    farther = f"pid {doc['shellwatch.process.ancestry.pid'][1]}  "
    process = f"pid {doc['process.pid']}  {doc['process.executable']}"
    child = f"pid {doc['shellwatch.process.children.pid'][0]}  "
    texts = (farther, nearest, process, child)
    order = [line_of(lines, text) for text in texts]
    assert order == sorted(order)
    indents = [indent_of(lines[index], text) for index, text in zip(order, texts, strict=True)]
    assert indents == sorted(indents) and len(set(indents)) == 4
    assert "◀ alert" in lines[order[2]]
    assert doc["shellwatch.process.children.command_line"][0] in lines[order[3]]
    output = result.output
    for text in ("session", "failed logins before", str(doc["shellwatch.session.failures_before"])):
        assert text in output
    assert doc["process.entry_meta.source.ip"] in output
    assert "network connections" in output and "4444" in output and "zeek.conn" in output
    assert "T1059.004 Command and Scripting Interpreter: Unix Shell" in output
    assert "other fields" in output and "auditd.data.syscall" in output
    assert "allowlist" not in output, "a section with no data is left out"


def test_show_json_prints_the_stored_document(db: Path) -> None:
    alert_id, doc = stored(db)[0]
    result = runner.invoke(app, ["alerts", "show", str(alert_id), "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout) == doc


def test_show_unknown_id_names_the_id_and_the_database(db: Path) -> None:
    result = runner.invoke(app, ["alerts", "show", "12345", "--db", str(db)])
    assert isinstance(result.exception, ShellwatchError)
    assert "12345" in str(result.exception)
    assert str(db) in str(result.exception)


def test_show_unknown_id_exits_with_status_2(tmp_path: Path) -> None:
    Store(sqlite_url(str(tmp_path / "empty.db"))).close()
    completed = subprocess.run(
        [sys.executable, "-m", "shellwatch", "alerts", "show", "7", "--db", "empty.db"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert completed.returncode == 2
    assert "no alert with id 7 in sqlite:///empty.db" in completed.stderr


def test_a_missing_database_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    result = runner.invoke(app, ["alerts", "list", "--db", str(missing)])
    assert isinstance(result.exception, ShellwatchError)
    assert str(missing) in str(result.exception)
    assert not missing.exists()


# --------------------------------------------------------------------------- the renderers

BUILT: dict[str, Any] = {
    "@timestamp": "2024-05-01T10:00:00.000000Z",
    "host.name": "web01",
    "rule.name": "Test Rule",
    "rule.level": "high",
    "shellwatch.score": 70,
    "process.pid": 40,
    "process.executable": "/usr/bin/bash",
    "process.command_line": "bash -i",
    "shellwatch.process.ancestry.pid": [30, 20, 10],
    "shellwatch.process.ancestry.executable": ["/usr/bin/dash", "/usr/sbin/sshd", "/sbin/init"],
    "shellwatch.process.ancestry.command_line": ["sh -c x", "sshd: alice", ""],
    "shellwatch.process.ancestry.entity_id": ["e30", "e20", "e10"],
    "shellwatch.process.children.pid": [50, 60, 70],
    "shellwatch.process.children.executable": ["/usr/bin/curl", "/usr/bin/sleep", "/usr/bin/id"],
    "shellwatch.process.children.command_line": ["curl http://x", "sleep 1", "id"],
    "shellwatch.process.children.depth": [1, 2, 1],
}


def test_tree_runs_from_the_farthest_ancestor_down_to_the_children_by_depth() -> None:
    lines = render(process_tree(BUILT)).splitlines()
    texts = ["pid 10  /sbin/init", "pid 20  /usr/sbin/sshd", "pid 30  /usr/bin/dash", "pid 40  /usr/bin/bash"]
    texts += ["pid 50  /usr/bin/curl", "pid 60  /usr/bin/sleep", "pid 70  /usr/bin/id"]
    assert [line_of(lines, text) for text in texts] == list(range(7))
    indents = [indent_of(lines[number], text) for number, text in enumerate(texts)]
    init, sshd, dash, bash, curl, sleep, ident = indents
    assert init == 0
    assert init < sshd < dash < bash < curl < sleep
    assert ident == curl, "both children at depth 1 hang off the alerting process"
    assert "◀ alert" in lines[3]
    assert "◀ alert" not in "".join(lines[:3] + lines[4:])
    assert "sshd: alice" in lines[1]
    assert "curl http://x" in lines[4]


def test_tree_without_ancestry_uses_the_parent_and_grandparent() -> None:
    alert = {
        "process.pid": 3,
        "process.executable": "/bin/sh",
        "process.parent.pid": 2,
        "process.parent.executable": "/usr/sbin/apache2",
        "process.parent.parent.pid": 1,
        "process.parent.parent.executable": "/sbin/init",
    }
    lines = render(process_tree(alert)).splitlines()
    assert [line.strip(" │├└─") for line in lines] == [
        "pid 1  /sbin/init",
        "pid 2  /usr/sbin/apache2",
        "pid 3  /bin/sh  ◀ alert",
    ]


def test_a_lone_process_is_the_root() -> None:
    output = render(process_tree({"process.pid": 7, "process.executable": "/bin/sh"}))
    assert output.splitlines() == ["pid 7  /bin/sh  ◀ alert"]


def test_log_text_is_never_markup_nor_terminal_control() -> None:
    alert = {**BUILT, "process.command_line": "bash -c '[bold]x[/bold]' \x1b[2J", "user.name": "[red]eve"}
    output = render(alert_view(alert))
    assert "[bold]x[/bold]" in output
    assert "[red]eve" in output
    assert "\x1b" not in output
    assert "\\x1b[2J" in output


def test_every_field_is_shown_in_its_section_or_under_other_fields() -> None:
    alert = {
        **BUILT,
        "shellwatch.session.source_port": 51514,
        "shellwatch.session.method": "publickey",
        "process.entry_meta.type": "sshd",
        "process.tty.name": "pts/1",
        "shellwatch.intel.matched": True,
        "shellwatch.intel.indicator": ["203.0.113.9"],
        "shellwatch.intel.source": ["feed.csv"],
        "shellwatch.intel.confidence": "high",
        "shellwatch.enrich.errors": ["intel: OSError: boom"],
        "vendor.custom": "zz-unmapped",
    }
    output = render(alert_view(alert))
    titles = ["process tree", "session", "threat intel", "enrichment errors", "other fields"]
    positions = [output.index(f"─ {title} ─") for title in titles]
    assert positions == sorted(positions)
    session = output[positions[1] : positions[2]]
    for text in ("remote port", "51514", "login method", "publickey", "entry type", "tty", "pts/1"):
        assert text in session
    intel = output[positions[2] : positions[3]]
    assert "203.0.113.9" in intel and "feed.csv" in intel
    assert "shellwatch.intel.confidence" in intel, "an unnamed key under a section's prefix stays there"
    assert "intel: OSError: boom" in output[positions[3] : positions[4]]
    assert "vendor.custom" in output[positions[4] :] and "zz-unmapped" in output[positions[4] :]
    for absent in ("network connections", "allowlist", "reputation", "ATT&CK"):
        assert f"─ {absent} ─" not in output
