"""SigmaHQ's rules against our events: every field they use, after the pipelines, is one our readers write.

Uses the real corpus (``../shared/corpus``): SigmaHQ's rule tree and its labelled regression samples.
Skips when the corpus is absent.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sigma.rule import SigmaRule

from shellwatch.detect.logsource import event_logsources
from shellwatch.detect.model import LogSource
from shellwatch.detect.pipelines import apply, rule_fields
from shellwatch.ingest import _windows
from shellwatch.schema import is_known
from tests.conftest import read_events

RULE_DIRECTORIES = (
    "windows/process_creation",
    "windows/powershell",
    "windows/builtin/security",
    "windows/network_connection",
    "windows/file",
    "windows/image_load",
    "linux/process_creation",
    "linux/auditd",
    "linux/network_connection",
    "linux/file_event",
    "macos/process_creation",
    "macos/file_event",
)

EXCEPTIONS: dict[str, str] = {
    "OriginalFileName": "macOS process_creation (1 rule): macOS binaries have no PE version info; eslogger "
    "and osquery record the signing id and cdhash instead, so no reader can fill it.",
    "auditd.data.nametype": "auditd PATH nametype (1 rule): the reader keeps the chosen PATH record's name, "
    "inode, mode and owner, not its nametype (CREATE/DELETE only picks which PATH becomes file.path).",
}
"""Fields that SigmaHQ's rules use and no reader produces, with the reason."""

NEVER_RAW_WINDOWS = frozenset(
    name
    for table in (_windows._SYSMON_COMMON, _windows._POWERSHELL)
    for name, rule in table.items()
    if isinstance(rule, str)
)
"""EventData names the Sysmon and PowerShell readers copy unchanged to ECS: never under winlog.event_data."""

SYSTEM_NAMES = ("EventID", "Channel", "Provider_Name", "Computer")


def corpus_rules(corpus: Path) -> Iterator[tuple[str, SigmaRule]]:
    root = corpus / "sigma" / "rules"
    for directory in RULE_DIRECTORIES:
        for path in sorted((root / directory).rglob("*.yml")):
            yield str(path.relative_to(root)), apply(SigmaRule.from_yaml(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def processed(corpus: Path) -> list[tuple[str, SigmaRule]]:
    return list(corpus_rules(corpus))


def test_every_sigmahq_field_is_one_our_events_carry(processed: list[tuple[str, SigmaRule]]) -> None:
    used: dict[str, set[str]] = defaultdict(set)
    for path, rule in processed:
        for name in rule_fields(rule):
            used[name].add(path)
    unknown = {name: sorted(paths) for name, paths in used.items() if not is_known(name)}
    listed = {name: sorted(paths) for name, paths in used.items() if name in EXCEPTIONS}
    assert set(unknown) <= set(EXCEPTIONS), {name: unknown[name] for name in set(unknown) - set(EXCEPTIONS)}
    assert set(listed) == set(EXCEPTIONS), "an exception no longer occurs: remove it from EXCEPTIONS"
    assert len(processed) > 2000
    assert len(used) > 100


def test_windows_rules_never_ask_for_a_raw_copy_the_reader_does_not_keep(
    processed: list[tuple[str, SigmaRule]],
) -> None:
    wrong = [
        (path, name)
        for path, rule in processed
        if rule.logsource.product == "windows" and rule.logsource.category is not None
        for name in rule_fields(rule)
        if name.removeprefix(_windows.EVENT_DATA) in NEVER_RAW_WINDOWS
        and name.startswith(_windows.EVENT_DATA)
    ]
    assert wrong == []
    assert {
        "CommandLine",
        "ParentCommandLine",
        "ScriptBlockText",
        "Payload",
        "QueryName",
    } <= NEVER_RAW_WINDOWS


# --------------------------------------------------------------------------- labelled regression samples


def regression_root(corpus: Path) -> Path:
    return corpus / "evtx" / "sigma-regression"


def raw_records(case: Path) -> dict[int, dict[str, object]]:
    """The case's records as evtx-to-JSON wrote them, by EventRecordID: EventData items plus System fields."""
    records: dict[int, dict[str, object]] = {}
    for json_path in case.glob("*.json"):
        text, decoder, offset = json_path.read_text(encoding="utf-8").strip(), json.JSONDecoder(), 0
        while offset < len(text):
            document, offset = decoder.raw_decode(text, offset)
            offset = len(text) - len(text[offset:].lstrip())
            system, data = document["Event"]["System"], document["Event"].get("EventData") or {}
            record = {name: value for name, value in data.items() if value not in (None, "", "-")}
            record["EventID"] = system["EventID"]
            record["Channel"] = system["Channel"]
            record["Provider_Name"] = system["Provider"]["#attributes"]["Name"]
            record["Computer"] = system["Computer"]
            records[int(system["EventRecordID"])] = record
    return records


def mapped_names(rule: SigmaRule, field: str) -> list[str]:
    """What the pipelines map one Sigma field to, for this rule's log source."""
    probe = {
        "title": "probe",
        "logsource": {key: value for key, value in rule.logsource.to_dict().items() if value},
        "detection": {"selection": {field: "x"}, "condition": "selection"},
    }
    return rule_fields(apply(SigmaRule.from_dict(probe)))


def rule_logsource(rule: SigmaRule) -> LogSource:
    return LogSource(rule.logsource.category, rule.logsource.product, rule.logsource.service)


def case_rule(root: Path, case: Path) -> Path:
    """The case's rule: in ``_rules`` under the case's name, or else the SigmaHQ rule with its id."""
    beside = root / "_rules" / f"{case.name}.yml"
    if beside.is_file():
        return beside
    info = yaml.safe_load((case / "info.yml").read_text(encoding="utf-8"))
    line = f"id: {info['rule_metadata'][0]['id']}\n"
    candidates = [*(root / "_rules").glob("*.yml"), *(root.parent.parent / "sigma" / "rules").rglob("*.yml")]
    return next(path for path in candidates if line in path.read_text(encoding="utf-8"))


def check_case(root: Path, case: Path) -> list[str]:
    """Problems of one labelled case: too few events routed to the rule, or a rule field absent from one."""
    info = yaml.safe_load((case / "info.yml").read_text(encoding="utf-8"))
    rule = SigmaRule.from_yaml(case_rule(root, case).read_text(encoding="utf-8"))
    (evtx,) = case.glob("*.evtx")
    events, _issues, _report = read_events(evtx)
    wanted = rule_logsource(rule)
    fitting = [event for event in events if any(wanted.covers(source) for source in event_logsources(event))]
    expected = int(info["regression_tests_info"][0].get("match_count", 1))
    if len(fitting) < expected:
        return [
            f"{case.name}: {len(fitting)} of {len(events)} events routed to the rule, {expected} must match"
        ]
    raw = raw_records(case)
    return [
        f"{case.name}: {field} -> {names} absent from record {event.get('winlog.record_id')}"
        for event in fitting
        for field, names in ((field, mapped_names(rule, field)) for field in rule_fields(rule))
        if field in raw.get(int(str(event.get("winlog.record_id"))), {})
        and not any(name in event for name in names)
    ]


def test_regression_samples_carry_every_field_their_rule_uses(corpus: Path) -> None:
    root = regression_root(corpus)
    cases = sorted(info.parent for info in root.rglob("info.yml"))
    assert len(cases) >= 130
    problems = [problem for case in cases for problem in check_case(root, case)]
    assert problems == []


def test_regression_sample_fields_are_checked_at_all(corpus: Path) -> None:
    """The check above compares something: the curl case's rule fields are in its raw record and its event."""
    root = regression_root(corpus)
    (case,) = [
        info.parent
        for info in root.rglob("info.yml")
        if info.parent.name == "proc_creation_win_curl_custom_user_agent"
    ]
    rule = SigmaRule.from_yaml(case_rule(root, case).read_text(encoding="utf-8"))
    (record,) = raw_records(case).values()
    assert [field for field in rule_fields(rule) if field in record] == [
        "CommandLine",
        "Image",
        "OriginalFileName",
    ]
    assert mapped_names(rule, "OriginalFileName") == ["process.pe.original_file_name"]
    assert check_case(root, case) == []
