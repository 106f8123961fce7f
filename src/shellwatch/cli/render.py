"""Tables for people: the scan summary, alerts, rules, coverage."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from shellwatch.events import Alert
from shellwatch.pipeline import ScanSummary

PER_FILE_ROWS = 30
ALERT_ROWS = 200
LEVEL_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "informational": "dim",
}


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


def file_table(summary: ScanSummary, all_files: bool) -> Table | None:
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


def format_table(summary: ScanSummary) -> Table:
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


def _what(alert: Alert) -> str:
    for key in ("process.command_line", "powershell.file.script_block_text", "message"):
        value = alert.get(key)
        if isinstance(value, str) and value:
            return value[:300]
    return str(alert.get("event.action") or "")


def alert_table(alerts: Sequence[Alert], total: int) -> Table:
    """The alerts in time order (at most :data:`ALERT_ROWS`), one line each."""
    shown = sorted(alerts, key=lambda alert: str(alert.get("@timestamp") or ""))[:ALERT_ROWS]
    title = f"alerts ({total})" if total <= len(shown) else f"alerts (first {len(shown)} of {total})"
    table = Table(title=title, show_lines=False)
    for column, ratio in (("time", 2), ("level", 1), ("rule", 3), ("category", 2), ("host", 2), ("user", 1)):
        table.add_column(column, overflow="fold", ratio=ratio)
    table.add_column("what", overflow="fold", ratio=5)
    for alert in shown:
        level = str(alert.get("rule.level") or "")
        table.add_row(
            str(alert.get("@timestamp") or "")[:23],
            f"[{LEVEL_STYLE.get(level, '')}]{level}[/]" if level in LEVEL_STYLE else level,
            str(alert.get("rule.name") or ""),
            str(alert.get("shellwatch.category") or ""),
            str(alert.get("host.name") or ""),
            str(alert.get("user.name") or ""),
            _what(alert),
        )
    return table
