"""The command line: thin adapters over the library (typer + rich), one module per group of commands."""

from shellwatch.cli import alerts, decode, info, lists, rules, scan  # noqa: F401  (each registers its commands on the app)
from shellwatch.cli.app import app, main, sample_dir

__all__ = ["app", "main", "sample_dir"]
