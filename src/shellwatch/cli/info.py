"""``shellwatch formats``, ``schema`` and ``samples``: what shellwatch reads and writes."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from shellwatch import schema
from shellwatch.cli.app import app, sample_dir
from shellwatch.ingest.registry import load_readers


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
