"""``shellwatch scan`` (normalize, detect, store, report alerts) and ``shellwatch events`` (ECS NDJSON)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, BinaryIO

import typer
from rich.console import Console

from shellwatch.cli.app import (
    DEFAULT_DEAD_LETTER,
    AdUsersOpt,
    AllowlistOpt,
    ConfigOpt,
    DbOpt,
    DeadLetterOpt,
    HashDbOpt,
    HostOpt,
    IdentityDirOpt,
    IntelOpt,
    LogFormatOpt,
    MappingOpt,
    NoBuiltinOpt,
    NoVirusTotalOpt,
    PathsArg,
    RulesOpt,
    SampleOpt,
    UserOpt,
    YearOpt,
    app,
    database_url,
    enrich_settings,
    err,
    ingest_config,
    run,
    sample_settings,
    sources_of,
)
from shellwatch.cli.render import ALERT_ROWS, alert_table, file_table, format_table
from shellwatch.detect.engine import Detector
from shellwatch.detect.ruleset import RuleSet
from shellwatch.detect.stage import DetectionStage
from shellwatch.enrich.chain import build_enrichment
from shellwatch.enrich.stage import EnrichmentStage
from shellwatch.events import Alert, Event
from shellwatch.ingest.base import ParseIssue
from shellwatch.parallel import default_workers
from shellwatch.pipeline import ScanSummary
from shellwatch.sinks import DeadLetterSink, FileReport, NdjsonSink, Sink, StoreSink


class AlertFormat(StrEnum):
    TABLE = "table"
    JSONL = "jsonl"


class AlertKeeper:
    """Keeps the first alerts for the table shown at the end of a scan."""

    def __init__(self, limit: int = ALERT_ROWS * 10) -> None:
        self.limit = limit
        self.alerts: list[Alert] = []

    def event(self, event: Event) -> None:
        """Events are not shown."""

    def start(self) -> None:
        """Nothing to open."""

    def alert(self, alert: Alert) -> None:
        if len(self.alerts) < self.limit:
            self.alerts.append(alert)

    def issue(self, issue: ParseIssue) -> None:
        """Errors are shown per file in the summary."""

    def file_done(self, report: FileReport) -> None:
        """Files are shown in the summary."""

    def close(self) -> None:
        """Nothing to release."""


def detection_stage(rule_paths: list[Path] | None, no_builtin: bool) -> DetectionStage:
    """The rules the user asked for (the built-in pack unless left out), compiled or read from cache."""
    ruleset = RuleSet.build(rule_paths or [], builtin=not no_builtin)
    for error in ruleset.errors:
        err.print(f"[yellow]rule not loaded:[/yellow] {error.location()}: {error.reason}", highlight=False)
    return DetectionStage.from_ruleset(ruleset)


@app.command()
def scan(
    paths: PathsArg = None,
    log_format: LogFormatOpt = None,
    rules: RulesOpt = None,
    no_builtin_rules: NoBuiltinOpt = False,
    output_format: Annotated[
        AlertFormat | None,
        typer.Option("--format", help="How to write alerts (default: table on a terminal, else jsonl)."),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the alerts to FILE.")] = None,
    fail_on_alert: Annotated[
        bool, typer.Option("--fail-on-alert", help="Exit with status 1 when there are alerts.")
    ] = False,
    db: DbOpt = None,
    dead_letter: DeadLetterOpt = Path(DEFAULT_DEAD_LETTER),
    host: HostOpt = None,
    user: UserOpt = None,
    year: YearOpt = None,
    mapping: MappingOpt = None,
    sample: SampleOpt = False,
    no_store_events: Annotated[bool, typer.Option("--no-store-events", help="Store alerts only.")] = False,
    all_files: Annotated[bool, typer.Option("--files", help="List every file in the summary.")] = False,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-j", help="Worker processes (default: one per core for large inputs)."),
    ] = None,
    settings_file: ConfigOpt = None,
    allowlist: AllowlistOpt = None,
    identity_dir: IdentityDirOpt = None,
    ad_users: AdUsersOpt = None,
    intel: IntelOpt = None,
    hash_db: HashDbOpt = None,
    no_virustotal: NoVirusTotalOpt = False,
) -> None:
    """Normalize logs, give events their context, run the Sigma rules, enrich and store the alerts."""
    config = ingest_config(log_format, host, user, year, mapping)
    sources = sources_of(paths, sample)
    settings = enrich_settings(
        settings_file,
        allowlist=allowlist,
        identity_dir=identity_dir,
        ad_users=ad_users,
        intel=intel,
        hash_db=hash_db,
        no_virustotal=no_virustotal,
        fallback=sample_settings() if sample else None,
    )
    enrichment = build_enrichment(settings)
    for warning in enrichment.warnings:
        err.print(f"[yellow]skipped:[/yellow] {warning}", highlight=False, soft_wrap=True)
    detection = detection_stage(rules, no_builtin_rules)
    chosen = output_format or (
        AlertFormat.TABLE if output is None and sys.stdout.isatty() else AlertFormat.JSONL
    )
    stream: IO[bytes] | None = None
    if chosen is AlertFormat.JSONL:
        stream = output.open("wb") if output else sys.stdout.buffer
    keeper = AlertKeeper()
    dead = DeadLetterSink(dead_letter)
    inputs = [source.name for source in sources]
    store_sink = StoreSink(database_url(db), inputs, keep_events=not no_store_events)
    sinks: list[Sink] = [store_sink, dead, keeper]
    if stream is not None:
        sinks.append(NdjsonSink(stream, events=False, alerts=True))
    try:
        summary = run(
            sources,
            config,
            detection,
            sinks,
            workers or default_workers(sources),
            store_sink,
            enrichment.context,
            EnrichmentStage(enrichment.enrichers),
        )
    except BaseException:
        store_sink.finish("failed", {})
        raise
    else:
        store_sink.finish("done", summary.totals())
    finally:
        enrichment.close()
        if output is not None and stream is not None:
            stream.close()
    if chosen is AlertFormat.TABLE:
        _print_alert_table(keeper.alerts, summary.alerts, output)
    _print_summary(summary, store_sink.scan_id, database_url(db), all_files, detection.rule_count())
    if dead.count:
        err.print(f"[yellow]{dead.count} unparsed records written to {dead_letter}[/yellow]")
    if fail_on_alert and summary.alerts:
        raise typer.Exit(1)


def _print_alert_table(alerts: list[Alert], total: int, output: Path | None) -> None:
    if output is not None:
        with output.open("w", encoding="utf-8") as handle:
            Console(file=handle, width=200).print(alert_table(alerts, total))
        return
    if total:
        Console().print(alert_table(alerts, total))


def _print_summary(summary: ScanSummary, scan_id: int, url: str, all_files: bool, rules: int) -> None:
    files = file_table(summary, all_files)
    if files is not None:
        err.print(files)
    err.print(format_table(summary))
    totals = summary.totals()
    err.print(
        f"scan {scan_id}: {totals['events']} events from {totals['records']} records in {totals['files']} "
        f"files, {rules} rules, {totals['alerts']} alerts, {totals['errors']} errors; stored in {url}",
        highlight=False,
    )


@app.command()
def events(
    paths: PathsArg = None,
    log_format: LogFormatOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
    dead_letter: DeadLetterOpt = Path(DEFAULT_DEAD_LETTER),
    host: HostOpt = None,
    user: UserOpt = None,
    year: YearOpt = None,
    mapping: MappingOpt = None,
    sample: SampleOpt = False,
) -> None:
    """Write the normalized events as ECS NDJSON (one JSON document per line)."""
    config = ingest_config(log_format, host, user, year, mapping)
    sources = sources_of(paths, sample)
    stream: BinaryIO = output.open("wb") if output else sys.stdout.buffer
    dead = DeadLetterSink(dead_letter)
    try:
        summary = run(sources, config, DetectionStage(Detector()), [NdjsonSink(stream), dead])
    finally:
        if output:
            stream.close()
    totals = summary.totals()
    err.print(
        f"{totals['events']} events from {totals['records']} records in {totals['files']} files, "
        f"{totals['errors']} errors" + (f" (written to {dead_letter})" if dead.count else ""),
        highlight=False,
    )
