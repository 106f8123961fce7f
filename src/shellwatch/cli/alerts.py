"""``shellwatch alerts list | show``: the alerts earlier scans stored, listed and laid out for an analyst."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console

from shellwatch.cli.alert_view import alert_view, alerts_table
from shellwatch.cli.app import DbOpt, app, database_url, err
from shellwatch.errors import ShellwatchError

if TYPE_CHECKING:
    from shellwatch.store.db import AlertRecord, Store

alerts_app = typer.Typer(help="The stored alerts: list them, show one with its process tree and context.")
app.add_typer(alerts_app, name="alerts")

DEFAULT_LIMIT = 50


class ListFormat(StrEnum):
    TABLE = "table"
    JSONL = "jsonl"


def shown_url(url: str) -> str:
    """The database URL as messages name it (no password)."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def open_store(db: str | None) -> Iterator[Store]:
    """The store at ``--db``; a SQLite file must exist already (reading never creates one)."""
    from sqlalchemy.engine import make_url

    from shellwatch.store.db import Store

    url = database_url(db)
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() == "sqlite" and path and path != ":memory:" and not Path(path).exists():
        raise ShellwatchError(f"no database at {path} (run `shellwatch scan` first, or give --db)")
    store = Store(url)
    try:
        yield store
    finally:
        store.close()


@alerts_app.command("list")
def list_alerts(
    db: DbOpt = None,
    scan: Annotated[int | None, typer.Option("--scan", help="Only the alerts of scan N.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most N alerts.")] = DEFAULT_LIMIT,
    min_score: Annotated[
        float | None, typer.Option("--min-score", help="Only alerts scored at least N.")
    ] = None,
    rule: Annotated[
        str | None, typer.Option("--rule", help="Only alerts of this rule (id, or part of the title).")
    ] = None,
    host: Annotated[str | None, typer.Option("--host", help="Only alerts from this host.")] = None,
    output_format: Annotated[
        ListFormat,
        typer.Option("--format", help="A table, or JSON lines (each document with its shellwatch.alert.id)."),
    ] = ListFormat.TABLE,
) -> None:
    """Stored alerts, newest scan first and in time order within a scan."""
    with open_store(db) as store:
        # One more than asked tells whether the list was cut.
        records = store.alerts(scan, limit=limit + 1, min_score=min_score, rule=rule, host=host)
    shown, more = records[:limit], len(records) > limit
    if output_format is ListFormat.JSONL:
        _write_jsonl(shown)
        return
    if not shown:
        err.print("no stored alerts match", highlight=False)
        return
    title = f"alerts (first {limit}; --limit shows more)" if more else f"alerts ({len(shown)})"
    Console().print(alerts_table(shown, title))


def _write_jsonl(records: list[AlertRecord]) -> None:
    for record in records:
        line = {"shellwatch.alert.id": record.id, "shellwatch.scan.id": record.scan_id, **record.doc}
        sys.stdout.buffer.write(orjson.dumps(line) + b"\n")
    sys.stdout.buffer.flush()


@alerts_app.command("show")
def show_alert(
    alert_id: Annotated[int, typer.Argument(metavar="ID", help="The alert's id (from `alerts list`).")],
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored document as JSON.")] = False,
) -> None:
    """One stored alert: rule and score, the process tree, then its session, network and other context."""
    with open_store(db) as store:
        record = store.alert(alert_id)
        url = store.url
    if record is None:
        raise ShellwatchError(f"no alert with id {alert_id} in {shown_url(url)}")
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(record.doc, option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.buffer.flush()
        return
    Console().print(alert_view(record.doc, record.id))
