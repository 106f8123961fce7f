"""``shellwatch intel | reputation | allowlist``: the lists the team keeps for enrichment, checked, used."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from shellwatch.cli.app import ConfigOpt, HashDbOpt, IntelOpt, app, enrich_settings, err
from shellwatch.enrich.allowlist import expiring, load_allowlist
from shellwatch.enrich.reputation import HashDatabase, default_db_path, normalize_hash
from shellwatch.errors import ConfigError, InputError

if TYPE_CHECKING:
    from shellwatch.enrich.intel import Indicator, LoadResult

intel_app = typer.Typer(help="Threat intelligence feeds: check what they hold, look values up.")
reputation_app = typer.Typer(help="The hash reputation database: import hash lists, look hashes up.")
allowlist_app = typer.Typer(help="The known-good allowlist: check it, list entries about to expire.")
app.add_typer(intel_app, name="intel")
app.add_typer(reputation_app, name="reputation")
app.add_typer(allowlist_app, name="allowlist")

FeedsArg = Annotated[list[Path], typer.Argument(help="Feeds: STIX 2 bundles, MISP events or folders, CSV.")]


def _feed_table(results: list[LoadResult]) -> Table:
    table = Table(title="intel feeds")
    for column in ("feed", "source", "indicators", "malformed", "left out"):
        table.add_column(column, overflow="fold")
    for result in results:
        left_out = ", ".join(
            f"{name.removeprefix('skipped: ').removeprefix('ignored: ')} {count}"
            for name, count in sorted(result.counts.items())
            if name.startswith(("skipped: ", "ignored: "))
        )
        table.add_row(
            result.path,
            result.source,
            str(result.counts["loaded"]),
            str(result.counts["issues"]),
            left_out or "-",
        )
    return table


@intel_app.command("check")
def intel_check(feeds: FeedsArg) -> None:
    """Load feeds as a scan would: indicators per feed, and every malformed entry with where it is."""
    from shellwatch.enrich.intel import IntelIndex, load_feed

    results = [load_feed(path) for path in feeds]
    for result in results:
        for issue in result.issues:
            err.print(f"[yellow]malformed:[/yellow] {issue}", highlight=False, soft_wrap=True)
    Console().print(_feed_table(results))
    index = IntelIndex.from_results(results)
    sys.stdout.write(f"{len(index)} distinct indicators\n")
    if any(result.counts["issues"] for result in results):
        raise typer.Exit(1)


@intel_app.command("lookup")
def intel_lookup(
    values: Annotated[list[str], typer.Argument(help="IPs, domains, URLs or hashes.")],
    intel: IntelOpt = None,
    settings_file: ConfigOpt = None,
) -> None:
    """Which indicators of the feeds (--intel, or the settings file's) match these values."""
    from shellwatch.enrich.intel import IntelIndex, load_feed

    feeds = enrich_settings(settings_file, intel=intel).intel
    if not feeds:
        raise ConfigError("no feeds: give --intel FILE or set [enrich] intel in the settings file")
    index = IntelIndex.from_results(load_feed(path) for path in feeds)
    found_any = False
    for value in values:
        found: list[Indicator | None] = [
            *index.match_ip(value),
            *index.match_domain(value),
            *index.match_url(value),
            *index.match_hash(value),
        ]
        found_any = found_any or bool(found)
        for indicator in found or [None]:
            row = {"value": value, "matched": indicator is not None}
            if indicator is not None:
                row |= {
                    "indicator": indicator.value,
                    "type": indicator.type,
                    "source": indicator.source,
                    "description": indicator.description,
                }
            sys.stdout.buffer.write(orjson.dumps(row) + b"\n")
    if not found_any:
        raise typer.Exit(1)


@reputation_app.command("import")
def reputation_import(
    files: Annotated[
        list[Path], typer.Argument(help="MalwareBazaar CSV exports (.csv or .zip) or hash lists.")
    ],
    source: Annotated[
        str | None, typer.Option("--source", help="Source name for the rows (default: from the file).")
    ] = None,
    hash_db: HashDbOpt = None,
    settings_file: ConfigOpt = None,
) -> None:
    """Add hash lists to the reputation database that scans look hashes up in."""
    path = enrich_settings(settings_file).hash_db if hash_db is None else hash_db
    db = HashDatabase(path or default_db_path())
    failed = False
    try:
        for file in files:
            try:
                result = db.import_csv(file, source=source)
            except InputError as exc:
                err.print(f"[red]not imported:[/red] {exc}", highlight=False, soft_wrap=True)
                failed = True
                continue
            for issue in result.errors:
                err.print(f"[yellow]skipped:[/yellow] {issue}", highlight=False, soft_wrap=True)
            sys.stdout.write(
                f"{file}: {result.format}, {result.imported} new, {result.updated} updated, "
                f"{result.unchanged} unchanged, {result.skipped_total} rows skipped\n"
            )
    finally:
        db.close()
    sys.stdout.write(f"database: {db.path}\n")
    if failed:
        raise typer.Exit(1)


@reputation_app.command("lookup")
def reputation_lookup(
    hashes: Annotated[list[str], typer.Argument(help="MD5, SHA-1 or SHA-256 digests.")],
    hash_db: HashDbOpt = None,
    settings_file: ConfigOpt = None,
) -> None:
    """What the reputation database says of these hashes (no VirusTotal request is made)."""
    path = enrich_settings(settings_file).hash_db if hash_db is None else hash_db
    db = HashDatabase(path or default_db_path())
    try:
        for text in hashes:
            digest = normalize_hash(text)
            answer = db.lookup(digest) if digest is not None else None
            row: dict[str, object] = {"hash": text, "known": answer is not None}
            if digest is None:
                row["error"] = "not an MD5, SHA-1 or SHA-256 digest"
            elif answer is not None:
                row |= {"verdict": answer.verdict, "name": answer.name, "source": answer.source}
            sys.stdout.buffer.write(orjson.dumps(row) + b"\n")
    finally:
        db.close()


@allowlist_app.command("check")
def allowlist_check(
    allowlist: Annotated[
        Path | None, typer.Argument(help="The allowlist (default: the settings file's).")
    ] = None,
    within: Annotated[int, typer.Option("--within", help="Days ahead to warn of expiry.")] = 30,
    settings_file: ConfigOpt = None,
) -> None:
    """Validate the allowlist; list its entries, and those expired or expiring within --within days."""
    path = allowlist or enrich_settings(settings_file).allowlist
    if path is None:
        raise ConfigError("no allowlist: give FILE or set [enrich] allowlist in the settings file")
    loaded = load_allowlist(path)
    for issue in loaded.issues:
        err.print(f"[red]invalid:[/red] {issue}", highlight=False, soft_wrap=True)
    today = date.today()
    soon = {entry.index for entry in expiring(loaded.entries, within, today)}
    console = Console()
    console.print(
        f"{path}: {len(loaded.entries)} entries, {len(loaded.issues)} invalid",
        highlight=False,
        soft_wrap=True,
    )
    table = Table()
    for column in ("entry", "line", "owner", "expires", "state", "reason"):
        table.add_column(column, overflow="fold")
    for entry in loaded.entries:
        state = "expired" if entry.is_expired(today) else "expiring" if entry.index in soon else "live"
        style = {"expired": "red", "expiring": "yellow"}.get(state, "")
        table.add_row(
            entry.label,
            str(entry.line),
            entry.owner,
            entry.expires.isoformat(),
            state,
            entry.reason,
            style=style,
        )
    console.print(table)
    if loaded.issues:
        raise typer.Exit(1)
