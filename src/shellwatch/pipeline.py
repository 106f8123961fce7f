"""The whole flow, top to bottom: sources → ingest (normalize) → detect (rules, correlations) → sinks.

Each stage is a generator or a plain function over plain data; state that spans events will live in
explicit per-host objects between ingest and detect, so the same code runs in one process or partitioned.
"""

from __future__ import annotations

import lzma
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from shellwatch.detect.stage import DetectionStage
from shellwatch.enrich.stage import EnrichmentStage
from shellwatch.events import Event
from shellwatch.ingest.base import ParseIssue, ReadContext, ReaderOptions
from shellwatch.ingest.registry import ReaderRegistry, load_readers
from shellwatch.sinks import Sinks
from shellwatch.sources.files import Source
from shellwatch.state.stage import ContextStage

UNKNOWN_FORMAT = "unknown format (no reader recognises it; name one with --format)"


@dataclass(slots=True)
class FileReport:
    """What happened to one source: how many records were read, events produced, errors met."""

    path: str
    format: str | None = None
    records: int = 0
    events: int = 0
    errors: int = 0
    note: str | None = None

    def as_row(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "records": self.records,
            "events": self.events,
            "errors": self.errors,
            "note": self.note,
        }


@dataclass(slots=True)
class ScanSummary:
    files: list[FileReport] = field(default_factory=list)
    alerts: int = 0

    def errored(self) -> list[FileReport]:
        return [report for report in self.files if report.errors]

    def by_format(self) -> dict[str, dict[str, int]]:
        """Files, records, events and errors per reader (``-`` for files no reader took)."""
        totals: dict[str, dict[str, int]] = {}
        for report in self.files:
            row = totals.setdefault(
                report.format or "-", {"files": 0, "records": 0, "events": 0, "errors": 0}
            )
            row["files"] += 1
            row["records"] += report.records
            row["events"] += report.events
            row["errors"] += report.errors
        return dict(sorted(totals.items()))

    def totals(self) -> dict[str, int]:
        return {
            "files": len(self.files),
            "records": sum(report.records for report in self.files),
            "events": sum(report.events for report in self.files),
            "errors": sum(report.errors for report in self.files),
            "alerts": self.alerts,
        }


@dataclass(frozen=True, slots=True)
class IngestConfig:
    registry: ReaderRegistry = field(default_factory=load_readers)
    format: str | None = None
    """Reader to use for every file; by default each file's format is sniffed."""
    options: ReaderOptions = field(default_factory=ReaderOptions)


# Errors that a damaged file raises while it is read: a truncated archive, a bad gzip stream, an I/O fault.
_DAMAGE = (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError)


def ingest_source(
    source: Source,
    report: FileReport,
    config: IngestConfig,
    on_issue: Callable[[ParseIssue], None] | None = None,
) -> Iterator[Event]:
    """Normalized events of one source; ``report`` is kept up to date as they are produced."""
    try:
        head = source.head()
    except _DAMAGE as exc:
        _file_issue(report, on_issue, f"cannot read: {exc}")
        return
    if not head:
        report.note = "empty"
        return
    reader_class = (
        config.registry.get(config.format) if config.format else config.registry.sniff(head, source.name)
    )
    if reader_class is None:
        _file_issue(report, on_issue, UNKNOWN_FORMAT)
        return
    report.format = reader_class.name
    ctx = ReadContext(source.name, reader_class.name, config.options, on_issue, source.mtime)
    reader = reader_class(config.options)
    try:
        with source.open() as stream:
            for event in reader.read(stream, ctx):
                event.setdefault("log.file.path", source.name)
                event["shellwatch.log.format"] = reader_class.name
                report.events += 1
                yield event
    except _DAMAGE as exc:
        ctx.error(f"reading stopped: {type(exc).__name__}: {exc}")
    finally:
        report.records, report.errors = ctx.records, ctx.errors


def _file_issue(report: FileReport, on_issue: Callable[[ParseIssue], None] | None, reason: str) -> None:
    report.errors += 1
    report.note = reason
    if on_issue is not None:
        on_issue(ParseIssue(report.path, report.format or "", reason))


def ingest(
    sources: Iterable[Source],
    config: IngestConfig,
    reports: list[FileReport],
    on_issue: Callable[[ParseIssue], None] | None = None,
) -> Iterator[Event]:
    """Normalized events of every source in turn; a report per source is appended to ``reports``."""
    for source in sources:
        report = FileReport(source.name)
        reports.append(report)
        yield from ingest_source(source, report, config, on_issue)


def run_scan(
    sources: Iterable[Source],
    config: IngestConfig,
    detection: DetectionStage,
    sinks: Sinks,
    on_file: Callable[[FileReport], None] | None = None,
    context: ContextStage | None = None,
    enrichment: EnrichmentStage | None = None,
) -> ScanSummary:
    """Read every source; give each event its context, detect on it, enrich the alerts; feed the sinks.

    The flow, per event: ingest → context (process table, sessions, flows) → detection. Alerts are held by
    the enrichment stage and leave, enriched, at the end.
    """
    summary = ScanSummary()
    enrichment = enrichment or EnrichmentStage()
    sinks.start()
    for source in sources:
        report = FileReport(source.name)
        summary.files.append(report)
        for event in ingest_source(source, report, config, sinks.issue):
            if context is not None:
                context.process(event)
            sinks.event(event)
            for alert in detection.process(event):
                enrichment.push(alert)
        sinks.file_done(report)
        if on_file is not None:
            on_file(report)
    for alert in detection.flush():
        enrichment.push(alert)
    for alert in enrichment.flush():
        summary.alerts += 1
        sinks.alert(alert)
    return summary
