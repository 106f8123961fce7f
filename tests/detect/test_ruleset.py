"""The rule set: pipeline, routing by log source, the on-disk cache, and the detector on top."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sigma.rule import SigmaRule

from shellwatch.detect.engine import Detector
from shellwatch.detect.model import LogSource
from shellwatch.detect.ruleset import RuleSet, identity_pipeline
from shellwatch.events import Event

LINUX = """\
title: Linux whoami
id: aaaaaaaa-0000-4000-8000-000000000001
name: linux_whoami
logsource:
  category: process_creation
  product: linux
detection:
  sel:
    process.command_line|contains: whoami
  condition: sel
level: medium
tags: [attack.t1033]
shellwatch:
  category: chained-commands
"""

WINDOWS = LINUX.replace("Linux whoami", "Windows whoami").replace(
    "0000-4000-8000-000000000001", "0000-4000-8000-000000000002"
)
WINDOWS = WINDOWS.replace("product: linux", "product: windows").replace(
    "name: linux_whoami", "name: win_whoami"
)

CORRELATION = """\
title: whoami storm
id: aaaaaaaa-0000-4000-8000-0000000000c1
correlation:
  type: event_count
  rules: [linux_whoami]
  group-by: [host.name]
  timespan: 1m
  condition: {gte: 2}
"""


def router(event: Event) -> tuple[LogSource, ...]:
    product = event.get("host.os.type")
    return (LogSource("process_creation", str(product)),) if event.get("event.code") == "exec" else ()


def linux_event(command: str = "whoami") -> Event:
    return {"event.code": "exec", "host.os.type": "linux", "process.command_line": command, "host.name": "h1"}


def build(rules: Path, cache: Path, **kwargs: object) -> RuleSet:
    return RuleSet.build(
        [rules], builtin=False, pipeline=identity_pipeline, router=router, cache_directory=cache, **kwargs
    )  # type: ignore[arg-type]


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "linux.yml").write_text(LINUX)
    (directory / "windows.yml").write_text(WINDOWS)
    return directory


def test_routing_sends_events_to_their_log_source_only(rules_dir: Path, tmp_path: Path) -> None:
    ruleset = build(rules_dir, tmp_path / "cache")
    assert [rule.meta.title for rule in ruleset.evaluate(linux_event())] == ["Linux whoami"]
    windows = dict(linux_event(), **{"host.os.type": "windows"})
    assert [rule.meta.title for rule in ruleset.evaluate(windows)] == ["Windows whoami"]
    assert ruleset.evaluate(dict(linux_event(), **{"event.code": "other"})) == []
    assert ruleset.evaluate(linux_event("id")) == []


def test_cache_is_written_reused_and_invalidated(rules_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = build(rules_dir, cache)
    assert not first.info.from_cache
    assert first.info.cache_path is not None and first.info.cache_path.exists()
    second = build(rules_dir, cache)
    assert second.info.from_cache
    assert [rule.meta for rule in second.rules] == [rule.meta for rule in first.rules]
    assert [rule.condition for rule in second.rules] == [rule.condition for rule in first.rules]
    assert len(second.evaluate(linux_event())) == 1
    path = rules_dir / "linux.yml"
    path.write_text(LINUX.replace("whoami", "hostname"))
    os.utime(path, ns=(1, 1))
    third = build(rules_dir, cache)
    assert not third.info.from_cache
    assert third.evaluate(linux_event()) == []
    assert len(third.evaluate(linux_event("hostname"))) == 1


def test_cache_directory_from_the_environment(
    rules_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHELLWATCH_CACHE_DIR", str(tmp_path / "env-cache"))
    ruleset = RuleSet.build([rules_dir], builtin=False, pipeline=identity_pipeline, router=router)
    assert ruleset.info.cache_path is not None
    assert ruleset.info.cache_path.parent == tmp_path / "env-cache"
    assert ruleset.info.cache_path.name.startswith("rules-")


def test_unreadable_cache_is_rebuilt(rules_dir: Path, tmp_path: Path) -> None:
    first = build(rules_dir, tmp_path / "cache")
    assert first.info.cache_path is not None
    first.info.cache_path.write_bytes(b"not a pickle")
    again = build(rules_dir, tmp_path / "cache")
    assert not again.info.from_cache
    assert len(again) == 2


def test_no_cache(rules_dir: Path, tmp_path: Path) -> None:
    ruleset = build(rules_dir, tmp_path / "cache", use_cache=False)
    assert ruleset.info.cache_path is None
    assert not (tmp_path / "cache").exists()


def test_pipeline_is_applied_before_compiling(rules_dir: Path, tmp_path: Path) -> None:
    (rules_dir / "linux.yml").write_text(LINUX.replace("process.command_line", "CommandLine"))

    def to_ecs(rule: SigmaRule) -> SigmaRule:
        for detection in rule.detection.detections.values():
            for item in detection.detection_items:
                if getattr(item, "field", None) == "CommandLine":
                    item.field = "process.command_line"  # type: ignore[union-attr]
        return rule

    ruleset = RuleSet.build(
        [rules_dir], builtin=False, pipeline=to_ecs, router=router, cache_directory=tmp_path / "c"
    )
    assert len(ruleset.evaluate(linux_event())) == 1


def test_detector_alerts_and_matches(rules_dir: Path, tmp_path: Path) -> None:
    detector = Detector(build(rules_dir, tmp_path / "cache"))
    event = linux_event("sh -c whoami")
    (alert,) = detector.match(event)
    assert alert["event.kind"] == "alert"
    assert alert["rule.id"] == "aaaaaaaa-0000-4000-8000-000000000001"
    assert alert["rule.name"] == "Linux whoami"
    assert alert["rule.level"] == "medium"
    assert alert["threat.technique.id"] == ["T1033"]
    assert alert["shellwatch.category"] == "chained-commands"
    assert alert["process.command_line"] == "sh -c whoami"
    assert "event.kind" not in event
    (match,) = detector.matches(event)
    assert match.rule.title == "Linux whoami"
    assert match.event is event


def test_correlation_without_generate_silences_the_base_rule(rules_dir: Path, tmp_path: Path) -> None:
    (rules_dir / "corr.yml").write_text(CORRELATION)
    ruleset = build(rules_dir, tmp_path / "cache")
    assert [c.title for c in ruleset.correlations] == ["whoami storm"]
    assert ruleset.names() == {
        "linux_whoami": "aaaaaaaa-0000-4000-8000-000000000001",
        "win_whoami": "aaaaaaaa-0000-4000-8000-000000000002",
    }
    detector = Detector(ruleset)
    assert detector.match(linux_event()) == []
    assert len(detector.matches(linux_event())) == 1
    cached = Detector(build(rules_dir, tmp_path / "cache"))
    assert cached.ruleset.info.from_cache
    assert cached.match(linux_event()) == []
    assert [c.title for c in cached.ruleset.correlations] == ["whoami storm"]


def test_empty_detector() -> None:
    assert Detector().match(linux_event()) == []
    assert Detector().matches(linux_event()) == []


def test_rule_errors_are_kept_in_the_ruleset(rules_dir: Path, tmp_path: Path) -> None:
    (rules_dir / "bad.yml").write_text("title: x\n  bad: [\n")
    ruleset = build(rules_dir, tmp_path / "cache")
    assert len(ruleset) == 2
    (error,) = ruleset.errors
    assert error.path.endswith("bad.yml")
    assert error.line is not None


def test_the_cache_keeps_only_the_newest_rule_sets(tmp_path: Path) -> None:

    from shellwatch.detect.ruleset import _prune_cache

    for number in range(20):
        entry = tmp_path / f"rules-{number:02d}.pickle"
        entry.write_bytes(b"x")
        os.utime(entry, (1_700_000_000 + number, 1_700_000_000 + number))
    (tmp_path / "other.txt").write_text("kept")
    _prune_cache(tmp_path, keep=3)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "other.txt",
        "rules-17.pickle",
        "rules-18.pickle",
        "rules-19.pickle",
    ]
