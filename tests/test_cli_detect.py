"""Detection from the command line: alerts written, stored, and the exit status; the rules commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shellwatch.cli import app
from shellwatch.store.db import Store, StoredAlert, sqlite_url

runner = CliRunner()

RULE = """
title: Test rule, whoami anywhere
id: 0c5f9a3e-1d3b-4f7e-9a51-1b2c3d4e5f60
status: test
logsource: {category: process_creation, product: linux}
detection:
    selection: {CommandLine|contains: whoami}
    condition: selection
level: low
tags: [attack.discovery, attack.t1033]
"""


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELLWATCH_CACHE_DIR", str(tmp_path / "cache"))


def _scan(tmp_path: Path, *args: str) -> tuple[int, str, Path]:
    db = tmp_path / "sw.db"
    result = runner.invoke(app, ["scan", "--db", str(db), "--dead-letter", str(tmp_path / "dl.jsonl"), *args])
    return result.exit_code, result.output, db


def test_sample_scan_writes_ecs_alerts_to_a_file_and_the_database(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    code, output, db = _scan(tmp_path, "--sample", "--format", "jsonl", "-o", str(out))
    assert code == 0, output
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    names = {alert["rule.name"] for alert in alerts}
    assert "Reverse Shell Through /dev/tcp or /dev/udp on Linux" in names
    assert "Office Application Spawns a Shell or Script Host" in names
    categories = {alert.get("shellwatch.category") for alert in alerts}
    assert {
        "reverse-shell",
        "unusual-shell",
        "obfuscated-cli",
        "service-shell",
        "chained-commands",
    } <= categories
    for alert in alerts:
        assert alert["event.kind"] == "alert"
        assert alert["rule.id"] and alert["rule.level"] and alert["@timestamp"]
        assert isinstance(alert["threat.technique.id"], list) and alert["threat.technique.id"]
        assert alert["log.file.path"].startswith(str(Path(__file__).parents[1] / "src"))
    store = Store(sqlite_url(str(db)))
    try:
        assert store.count(StoredAlert) == len(alerts)
    finally:
        store.close()


def test_exit_status_is_zero_with_alerts_unless_fail_on_alert(tmp_path: Path) -> None:
    code, output, _ = _scan(tmp_path, "--sample", "--format", "jsonl", "-o", str(tmp_path / "a.jsonl"))
    assert code == 0, output
    code, output, _ = _scan(tmp_path, "--sample", "--fail-on-alert", "-o", str(tmp_path / "b.jsonl"))
    assert code == 1, output


def test_no_builtin_rules_and_added_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "whoami.yml").write_text(RULE)
    out = tmp_path / "alerts.jsonl"
    code, output, _ = _scan(tmp_path, "--sample", "--no-builtin-rules", "--rules", str(rules), "-o", str(out))
    assert code == 0, output
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert {alert["rule.name"] for alert in alerts} == {"Test rule, whoami anywhere"}
    assert all(alert["threat.technique.id"] == ["T1033"] for alert in alerts)
    assert len(alerts) == 1  # the auditd whoami; history commands are not process creations


def test_table_format_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "alerts.txt"
    code, output, _ = _scan(tmp_path, "--sample", "--format", "table", "-o", str(out))
    assert code == 0, output
    text = out.read_text()
    assert "alerts (" in text and "reverse-shell" in text


def test_rules_list_shows_the_pack_and_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("title: broken\nlogsource: {product: linux}\ndetection: {condition: selection}\n")
    result = runner.invoke(app, ["rules", "list", "--rules", str(bad), "--errors"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "Office Application Spawns a Shell" in result.output
    assert "bad.yml" in result.output


def test_rules_test_runs_the_pack_and_fails_on_a_broken_rule(tmp_path: Path) -> None:
    result = runner.invoke(app, ["rules", "test"])
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "whoami.yml").write_text(RULE)
    (rules / "whoami.tests.yml").write_text(
        "true_positives:\n- {event.module: auditd, event.category: [process], event.type: [start],"
        " host.os.type: linux, event.action: executed, process.command_line: id}\ntrue_negatives: []\n"
    )
    result = runner.invoke(app, ["rules", "test", "--no-builtin-rules", "--rules", str(rules)])
    assert result.exit_code == 1
    assert "missed true_positives[0]" in result.output


def test_rules_test_reports_a_tests_file_that_is_not_yaml(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "whoami.yml").write_text(RULE)
    (rules / "whoami.tests.yml").write_text("true_positives:\n- process.command_line: a: b\n")
    result = runner.invoke(app, ["rules", "test", "--no-builtin-rules", "--rules", str(rules)])
    assert result.exit_code == 1
    assert "whoami.tests.yml:2: not YAML" in result.output


def test_rules_coverage_lists_techniques_per_platform() -> None:
    result = runner.invoke(app, ["rules", "coverage"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "T1059.004" in result.output and "linux" in result.output and "windows" in result.output
