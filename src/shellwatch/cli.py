"""The command line: a thin adapter over :mod:`shellwatch.pipeline` (typer + rich)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shellwatch import schema
from shellwatch.detect.engine import Detector
from shellwatch.errors import ShellwatchError
from shellwatch.ingest.base import ReaderOptions
from shellwatch.ingest.registry import load_readers
from shellwatch.pipeline import FileReport, IngestConfig, ScanSummary, run_scan
from shellwatch.sinks import DeadLetterSink, NdjsonSink, Sink, Sinks, StoreSink
from shellwatch.sources.files import Source, expand

app = typer.Typer(
    help="shellwatch: command-shell monitoring for SOC teams (MITRE ATT&CK T1059).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)

DEFAULT_DB = "shellwatch.db"
DEFAULT_DEAD_LETTER = "shellwatch-deadletter.jsonl"

PathsArg = Annotated[
    list[str] | None, typer.Argument(help="Files, directories, archives (.gz .zip), or - for stdin.")
]
FormatOpt = Annotated[
    str | None, typer.Option("--format", "-f", help="Reader for every file (default: sniffed).")
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db", envvar="SHELLWATCH_DB", help=f"Database URL or SQLite path [default: {DEFAULT_DB}]."
    ),
]
DeadLetterOpt = Annotated[
    Path, typer.Option("--dead-letter", help="JSONL file for records that could not be parsed.")
]
HostOpt = Annotated[str | None, typer.Option("--host", help="Host name for sources that carry none.")]
UserOpt = Annotated[
    str | None, typer.Option("--user", help="User name for sources that carry none (history).")
]
YearOpt = Annotated[int | None, typer.Option("--year", help="Year for syslog lines that have none.")]
MappingOpt = Annotated[Path | None, typer.Option("--mapping", help="YAML field mapping for generic JSON.")]
SampleOpt = Annotated[bool, typer.Option("--sample", help="Add the bundled sample incident to the inputs.")]


def sample_dir() -> Path:
    """The bundled sample incident (several log formats)."""
    return Path(str(resources.files("shellwatch") / "samples"))


def _database_url(db: str | None) -> str:
    value = db or DEFAULT_DB
    return value if "://" in value else f"sqlite:///{value}"


def _sources(paths: list[str] | None, sample: bool) -> list[Source]:
    inputs = list(paths or [])
    if sample:
        inputs.append(str(sample_dir()))
    if not inputs:
        raise ShellwatchError("give at least one path (or --sample for the bundled sample incident)")
    return list(expand(inputs))


@contextmanager
def _progress(total: int) -> Iterator[Progress | None]:
    if not err.is_terminal:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        yield progress


def _run(
    sources: list[Source],
    config: IngestConfig,
    sinks: list[Sink],
) -> ScanSummary:
    with _progress(len(sources)) as progress:
        task = progress.add_task("scanning", total=len(sources)) if progress else None

        def on_file(report: FileReport) -> None:
            if progress is not None and task is not None:
                progress.update(task, advance=1, description=Path(report.path).name[:40])

        fanout = Sinks(sinks)
        try:
            return run_scan(sources, config, Detector(), fanout, on_file)
        finally:
            fanout.close()


PER_FILE_ROWS = 30


def _count_columns(table: Table, first: str, *, note: bool) -> None:
    table.add_column(first, overflow="fold", ratio=3)
    if first != "format":
        table.add_column("format")
    for column in ("records", "events", "errors"):
        table.add_column(column, justify="right")
    if note:
        table.add_column("note", overflow="fold", ratio=2)


def _errors(count: int) -> str:
    return f"[red]{count}[/red]" if count else "0"


def _file_table(summary: ScanSummary, all_files: bool) -> Table | None:
    """Per-file rows: all of them for small scans or --files, else only the files with errors."""
    rows = summary.files if all_files or len(summary.files) <= PER_FILE_ROWS else summary.errored()
    if not rows:
        return None
    title = "files" if rows is summary.files else f"files with errors ({len(rows)} of {len(summary.files)})"
    table = Table(title=title)
    _count_columns(table, "file", note=True)
    for report in rows:
        table.add_row(
            report.path,
            report.format or "-",
            str(report.records),
            str(report.events),
            _errors(report.errors),
            report.note or "",
        )
    return table


def _format_table(summary: ScanSummary) -> Table:
    table = Table(title="by format")
    _count_columns(table, "format", note=False)
    table.add_column("files", justify="right")
    for fmt, totals in summary.by_format().items():
        table.add_row(
            fmt,
            str(totals["records"]),
            str(totals["events"]),
            _errors(totals["errors"]),
            str(totals["files"]),
        )
    return table


def _config(
    fmt: str | None, host: str | None, user: str | None, year: int | None, mapping: Path | None
) -> IngestConfig:
    registry = load_readers()
    if fmt:
        registry.get(fmt)
    options = ReaderOptions(host=host, user=user, year=year, mapping=mapping)
    return IngestConfig(registry=registry, format=fmt, options=options)


@app.command()
def scan(
    paths: PathsArg = None,
    fmt: FormatOpt = None,
    db: DbOpt = None,
    dead_letter: DeadLetterOpt = Path(DEFAULT_DEAD_LETTER),
    host: HostOpt = None,
    user: UserOpt = None,
    year: YearOpt = None,
    mapping: MappingOpt = None,
    sample: SampleOpt = False,
    no_store_events: Annotated[bool, typer.Option("--no-store-events", help="Store alerts only.")] = False,
    all_files: Annotated[bool, typer.Option("--files", help="List every file in the summary.")] = False,
) -> None:
    """Normalize logs, run the detection rules, and store events, alerts and errors in the database."""
    from shellwatch.store.db import Store  # SQLAlchemy is loaded only by the commands that store

    config = _config(fmt, host, user, year, mapping)
    sources = _sources(paths, sample)
    store = Store(_database_url(db))
    scan_id = store.begin_scan([source.name for source in sources])
    dead = DeadLetterSink(dead_letter)
    try:
        summary = _run(sources, config, [StoreSink(store, scan_id, keep_events=not no_store_events), dead])
    except BaseException:
        store.finish_scan(scan_id, "failed", {})
        raise
    else:
        totals = summary.totals()
        store.finish_scan(scan_id, "done", totals)
    finally:
        store.close()
    out = Console()
    file_table = _file_table(summary, all_files)
    if file_table is not None:
        out.print(file_table)
    out.print(_format_table(summary))
    out.print(
        f"scan {scan_id}: {totals['events']} events from {totals['records']} records "
        f"in {totals['files']} files, {totals['alerts']} alerts, {totals['errors']} errors; "
        f"stored in {_database_url(db)}"
    )
    if dead.count:
        out.print(f"[yellow]{dead.count} unparsed records written to {dead_letter}[/yellow]")


@app.command()
def events(
    paths: PathsArg = None,
    fmt: FormatOpt = None,
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
    config = _config(fmt, host, user, year, mapping)
    sources = _sources(paths, sample)
    stream: BinaryIO = output.open("wb") if output else sys.stdout.buffer
    dead = DeadLetterSink(dead_letter)
    try:
        summary = _run(sources, config, [NdjsonSink(stream), dead])
    finally:
        if output:
            stream.close()
    totals = summary.totals()
    err.print(
        f"{totals['events']} events from {totals['records']} records in {totals['files']} files, "
        f"{totals['errors']} errors" + (f" (written to {dead_letter})" if dead.count else "")
    )


@app.command()
def formats() -> None:
    """List the log formats shellwatch reads."""
    table = Table(title="log formats")
    table.add_column("name")
    table.add_column("reads")
    for reader in load_readers():
        table.add_row(reader.name, reader.description)
    Console().print(table)


@app.command("schema")
def schema_command(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print docs/schema.md.")] = False,
) -> None:
    """List the event fields (ECS names) shellwatch produces."""
    if markdown:
        sys.stdout.write(schema.markdown())
        return
    for field in schema.FIELDS.values():
        sys.stdout.write(f"{field.name}\t{field.type}\t{field.description}\n")


@app.command()
def samples() -> None:
    """Print where the bundled sample incident is."""
    sys.stdout.write(f"{sample_dir()}\n")


def main() -> None:
    try:
        app()
    except ShellwatchError as exc:
        sys.stderr.write(f"shellwatch: error: {exc}\n")
        sys.exit(2)
    except BrokenPipeError:
        # Output piped into head or less that closed early.
        os._exit(0)
