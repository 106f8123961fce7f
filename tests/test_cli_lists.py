"""`shellwatch intel | reputation | allowlist`, and scans that use the team's lists."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from shellwatch.cli import app
from shellwatch.events import Alert
from tests.conftest import FIXTURES

runner = CliRunner()
LISTS = FIXTURES / "enrich"
INTEL_RULES = {
    "20cec6ea-f831-4982-b773-d5709051e2f9",  # interpreter connects to a listed address
    "08873aaf-6a4e-498f-8735-8b051d66b322",  # shell command line names a listed indicator
}


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELLWATCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("VT_API_KEY", raising=False)
    monkeypatch.delenv("SHELLWATCH_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


def _alerts(output: str) -> list[Alert]:
    return [orjson.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_intel_check_counts_indicators_and_names_each_malformed_line() -> None:
    result = runner.invoke(app, ["intel", "check", str(LISTS / "intel" / "intel.csv")])
    assert result.exit_code == 1
    assert "intel.csv: line 6" in result.output  # not-an-ip
    assert "distinct indicators" in result.output


def test_intel_lookup_answers_per_value() -> None:
    feed = str(LISTS / "intel" / "intel.csv")
    result = runner.invoke(app, ["intel", "lookup", "10.66.3.4", "192.0.2.1", "--intel", feed])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0] == {
        "value": "10.66.3.4",
        "matched": True,
        "indicator": "10.66.0.0/16",
        "type": "cidr",
        "source": "intel.csv",
        "description": "red team lab range",
    }
    assert rows[1] == {"value": "192.0.2.1", "matched": False}
    missing = runner.invoke(app, ["intel", "lookup", "192.0.2.1", "--intel", feed])
    assert missing.exit_code == 1


def test_reputation_import_then_lookup(tmp_path: Path) -> None:
    db = tmp_path / "hashes.db"
    imported = runner.invoke(
        app, ["reputation", "import", str(LISTS / "malwarebazaar_recent.csv"), "--hash-db", str(db)]
    )
    assert imported.exit_code == 0, imported.output
    assert "malwarebazaar" in imported.stdout
    assert "rows skipped" in imported.stdout
    digest = "c963c728bc81872944765f29f7bac58308da6f1f87735f8c4d4b5dea4deaba95"
    looked = runner.invoke(app, ["reputation", "lookup", digest, "00" * 16, "nothex", "--hash-db", str(db)])
    assert looked.exit_code == 0, looked.output
    known, unknown, bad = (json.loads(line) for line in looked.stdout.splitlines())
    assert known["known"] is True and known["verdict"] == "malicious"
    assert unknown == {"hash": "00" * 16, "known": False}
    assert bad["known"] is False and "not an MD5" in bad["error"]


def test_reputation_import_of_a_missing_file_fails_but_imports_the_others(tmp_path: Path) -> None:
    db = tmp_path / "hashes.db"
    result = runner.invoke(
        app,
        [
            *("reputation", "import", str(tmp_path / "nope.csv")),
            *(str(LISTS / "malwarebazaar_recent.csv"), "--hash-db", str(db)),
        ],
    )
    assert result.exit_code == 1
    assert "nope.csv" in result.output
    assert "malwarebazaar_recent.csv: malwarebazaar" in result.stdout


def test_allowlist_check_lists_entries_and_reports_invalid_ones() -> None:
    good = runner.invoke(app, ["allowlist", "check", str(LISTS / "allowlist" / "allowlist.yml")])
    assert good.exit_code == 0, good.output
    assert "entries, 0 invalid" in good.output
    bad = runner.invoke(app, ["allowlist", "check", str(LISTS / "allowlist" / "bad.yml")])
    assert bad.exit_code == 1
    assert "bad.yml:" in bad.output


def test_sample_scan_uses_the_sample_team_lists(tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", "--sample", "--db", str(tmp_path / "s.db"), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    alerts = _alerts(result.stdout)
    assert {alert["rule.id"] for alert in alerts} >= INTEL_RULES
    reverse = next(a for a in alerts if a["rule.name"].startswith("Reverse Shell Through /dev/tcp"))
    # identity export: uid 1001 is deploy, in the sudo group
    assert reverse["user.name"] == "deploy"
    assert reverse["shellwatch.user.privilege"] == "admin"
    # intel raised the score, and the alert says why
    assert reverse["shellwatch.score_reasons"] == ["user: +10", "intel: +25"]
    assert reverse["threat.technique.subtechnique.name"] == ["Unix Shell"]


def test_scan_without_feeds_raises_no_intel_alert(tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("[enrich]\n")
    result = runner.invoke(
        app, ["scan", "--sample", "--config", str(empty), "--db", str(tmp_path / "s.db"), "--format", "jsonl"]
    )
    assert result.exit_code == 0, result.output
    alerts = _alerts(result.stdout)
    assert alerts
    assert not INTEL_RULES & {alert["rule.id"] for alert in alerts}
    assert not any("shellwatch.intel.matched" in alert for alert in alerts)


def test_scan_options_feed_the_enrichers(tmp_path: Path) -> None:
    feed = tmp_path / "c2.csv"
    feed.write_text("indicator,description\n203.0.113.50,test listener\n")
    allow = tmp_path / "allow.yaml"
    allow.write_text(
        "- reason: lab exercise\n  owner: soc@example.org\n  expires: 2099-01-01\n"
        "  command_line: 'bash -c bash -i >& /dev/tcp/*'\n"
    )
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    result = runner.invoke(
        app,
        [
            *("scan", "--sample", "--config", str(empty), "--intel", str(feed), "--allowlist", str(allow)),
            *("--db", str(tmp_path / "s.db"), "--format", "jsonl"),
        ],
    )
    assert result.exit_code == 0, result.output
    reverse = next(a for a in _alerts(result.stdout) if a["rule.name"].startswith("Reverse Shell Through"))
    assert reverse["shellwatch.intel.description"] == ["test listener"]
    assert reverse["shellwatch.allowlist.matched"] is True
    assert reverse["shellwatch.score_reasons"] == ["intel: +25", "allowlist: -40"]


def test_bad_settings_file_stops_the_scan_with_its_name(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[enrich]\nallowlist = 3\n")
    result = runner.invoke(app, ["scan", "--sample", "--config", str(bad), "--db", str(tmp_path / "s.db")])
    assert result.exit_code != 0
    assert "bad.toml" in str(result.exception)
