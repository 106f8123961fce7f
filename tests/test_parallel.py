"""Several worker processes give the same result as one: reports, alerts, correlations, stored events."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest

from shellwatch.cli.app import sample_dir
from shellwatch.detect.ruleset import RuleSet
from shellwatch.detect.stage import DetectionStage
from shellwatch.events import Alert
from shellwatch.parallel import run_scan_parallel
from shellwatch.pipeline import IngestConfig, run_scan
from shellwatch.sinks import Sinks
from shellwatch.sources.files import expand
from shellwatch.store.rows import EventRow, event_row
from tests.sinks import ListSink

CORRELATION = """
title: Two sudo commands by one user within a minute
id: 5d0f3f7e-2f9b-4d61-8c1e-7a0b9e2d4c11
name: sudo_twice
correlation:
    type: event_count
    rules: [sudo_command]
    group-by: [user.name]
    timespan: 1m
    condition: {gte: 1}
level: low
---
title: A sudo command
id: 8a1c2e3f-4b5d-4e6f-9a0b-1c2d3e4f5a6b
name: sudo_command
logsource: {product: linux, service: sudo}
detection:
    selection: {event.action: sudo-command}
    condition: selection
level: informational
"""


def _key(alert: Alert) -> bytes:
    return orjson.dumps(alert, option=orjson.OPT_SORT_KEYS)


@pytest.fixture()
def ruleset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RuleSet:
    monkeypatch.setenv("SHELLWATCH_CACHE_DIR", str(tmp_path / "cache"))
    extra = tmp_path / "rules" / "sudo.yml"
    extra.parent.mkdir()
    extra.write_text(CORRELATION)
    return RuleSet.build([extra.parent], builtin=True)


def test_two_workers_equal_one_process(ruleset: RuleSet, tmp_path: Path) -> None:
    broken = tmp_path / "input" / "x_history.gz"
    broken.parent.mkdir()
    broken.write_bytes(b"\x1f\x8b\x08\x00broken")
    sources = list(expand([sample_dir(), broken.parent]))
    config = IngestConfig()

    serial = ListSink()
    summary = run_scan(sources, config, DetectionStage.from_ruleset(ruleset), Sinks([serial]))

    parallel = ListSink()
    rows: list[EventRow] = []

    def keep(batch: Sequence[EventRow]) -> None:
        rows.extend(batch)

    forked = run_scan_parallel(
        sources, config, DetectionStage.from_ruleset(ruleset), Sinks([parallel]), workers=2, store_rows=keep
    )
    assert [report.as_row() for report in forked.files] == [report.as_row() for report in summary.files]
    assert forked.alerts == summary.alerts > 0
    assert sorted(map(_key, parallel.alerts)) == sorted(map(_key, serial.alerts))
    assert any(alert["rule.id"] == "5d0f3f7e-2f9b-4d61-8c1e-7a0b9e2d4c11" for alert in parallel.alerts)
    assert (
        [issue.path for issue in parallel.issues] == [issue.path for issue in serial.issues] == [str(broken)]
    )
    assert sorted(rows, key=lambda row: row[-1]) == sorted(
        map(event_row, serial.events), key=lambda row: row[-1]
    )
    assert serial.started == parallel.started == 1


def test_two_workers_enrich_like_one_process(ruleset: RuleSet) -> None:
    from shellwatch.cli.app import sample_settings
    from shellwatch.enrich.chain import build_enrichment
    from shellwatch.enrich.stage import EnrichmentStage
    from shellwatch.settings import load_settings

    sources = list(expand([sample_dir()]))
    settings = load_settings(sample_settings()).enrich
    results = []
    for workers in (1, 2):
        enrichment = build_enrichment(settings, environ={})
        sink = ListSink()
        stage = EnrichmentStage(enrichment.enrichers)
        detection = DetectionStage.from_ruleset(ruleset)
        if workers == 1:
            run_scan(sources, IngestConfig(), detection, Sinks([sink]), None, enrichment.context, stage)
        else:
            run_scan_parallel(
                sources, IngestConfig(), detection, Sinks([sink]), 2, None, None, enrichment.context, stage
            )
        results.append(sorted(map(_key, sink.alerts)))
    assert results[0] == results[1]
    alerts = [orjson.loads(key) for key in results[1]]
    # children and connections come from the worker's own copy of the tables
    assert any("shellwatch.process.children.pid" in alert for alert in alerts)
    assert any("shellwatch.network.destination.ip" in alert for alert in alerts)
    assert any(alert.get("shellwatch.intel.matched") for alert in alerts)
