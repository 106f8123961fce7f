"""Loading rule files: metadata kept, every problem listed with file and line, the others loaded."""

from __future__ import annotations

from pathlib import Path

from shellwatch.detect.load import load_rules
from shellwatch.detect.model import LogSource

GOOD = """\
title: Good rule
id: 11111111-1111-4111-8111-111111111111
name: good_rule
status: test
description: finds whoami
references:
  - https://example.org/whoami
tags:
  - attack.execution
  - attack.t1059.004
  - attack.T1033
  - cve.2021-44228
logsource:
  category: process_creation
  product: linux
detection:
  sel:
    process.command_line|contains: whoami
  condition: sel
falsepositives:
  - admins
level: high
shellwatch:
  category: chained-commands
guide:
  check: who ran it
"""

YAML_ERROR = """\
title: Broken YAML
logsource:
  product: linux
detection:
  sel:
    a: [unclosed
  condition: sel
"""

BAD_MODIFIER = """\
title: Bad modifier
id: 22222222-2222-4222-8222-222222222222
logsource:
  product: linux
detection:
  sel:
    process.name: bash
    process.command_line|containz: whoami
  condition: sel
"""

NO_DETECTION = """\
title: No detection
id: 33333333-3333-4333-8333-333333333333
logsource:
  product: linux
level: low
"""

BAD_CONDITION = """\
title: Bad condition
id: 44444444-4444-4444-8444-444444444444
logsource:
  product: linux
detection:
  sel:
    process.name: bash
  condition: sel and missing
"""

CORRELATION = """\
title: Many whoami
id: 55555555-5555-4555-8555-555555555555
correlation:
  type: event_count
  rules:
    - good_rule
  group-by:
    - host.name
  timespan: 5m
  condition:
    gte: 3
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_metadata_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path, "good.yml", GOOD)
    result = load_rules([path])
    assert result.errors == []
    (loaded,) = result.rules
    meta = loaded.meta
    assert meta.id == "11111111-1111-4111-8111-111111111111"
    assert meta.title == "Good rule"
    assert meta.level == "high"
    assert meta.status == "test"
    assert meta.description == "finds whoami"
    assert meta.logsource == LogSource("process_creation", "linux", None)
    assert meta.techniques == ("T1059.004", "T1033")
    assert meta.tags == ("attack.execution", "attack.t1059.004", "attack.T1033", "cve.2021-44228")
    assert meta.falsepositives == ("admins",)
    assert meta.references == ("https://example.org/whoami",)
    assert meta.category == "chained-commands"
    assert meta.custom["guide"] == {"check": "who ran it"}
    assert meta.path == str(path)


def test_each_problem_is_listed_with_path_and_line_and_the_rest_loads(tmp_path: Path) -> None:
    write(tmp_path, "a_good.yml", GOOD)
    broken = write(tmp_path, "b_yaml.yml", YAML_ERROR)
    modifier = write(tmp_path, "c_modifier.yaml", BAD_MODIFIER)
    empty = write(tmp_path, "sub/d_nodetection.yml", NO_DETECTION)
    write(tmp_path, "notes.txt", "not a rule")
    result = load_rules([tmp_path])
    assert [loaded.meta.title for loaded in result.rules] == ["Good rule"]
    by_path = {error.path: error for error in result.errors}
    assert set(by_path) == {str(broken), str(modifier), str(empty)}
    assert by_path[str(broken)].reason.startswith("YAML:")
    assert by_path[str(broken)].line == 7
    assert "containz" in by_path[str(modifier)].reason
    assert by_path[str(modifier)].line == 8
    assert by_path[str(modifier)].rule_id == "22222222-2222-4222-8222-222222222222"
    assert by_path[str(modifier)].location() == f"{modifier}:8"
    assert "detection" in by_path[str(empty)].reason.lower()
    assert by_path[str(empty)].line == 1
    assert by_path[str(empty)].title == "No detection"


def test_invalid_category_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yml", GOOD.replace("category: chained-commands", "category: nonsense"))
    result = load_rules([path])
    assert result.rules == []
    (error,) = result.errors
    assert "nonsense" in error.reason
    assert error.line == 24


def test_flat_shellwatch_category_key(tmp_path: Path) -> None:
    text = GOOD.replace("shellwatch:\n  category: chained-commands\n", "shellwatch.category: reverse-shell\n")
    (loaded,) = load_rules([write(tmp_path, "r.yml", text)]).rules
    assert loaded.meta.category == "reverse-shell"


def test_multi_document_file_and_correlations(tmp_path: Path) -> None:
    other = GOOD.replace("1111-4111-8111-111111111111", "1111-4111-8111-999999999999").replace(
        "good_rule", "x"
    )
    path = write(tmp_path, "multi.yml", GOOD + "---\n" + other + "---\n" + CORRELATION)
    result = load_rules([path])
    assert result.errors == []
    assert len(result.rules) == 2
    (correlation,) = result.correlations
    assert correlation.title == "Many whoami"
    assert correlation.rules is not None
    assert correlation.rules[0].rule is result.rules[0].rule, "references resolved to the loaded rule"


def test_correlation_across_files_and_unknown_reference(tmp_path: Path) -> None:
    write(tmp_path, "rule.yml", GOOD)
    write(tmp_path, "corr.yml", CORRELATION)
    bad = write(
        tmp_path, "corr_bad.yml", CORRELATION.replace("good_rule", "nope").replace("5555-4555", "6666-4666")
    )
    result = load_rules([tmp_path])
    assert len(result.correlations) == 1
    (error,) = result.errors
    assert error.path == str(bad)
    assert "nope" in error.reason


def test_condition_error_is_reported_at_compile_time_with_line(tmp_path: Path) -> None:
    from shellwatch.detect.ruleset import compile_rules, identity_pipeline

    path = write(tmp_path, "cond.yml", BAD_CONDITION)
    data = compile_rules(load_rules([path]), identity_pipeline)
    assert data.rules == ()
    (error,) = data.errors
    assert error.path == str(path)
    assert "missing" in error.reason
    assert error.line == 8


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    result = load_rules([tmp_path / "absent"])
    assert [error.reason for error in result.errors] == ["no such file or directory"]


def test_duplicate_key_is_a_yaml_error(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.yml", GOOD + "level: low\n")
    (error,) = load_rules([path]).errors
    assert "Duplicate key" in error.reason


def test_rule_test_event_files_are_skipped_in_directories(tmp_path: Path) -> None:
    write(tmp_path, "rule.yml", GOOD)
    write(tmp_path, "rule.tests.yml", "true_positives:\n  - {process.command_line: whoami}\n")
    result = load_rules([tmp_path])
    assert result.errors == []
    assert [path.name for path in result.files] == ["rule.yml"]
