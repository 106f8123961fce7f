"""The typer application, the options the commands share, and the steps every scanning command takes."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shellwatch.detect.stage import DetectionStage
from shellwatch.enrich.stage import EnrichmentStage
from shellwatch.errors import ShellwatchError
from shellwatch.ingest.base import ReaderOptions
from shellwatch.ingest.registry import load_readers
from shellwatch.parallel import run_scan_parallel
from shellwatch.pipeline import FileReport, IngestConfig, ScanSummary, run_scan
from shellwatch.settings import DEFAULT_FILE, ENV_FILE, EnrichSettings, load_settings, settings_path
from shellwatch.sinks import Sink, Sinks, StoreSink
from shellwatch.sources.files import Source, expand
from shellwatch.state.stage import ContextStage

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
LogFormatOpt = Annotated[
    str | None,
    typer.Option("--log-format", "-f", help="Reader for every file (default: recognised from the content)."),
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db", envvar="SHELLWATCH_DB", help=f"Database URL or SQLite path (default: {DEFAULT_DB})."
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
RulesOpt = Annotated[
    list[Path] | None,
    typer.Option("--rules", help="Sigma rule file or directory to add (repeatable)."),
]
NoBuiltinOpt = Annotated[
    bool, typer.Option("--no-builtin-rules", help="Leave out shellwatch's built-in rule pack.")
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help=f"Settings file (TOML) (default: ${ENV_FILE}, else ./{DEFAULT_FILE} when present).",
    ),
]
AllowlistOpt = Annotated[
    Path | None, typer.Option("--allowlist", help="Known-good allowlist (YAML) the team keeps.")
]
IdentityDirOpt = Annotated[
    Path | None,
    typer.Option("--identity-dir", help="Folder of passwd/group exports (global, and per host in HOST/)."),
]
AdUsersOpt = Annotated[Path | None, typer.Option("--ad-users", help="Active Directory user export (CSV).")]
IntelOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--intel", help="Indicator feed: STIX 2 bundle, MISP event or feed folder, CSV (repeatable)."
    ),
]
HashDbOpt = Annotated[
    Path | None,
    typer.Option("--hash-db", help="Hash reputation database (default: the cache directory's)."),
]
NoVirusTotalOpt = Annotated[
    bool, typer.Option("--no-virustotal", help="Do not ask VirusTotal, even with $VT_API_KEY set.")
]


def sample_dir() -> Path:
    """The bundled sample incident (several log formats)."""
    return Path(str(resources.files("shellwatch") / "samples"))


def sample_settings() -> Path:
    """The settings of the sample incident: its team's intel feed, allowlist and identity exports."""
    return Path(str(resources.files("shellwatch") / "sample_lists" / DEFAULT_FILE))


def database_url(db: str | None) -> str:
    value = db or DEFAULT_DB
    return value if "://" in value else f"sqlite:///{value}"


def sources_of(paths: list[str] | None, sample: bool) -> list[Source]:
    inputs = list(paths or [])
    if sample:
        inputs.append(str(sample_dir()))
    if not inputs:
        raise ShellwatchError("give at least one path (or --sample for the bundled sample incident)")
    return list(expand(inputs))


def ingest_config(
    fmt: str | None, host: str | None, user: str | None, year: int | None, mapping: Path | None
) -> IngestConfig:
    registry = load_readers()
    if fmt:
        registry.get(fmt)
    options = ReaderOptions(host=host, user=user, year=year, mapping=mapping)
    return IngestConfig(registry=registry, format=fmt, options=options)


def enrich_settings(
    config: Path | None,
    *,
    allowlist: Path | None = None,
    identity_dir: Path | None = None,
    ad_users: Path | None = None,
    intel: list[Path] | None = None,
    hash_db: Path | None = None,
    no_virustotal: bool = False,
    fallback: Path | None = None,
) -> EnrichSettings:
    """The settings file's enrichment settings, with the command-line options put over them.

    ``fallback`` is read when no settings file was given or found.
    """
    settings = load_settings(settings_path(config) or fallback).enrich
    return settings.with_options(
        allowlist=allowlist,
        identity_dir=identity_dir,
        ad_users=ad_users,
        intel=intel,
        hash_db=hash_db,
        virustotal=False if no_virustotal else None,
    )


@contextmanager
def _progress() -> Iterator[Progress | None]:
    if not err.is_terminal:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        yield progress


def run(
    sources: list[Source],
    config: IngestConfig,
    detection: DetectionStage,
    sinks: list[Sink],
    workers: int = 1,
    store: StoreSink | None = None,
    context: ContextStage | None = None,
    enrichment: EnrichmentStage | None = None,
) -> ScanSummary:
    """The pipeline over ``sources``, on ``workers`` processes, with a progress bar on a terminal.

    With several workers, events reach only ``store`` (as rows), not the other sinks. The sinks are
    closed after.
    """
    with _progress() as progress:
        task = progress.add_task("scanning", total=len(sources)) if progress else None

        def on_file(report: FileReport) -> None:
            if progress is not None and task is not None:
                progress.update(task, advance=1, description=Path(report.path).name[:40])

        fanout = Sinks(sinks)
        try:
            if workers > 1:
                rows = store.event_rows if store is not None and store.keep_events else None
                return run_scan_parallel(
                    sources, config, detection, fanout, workers, rows, on_file, context, enrichment
                )
            return run_scan(sources, config, detection, fanout, on_file, context, enrichment)
        finally:
            fanout.close()


def main() -> None:
    try:
        app()
    except ShellwatchError as exc:
        sys.stderr.write(f"shellwatch: error: {exc}\n")
        sys.exit(2)
    except BrokenPipeError:
        # Output piped into head or less that closed early.
        os._exit(0)
