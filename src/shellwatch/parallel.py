"""The scan on several cores: files are read and matched in worker processes, cross-event state stays here.

Each worker takes a whole folder of files at a time (a collection from one host usually sits in one
folder: its audit log, auth log and the sensor's conn.log beside them), reads them in order with its own
copy of the context tables, and runs the single-event rules on them. It sends back, per file, the
report, the parse issues, the alerts, the matches that feed correlation rules, and (when events are stored)
the events already serialized as database rows. This process feeds the sinks and runs the correlations,
which need every host's matches in event time, whichever worker found them.

Workers are forked, so they share the compiled rule set and the sources copy-on-write; nothing but plain
results crosses the process boundary.
"""

from __future__ import annotations

import copy
import multiprocessing
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from shellwatch.detect.model import Match
from shellwatch.detect.stage import DetectionStage
from shellwatch.enrich.stage import EnrichmentStage
from shellwatch.events import Alert
from shellwatch.ingest.base import ParseIssue
from shellwatch.pipeline import FileReport, IngestConfig, ScanSummary, ingest_source
from shellwatch.sinks import Sinks
from shellwatch.sources.files import Source
from shellwatch.state.stage import ContextStage
from shellwatch.store.rows import EventRow, event_row

RowsSink = Callable[[Sequence[EventRow]], None]


@dataclass(slots=True)
class FileResult:
    index: int
    report: FileReport
    issues: list[ParseIssue] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    rows: list[EventRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Job:
    sources: Sequence[Source]
    config: IngestConfig
    detection: DetectionStage
    keep_rows: bool
    context: ContextStage | None
    enrichment: EnrichmentStage


_job: _Job | None = None  # set in each forked worker before it starts (fork inherits it)


def default_workers(sources: Sequence[Source]) -> int:
    """One worker per core, when there is enough input to make up for starting them."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    size = sum(source.size or 0 for source in sources)
    return min(cores, len(sources)) if size >= 4 * 1024 * 1024 and len(sources) > 1 else 1


def scan_group(indices: Sequence[int]) -> list[FileResult]:
    """One folder's files, in a worker: events matched, correlation inputs and storable rows kept aside.

    Folders reach workers in no fixed order: each starts from the same context, so that results do not
    depend on scheduling. The folder's alerts are enriched when its last file is read, so an alert in the
    audit log sees the connections of the conn.log beside it.
    """
    job = _job
    assert job is not None, "scan_group runs in a worker started by run_scan_parallel"
    context = copy.deepcopy(job.context)
    enrichment = job.enrichment.with_context(context) if context is not None else job.enrichment
    results = [_scan_file(job, index, context, enrichment) for index in indices]
    alerts = enrichment.flush()
    if results:
        results[-1].alerts = alerts
    return results


def _scan_file(
    job: _Job, index: int, context: ContextStage | None, enrichment: EnrichmentStage
) -> FileResult:
    source = job.sources[index]
    result = FileResult(index, FileReport(source.name))
    for event in ingest_source(source, result.report, job.config, result.issues.append):
        if context is not None:
            context.process(event)
        if job.keep_rows:
            result.rows.append(event_row(event))
        alerts, matches = job.detection.split(event)
        for alert in alerts:
            enrichment.push(alert)
        result.matches.extend(matches)
    return result


def folder_groups(sources: Sequence[Source]) -> list[list[int]]:
    """Source indices grouped by folder (in input order), largest group first for an even finish."""
    groups: dict[str, list[int]] = {}
    for index, source in enumerate(sources):
        groups.setdefault(os.path.dirname(source.name), []).append(index)
    return sorted(groups.values(), key=lambda group: -sum(sources[index].size or 0 for index in group))


def run_scan_parallel(
    sources: Sequence[Source],
    config: IngestConfig,
    detection: DetectionStage,
    sinks: Sinks,
    workers: int,
    store_rows: RowsSink | None = None,
    on_file: Callable[[FileReport], None] | None = None,
    context: ContextStage | None = None,
    enrichment: EnrichmentStage | None = None,
) -> ScanSummary:
    """:func:`shellwatch.pipeline.run_scan` on ``workers`` processes; stored events go to ``store_rows``.

    Each worker has its own copy of the context tables and enriches the alerts of a folder when the folder
    is done; correlation alerts are enriched here.
    """
    global _job  # noqa: PLW0603 - handed to the forked workers, reset when they are done
    enrichment = enrichment or EnrichmentStage()
    _job = _Job(sources, config, detection, store_rows is not None, context, enrichment)
    summary = ScanSummary(files=[FileReport(source.name) for source in sources])
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            groups = pool.imap_unordered(scan_group, folder_groups(sources), chunksize=1)
            sinks.start()  # while the workers read: opening the database overlaps their work
            for results in groups:
                for result in results:
                    _collect(result, summary, detection, sinks, store_rows, enrichment)
                    if on_file is not None:
                        on_file(result.report)
    finally:
        _job = None
    for alert in detection.flush():
        enrichment.push(alert)
    for alert in enrichment.flush():
        summary.alerts += 1
        sinks.alert(alert)
    return summary


def _collect(
    result: FileResult,
    summary: ScanSummary,
    detection: DetectionStage,
    sinks: Sinks,
    store_rows: RowsSink | None,
    enrichment: EnrichmentStage,
) -> None:
    summary.files[result.index] = result.report
    for issue in result.issues:
        sinks.issue(issue)
    if store_rows is not None and result.rows:
        store_rows(result.rows)
    for alert in result.alerts:
        summary.alerts += 1
        sinks.alert(alert)
    for match in result.matches:
        for alert in detection.correlate(match):
            enrichment.push(alert)
    sinks.file_done(result.report)
