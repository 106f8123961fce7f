"""The built-in rule pack (``src/shellwatch/rules``): every rule well-formed and run against its events.

Each rule ``X.yml`` has ``X.tests.yml`` beside it with ``true_positives`` and ``true_negatives``: flat ECS
events as the readers emit them (for a correlation rule, each item is a list of events in time order). Every
test here collects all offenders and fails once with the full list, so one run shows everything to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule

import shellwatch
from shellwatch.detect.model import AlertCategory

RULES_DIR = Path(shellwatch.__file__).parent / "rules"
NAME = re.compile(r"^(windows|linux|macos|any)_[a-z0-9]+(_[a-z0-9]+)+\.yml$")
TECHNIQUE = re.compile(r"^attack\.t\d{4}(\.\d{3})?$")
GUIDE_SECTIONS = ("triage", "investigate", "escalate", "respond")
LEVELS = {"informational", "low", "medium", "high", "critical"}
MIN_EVENTS = 2


def rule_paths() -> list[Path]:
    return sorted(path for path in RULES_DIR.glob("*.yml") if not path.name.endswith(".tests.yml"))


def events_path(rule: Path) -> Path:
    return rule.with_name(rule.stem + ".tests.yml")


@cache
def read(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def is_correlation(path: Path) -> bool:
    return "correlation" in read(path)


def test_the_pack_is_not_empty() -> None:
    assert len(rule_paths()) >= 30, (
        f"{RULES_DIR}: expected the built-in pack, found {len(rule_paths())} rules"
    )


def test_every_rule_is_well_formed() -> None:
    problems: list[str] = []
    ids: dict[str, str] = {}
    for path in rule_paths():
        problems.extend(f"{path.name}: {problem}" for problem in _rule_problems(path, ids))
    assert not problems, "built-in rules with problems:\n" + "\n".join(problems)


def _rule_problems(path: Path, ids: dict[str, str]) -> Iterator[str]:
    if not NAME.match(path.name):
        yield "file name does not follow <windows|linux|macos|any>_<what>.yml"
    data = read(path)
    text = path.read_text(encoding="utf-8")
    collection = SigmaCollection.from_yaml(text, collect_errors=True, resolve_references=False)
    for error in collection.errors:
        yield f"pySigma: {error}"
    for rule in collection.rules:
        for error in rule.errors:
            yield f"pySigma: {error}"
    rule_id = str(data.get("id", ""))
    if not rule_id:
        yield "no id"
    elif rule_id in ids:
        yield f"id {rule_id} also used by {ids[rule_id]}"
    ids[rule_id] = path.name
    yield from _metadata_problems(data)
    yield from _guide_problems(data.get("guide"))
    yield from _tests_file_problems(path)


def _metadata_problems(data: dict[str, Any]) -> Iterator[str]:
    for key in ("title", "status", "description", "references", "author", "date", "falsepositives", "level"):
        if not data.get(key):
            yield f"missing {key}"
    if data.get("status") not in ("stable", "test"):
        yield f"status {data.get('status')!r} is not stable or test"
    if data.get("level") not in LEVELS:
        yield f"level {data.get('level')!r} is not a Sigma level"
    if data.get("author") != "shellwatch":
        yield "author is not shellwatch"
    if not any(TECHNIQUE.match(str(tag)) for tag in data.get("tags") or ()):
        yield "no ATT&CK technique tag (attack.tNNNN[.NNN])"
    if "correlation" not in data and "logsource" not in data:
        yield "no logsource"
    category = (data.get("shellwatch") or {}).get("category")
    if category not in {member.value for member in AlertCategory}:
        yield f"shellwatch.category {category!r} is not one of the six playbook alerts"


def _guide_problems(guide: Any) -> Iterator[str]:
    if not isinstance(guide, dict):
        yield "no guide"
        return
    for section in GUIDE_SECTIONS:
        items = guide.get(section)
        if not items or not all(isinstance(item, str) and item.strip() for item in items):
            yield f"guide.{section} is missing or not a list of strings"


def _tests_file_problems(path: Path) -> Iterator[str]:
    tests = events_path(path)
    if not tests.exists():
        yield f"no tests file {tests.name}"
        return
    data = read(tests) or {}
    for key in ("true_positives", "true_negatives"):
        items = data.get(key) or []
        if len(items) < MIN_EVENTS:
            yield f"{tests.name}: {key} has {len(items)} item(s), at least {MIN_EVENTS} needed"
        for number, item in enumerate(items):
            for event in item if is_correlation(path) else [item]:
                if not _is_flat_event(event):
                    yield f"{tests.name}: {key}[{number}] is not a flat ECS event with @timestamp"


def _is_flat_event(event: Any) -> bool:
    if not isinstance(event, dict) or "@timestamp" not in event:
        return False
    return all(isinstance(value, (str, int, float, bool, list)) for value in event.values())


def test_correlations_refer_to_rules_of_the_pack() -> None:
    names = {read(path).get("name") for path in rule_paths()} | {
        str(read(path).get("id")) for path in rule_paths()
    }
    problems = [
        f"{path.name}: refers to unknown rule {reference!r}"
        for path in rule_paths()
        if is_correlation(path)
        for reference in read(path)["correlation"].get("rules", ())
        if reference not in names
    ]
    assert not problems, "\n".join(problems)


# -- every rule against its events, through the real engine -----------------------------------------------


def _engine() -> Any:
    try:
        from shellwatch.detect.engine import Detector
        from shellwatch.detect.ruleset import RuleSet
    except ImportError as error:  # the engine is written in parallel; only its absence may skip
        pytest.skip(f"Sigma engine not importable yet: {error}")
    ruleset = RuleSet.build(rule_paths(), builtin=False, use_cache=False)
    return ruleset, Detector(ruleset)


def test_the_pack_directory_loads_as_rules_only() -> None:
    """The pack loads as a directory, as RuleSet.build loads the built-in pack: tests files are no rules."""
    try:
        from shellwatch.detect.load import load_rules
    except ImportError as error:
        pytest.skip(f"Sigma loader not importable yet: {error}")
    errors = [f"{error.location()}: {error.reason}" for error in load_rules([RULES_DIR]).errors]
    assert not errors, "loading the rules directory gave errors:\n" + "\n".join(errors)


def test_every_rule_matches_its_true_positives_and_none_of_its_true_negatives() -> None:
    ruleset, detector = _engine()
    failures = [f"{error.location()}: does not compile: {error.reason}" for error in ruleset.errors]
    compiled = {rule.meta.id for rule in ruleset.rules}
    for path in rule_paths():
        if is_correlation(path):
            continue
        rule_id = str(read(path)["id"])
        if rule_id not in compiled:
            failures.append(f"{path.name}: not in the compiled rule set")
            continue
        failures.extend(f"{path.name}: {failure}" for failure in _event_failures(detector, rule_id, path))
    assert not failures, f"{len(failures)} rule test failure(s):\n" + "\n".join(failures)


def _event_failures(detector: Any, rule_id: str, path: Path) -> Iterator[str]:
    tests = read(events_path(path))
    for expected, key in ((True, "true_positives"), (False, "true_negatives")):
        for number, event in enumerate(tests[key]):
            fired = any(match.rule.id == rule_id for match in detector.matches(event))
            if fired is not expected:
                verb = "missed" if expected else "fired on"
                yield f"{verb} {key}[{number}]: {_summary(event)}"


def _summary(event: dict[str, Any]) -> str:
    text = event.get("process.command_line") or event.get("powershell.file.script_block_text") or event
    return str(text)[:160]


def test_every_correlation_rule_fires_on_its_scenarios() -> None:
    ruleset, detector = _engine()
    try:
        from shellwatch.detect.correlate import Correlator, CorrelatorSettings
    except ImportError as error:
        pytest.skip(f"correlation engine (shellwatch.detect.correlate) not importable yet: {error}")
    resolve = {rule.meta.id: rule.meta for rule in ruleset.rules}
    resolve.update({rule.name: rule.meta for rule in ruleset.rules if rule.name})
    correlations = {
        str(rule.id): rule for rule in ruleset.correlations if isinstance(rule, SigmaCorrelationRule)
    }
    failures: list[str] = []
    for path in rule_paths():
        if not is_correlation(path):
            continue
        rule_id = str(read(path)["id"])
        if rule_id not in correlations:
            failures.append(f"{path.name}: not among the rule set's correlations")
            continue
        tests = read(events_path(path))
        for expected, key in ((True, "true_positives"), (False, "true_negatives")):
            for number, scenario in enumerate(tests[key]):
                correlator = Correlator([correlations[rule_id]], resolve, CorrelatorSettings(lateness=None))
                matches = [match for event in scenario for match in detector.matches(event)]
                fired = any(alert.get("rule.id") == rule_id for alert in correlator.run(matches))
                if fired is not expected:
                    failures.append(f"{path.name}: {'missed' if expected else 'fired on'} {key}[{number}]")
    assert not failures, f"{len(failures)} correlation test failure(s):\n" + "\n".join(failures)
