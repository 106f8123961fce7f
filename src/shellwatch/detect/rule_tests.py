"""Rules tested against the events beside them, and the ATT&CK coverage of a rule set.

A rule file ``X.yml`` may have ``X.tests.yml`` beside it with ``true_positives`` and ``true_negatives``:
flat ECS events as the readers emit them; for a correlation rule each item is a list of events in time
order (a scenario). :func:`run_rule_tests` runs every such file through the real detection stage and
returns every failure, so one run shows all there is to fix.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shellwatch.detect.load import rule_files
from shellwatch.detect.ruleset import RuleSet
from shellwatch.detect.stage import DetectionStage
from shellwatch.events import Event

TESTS_SUFFIX = ".tests.yml"
KINDS = (("true_positives", True), ("true_negatives", False))


@dataclass(frozen=True, slots=True)
class RuleTestResult:
    path: Path
    rule_id: str
    title: str
    cases: int
    failures: tuple[str, ...]


def tests_path(rule: Path) -> Path:
    return rule.with_name(rule.name.removesuffix(".yml").removesuffix(".yaml") + TESTS_SUFFIX)


def run_rule_tests(paths: Iterable[Path], builtin: bool = False) -> list[RuleTestResult]:
    """Every rule of ``paths`` (and the built-in pack) that has a tests file, run against it."""
    ruleset = RuleSet.build(list(paths), builtin=builtin)
    files, _ = rule_files(list(paths) + ([_builtin()] if builtin else []))
    by_id = {rule.meta.id: rule.meta for rule in ruleset.rules}
    correlation_ids = {str(rule.id): rule.title for rule in ruleset.correlations}
    results = []
    for path in files:
        tests = tests_path(path)
        if not tests.exists():
            continue
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        rule_id = str(document.get("id", ""))
        title = by_id[rule_id].title if rule_id in by_id else correlation_ids.get(rule_id, path.stem)
        try:
            cases = yaml.safe_load(tests.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            line = f":{where.line + 1}" if where is not None else ""
            problem = getattr(exc, "problem", None) or exc
            results.append(
                RuleTestResult(path, rule_id, title, 0, (f"{tests.name}{line}: not YAML: {problem}",))
            )
            continue
        known = rule_id in by_id or rule_id in correlation_ids
        failures = tuple(_failures(ruleset, rule_id, cases, known=known))
        count = sum(len(cases.get(kind) or []) for kind, _ in KINDS)
        results.append(RuleTestResult(path, rule_id, title, count, failures))
    return results


def _builtin() -> Path:
    from shellwatch.detect.ruleset import builtin_rules_dir

    found = builtin_rules_dir()
    if found is None:
        raise FileNotFoundError("the built-in rule pack is not installed")
    return found


def _failures(ruleset: RuleSet, rule_id: str, cases: dict[str, Any], *, known: bool) -> Iterator[str]:
    if not known:
        yield "the rule did not load (see `shellwatch rules list --errors`)"
        return
    for kind, expected in KINDS:
        for number, case in enumerate(cases.get(kind) or []):
            scenario: list[Event] = case if isinstance(case, list) else [case]
            if _fires(ruleset, rule_id, scenario) is not expected:
                verb = "missed" if expected else "fired on"
                yield f"{verb} {kind}[{number}]: {_summary(scenario[-1])}"


def _fires(ruleset: RuleSet, rule_id: str, scenario: list[Event]) -> bool:
    """Whether the rule raises an alert, or feeds a correlation that does, on the scenario."""
    stage = DetectionStage.from_ruleset(ruleset)
    alerts = [alert for event in scenario for alert in stage.process(event)] + stage.flush()
    if any(alert.get("rule.id") == rule_id for alert in alerts):
        return True
    # A base rule silenced by its correlation still matches: that is what its own tests check.
    return any(match.rule.id == rule_id for event in scenario for match in stage.detector.matches(event))


def _summary(event: Event) -> str:
    text = event.get("process.command_line") or event.get("powershell.file.script_block_text") or event
    return str(text)[:160]


@dataclass(frozen=True, slots=True)
class CoverageRow:
    technique: str
    platforms: dict[str, int]
    """Number of rules per platform (Sigma ``product``; ``any`` when the rule names none)."""


def coverage(ruleset: RuleSet) -> list[CoverageRow]:
    """ATT&CK techniques the rule set covers, with the number of rules per platform."""
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for rule in ruleset.rules:
        platform = rule.meta.logsource.product or "any"
        for technique in rule.meta.techniques:
            table[technique][platform] += 1
    return [
        CoverageRow(technique, dict(sorted(platforms.items())))
        for technique, platforms in sorted(table.items())
    ]
