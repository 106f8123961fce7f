"""Golden tests: every fixture under tests/fixtures/ingest/<reader>/ beside the exact events it must produce.

A fixture ``case.ext`` is read with the reader named by its folder (and must also be sniffed as that reader);
its events must equal ``case.expected.jsonl`` line by line, with zero parse errors. Optional
``case.options.json`` holds reader options. Set SHELLWATCH_REGEN=1 to rewrite the expected files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import orjson
import pytest

from shellwatch.ingest.base import ReaderOptions
from shellwatch.ingest.registry import load_readers
from shellwatch.schema import invalid_values, unknown_fields
from shellwatch.sources.files import expand
from tests.conftest import FIXTURES, read_events

GOLDEN = FIXTURES / "ingest"
SIDE_FILES = (".expected.jsonl", ".options.json", ".mapping.yaml", ".md")


def _cases() -> list[Path]:
    return sorted(
        path
        for path in GOLDEN.glob("*/*")
        if path.is_file() and not path.name.endswith(SIDE_FILES) and not path.name.startswith(".")
    )


def _expected_path(case: Path) -> Path:
    return case.with_name(case.name.split(".")[0] + ".expected.jsonl")


def _options(case: Path) -> tuple[ReaderOptions, bool]:
    side = case.with_name(case.name.split(".")[0] + ".options.json")
    if not side.exists():
        return ReaderOptions(), True
    raw = json.loads(side.read_text())
    sniff = raw.pop("sniff", True)
    if "mapping" in raw:
        raw["mapping"] = side.parent / raw["mapping"]
    return ReaderOptions(**raw), sniff


@pytest.mark.parametrize("case", _cases(), ids=lambda path: f"{path.parent.name}/{path.name}")
def test_golden(case: Path) -> None:
    fmt = case.parent.name
    options, must_sniff = _options(case)
    name = case.relative_to(GOLDEN).as_posix()
    events, issues, report = read_events(case, fmt, options, name=name)
    assert issues == [], f"parse errors in {name}: {issues}"
    assert report.errors == 0
    assert events, f"{name} produced no events"
    for event in events:
        assert unknown_fields(event) == [], f"{name}: fields outside the schema"
        assert invalid_values(event) == [], f"{name}: values outside the ECS allowed values"
    if must_sniff:
        source = next(iter(expand([case])))
        sniffed = load_readers().sniff(source.head(), source.name)
        assert sniffed is not None and sniffed.name == fmt, f"{name} is sniffed as {sniffed and sniffed.name}"
    expected_path = _expected_path(case)
    actual = [orjson.loads(orjson.dumps(event)) for event in events]
    if os.environ.get("SHELLWATCH_REGEN"):
        expected_path.write_bytes(
            b"".join(
                orjson.dumps(event, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)
                for event in actual
            )
        )
    expected = [json.loads(line) for line in expected_path.read_text().splitlines() if line.strip()]
    assert actual == expected


def test_every_reader_has_a_golden_fixture() -> None:
    covered = {case.parent.name for case in _cases()}
    missing = sorted(set(load_readers().names()) - covered)
    assert missing == [], f"readers without a golden fixture: {missing}"
