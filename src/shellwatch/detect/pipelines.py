"""Sigma's field names mapped to our ECS event fields, by declarative pySigma processing pipelines.

The pipelines are YAML files in ``detect/pipelines/`` (package data), one per log-source family:
``lineage`` (grandparent, entry and session leader, tty: for every rule), ``windows_process_creation``
(Sysmon 1 and 4688), ``windows_sysmon`` (the other Sysmon categories), ``windows_powershell``,
``windows_services`` (System fields and Security items), ``windows_event_data`` (the fallback: any
other Windows field is an EventData name kept raw under ``winlog.event_data.<Name>``),
``linux_process_creation`` (auditd, Sysmon for Linux, eslogger, osquery; shell history),
``unix_events`` (Linux/macOS network and file events), ``linux_auditd`` (raw auditd rules) and ``zeek``.
Each transformation is scoped by ``logsource`` rule conditions, so one combined pipeline, ordered by
the files' ``priority``, processes any rule: only the items that fit the rule's log source apply.
``docs/sigma-fields.md`` is the mapping table.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml
from sigma.processing.pipeline import ProcessingPipeline
from sigma.processing.transformations import transformations
from sigma.processing.transformations.base import FieldMappingTransformationBase
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import SigmaFieldReference

from shellwatch.schema import is_known

PIPELINE_DIRECTORY = "pipelines"
"""Folder of the YAML pipelines, inside the ``shellwatch.detect`` package."""


@dataclass
class FieldNamePrefixesTransformation(FieldMappingTransformationBase):
    """``field_name_prefixes``: a field name under each of several prefixes (the rule tests any of them).

    pySigma's ``field_name_prefix`` gives one prefix. A Windows item the readers keep raw is under
    ``winlog.event_data.<Name>`` or, for events that carry UserData instead, ``winlog.user_data.<Name>``;
    which one depends on the event, not on the rule, so the rule must test both.
    """

    prefixes: list[str]

    def apply_field_name(self, field: str | None) -> list[str] | None:
        return None if field is None else [prefix + field for prefix in self.prefixes]


transformations.setdefault("field_name_prefixes", FieldNamePrefixesTransformation)


def pipeline_definitions() -> list[dict[str, Any]]:
    """The parsed YAML pipelines, lowest ``priority`` first (file name breaks ties)."""
    folder = resources.files("shellwatch.detect").joinpath(PIPELINE_DIRECTORY)
    files = sorted((entry for entry in folder.iterdir() if entry.name.endswith(".yml")), key=lambda e: e.name)
    definitions = [yaml.safe_load(entry.read_text(encoding="utf-8")) for entry in files]
    return sorted(definitions, key=lambda definition: int(definition.get("priority", 0)))


@cache
def pipeline() -> ProcessingPipeline:
    """All YAML pipelines as one pySigma pipeline (items in priority order); built once."""
    items = [item for definition in pipeline_definitions() for item in definition["transformations"]]
    return ProcessingPipeline.from_dict({"name": "shellwatch", "transformations": items})


def apply(rule: SigmaRule) -> SigmaRule:
    """A copy of ``rule`` with its field names mapped to ECS by the pipeline items fitting its log source.

    pySigma's ``ProcessingPipeline.apply`` changes the rule it is given; ``rule`` itself is left as it was.
    """
    processed = pipeline().apply(copy.deepcopy(rule))
    assert isinstance(processed, SigmaRule)
    return processed


def rule_fields(rule: SigmaRule) -> list[str]:
    """Every field name a rule's detections test (``fieldref`` targets included), sorted, no repeats."""
    names: set[str] = set()
    for detection in rule.detection.detections.values():
        for item in _detection_items(detection):
            if item.field is not None:
                names.add(item.field)
            names.update(value.field for value in item.value if isinstance(value, SigmaFieldReference))
    return sorted(names)


def unmapped_fields(rule: SigmaRule) -> list[str]:
    """Field names of a processed rule that no pipeline mapped and that no reader produces."""
    return [name for name in rule_fields(rule) if not is_known(name)]


def _detection_items(detection: SigmaDetection | SigmaDetectionItem) -> Iterator[SigmaDetectionItem]:
    if isinstance(detection, SigmaDetectionItem):
        yield detection
        return
    for child in detection.detection_items:
        yield from _detection_items(child)
