"""Condition forms and keyword searches, one by one."""

from __future__ import annotations

import pytest

from shellwatch.events import Event
from tests.detect._helpers import matches

CL = "process.command_line"
SELECTIONS = f"""\
selection_a:
  {CL}|contains: alpha
selection_b:
  {CL}|contains: beta
filter_c:
  {CL}|contains: gamma
"""

ALPHA: Event = {CL: "alpha"}
BETA: Event = {CL: "beta"}
BOTH: Event = {CL: "alpha beta"}
GAMMA: Event = {CL: "alpha gamma"}
NONE: Event = {CL: "delta"}


def rule(condition: str) -> str:
    return SELECTIONS + f"condition: {condition}"


CASES: list[tuple[str, Event, bool]] = [
    ("selection_a", ALPHA, True),
    ("selection_a", BETA, False),
    ("selection_a and selection_b", BOTH, True),
    ("selection_a and selection_b", ALPHA, False),
    ("selection_a or selection_b", BETA, True),
    ("selection_a or selection_b", NONE, False),
    ("not selection_a", BETA, True),
    ("not selection_a", ALPHA, False),
    ("selection_a and not filter_c", ALPHA, True),
    ("selection_a and not filter_c", GAMMA, False),
    ("1 of selection_*", BETA, True),
    ("1 of selection_*", NONE, False),
    ("any of selection_*", ALPHA, True),
    ("all of selection_*", BOTH, True),
    ("all of selection_*", ALPHA, False),
    ("1 of them", {CL: "gamma"}, True),
    ("1 of them", NONE, False),
    ("all of them", {CL: "alpha beta gamma"}, True),
    ("all of them", BOTH, False),
    ("1 of selection_* and not 1 of filter_*", BETA, True),
    ("1 of selection_* and not 1 of filter_*", GAMMA, False),
    ("not 1 of selection_*", NONE, True),
    ("not all of selection_*", ALPHA, True),
    ("not all of selection_*", BOTH, False),
    # precedence: not > and > or
    ("selection_a or selection_b and filter_c", ALPHA, True),
    ("selection_a or selection_b and filter_c", BETA, False),
    ("(selection_a or selection_b) and filter_c", {CL: "beta gamma"}, True),
    ("(selection_a or selection_b) and filter_c", ALPHA, False),
    ("not selection_a and selection_b", BETA, True),
    ("not (selection_a and selection_b)", BOTH, False),
    ("not (selection_a and selection_b)", ALPHA, True),
    ("((selection_a))", ALPHA, True),
]


@pytest.mark.parametrize(
    ("condition", "event", "expected"), CASES, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(CASES)]
)
def test_condition_forms(condition: str, event: Event, expected: bool) -> None:
    assert matches(rule(condition), event) is expected


def test_several_conditions_are_alternatives() -> None:
    detection = SELECTIONS + "condition:\n  - selection_a and filter_c\n  - selection_b"
    assert matches(detection, BETA)
    assert matches(detection, GAMMA)
    assert not matches(detection, ALPHA)


def test_fields_of_one_selection_are_anded() -> None:
    detection = f"sel:\n  {CL}|contains: whoami\n  process.parent.name: cmd.exe\ncondition: sel"
    assert matches(detection, {CL: "whoami", "process.parent.name": "CMD.exe"})
    assert not matches(detection, {CL: "whoami", "process.parent.name": "explorer.exe"})


def test_list_of_maps_is_ored() -> None:
    detection = f"sel:\n  - {CL}: a\n  - process.name: b\ncondition: sel"
    assert matches(detection, {"process.name": "B"})
    assert matches(detection, {CL: "a"})
    assert not matches(detection, {CL: "b"})


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({CL: "cmd /c WHOAMI /all"}, True),
        ({"message": "user ran whoami"}, True),
        ({"process.args": ["x", "whoami"]}, True),
        ({CL: "who am i"}, False),
        ({}, False),
    ],
)
def test_keywords_search_every_value(event: Event, expected: bool) -> None:
    assert matches("keywords:\n  - whoami\n  - 'net user'\ncondition: keywords", event) is expected


@pytest.mark.parametrize(
    "field", ["log.file.path", "shellwatch.log.format", "event.category", "event.dataset", "related.user"]
)
def test_keywords_skip_provenance_and_categorization(field: str) -> None:
    """Where an event was read from, and the ECS categories shellwatch set, are not the event's content."""
    detection = "keywords:\n  - mimikatz\ncondition: keywords"
    assert not matches(detection, {field: "/cases/mimikatz-run/security.evtx", CL: "whoami"})
    assert not matches(detection, {field: ["mimikatz"], CL: "whoami"})
    assert matches(detection, {field: "/cases/mimikatz-run/security.evtx", CL: "mimikatz.exe"})


def test_keyword_with_wildcards_and_numbers() -> None:
    detection = "keywords:\n  - 'mimi*katz'\n  - 4242\ncondition: keywords"
    assert matches(detection, {"message": "ran MIMI-x-KATZ.exe"})
    assert matches(detection, {"destination.port": 4242})
    assert not matches(detection, {"message": "mimi"})


def test_keywords_and_fields_combine() -> None:
    detection = "keywords:\n  - vssadmin\nsel:\n  process.name: cmd.exe\ncondition: keywords and not sel"
    assert matches(detection, {"process.name": "powershell.exe", CL: "vssadmin delete shadows"})
    assert not matches(detection, {"process.name": "cmd.exe", CL: "vssadmin delete shadows"})


def test_sigma_filter_applies_to_the_named_rule(tmp_path: object) -> None:
    from pathlib import Path

    from shellwatch.detect.load import load_rules
    from tests.detect._helpers import rule_yaml

    assert isinstance(tmp_path, Path)
    (tmp_path / "rule.yml").write_text(rule_yaml(f"sel:\n  {CL}|contains: whoami\ncondition: sel"))
    (tmp_path / "filter.yml").write_text(
        "title: not on the admin host\nid: 00000000-0000-4000-8000-0000000000f1\n"
        "logsource:\n  product: test\n"
        "filter:\n  rules:\n    - 00000000-0000-4000-8000-000000000001\n"
        "  admin:\n    host.name: adminbox\n  condition: not admin\n"
    )
    result = load_rules([tmp_path])
    assert result.errors == []
    assert len(result.filters) == 1
    from shellwatch.detect._matchers import build_matcher
    from shellwatch.detect._view import EventView
    from shellwatch.detect.compile import compile_rule

    (loaded,) = result.rules
    matcher = build_matcher(compile_rule(loaded.rule, loaded.meta).condition)
    assert matcher(EventView({CL: "whoami", "host.name": "web1"}))
    assert not matcher(EventView({CL: "whoami", "host.name": "ADMINBOX"}))
