"""A sink that keeps everything it is given, for pipeline tests."""

from __future__ import annotations

from shellwatch.events import Alert, Event
from shellwatch.ingest.base import ParseIssue
from shellwatch.pipeline import FileReport


class ListSink:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.alerts: list[Alert] = []
        self.issues: list[ParseIssue] = []
        self.started = 0

    def start(self) -> None:
        self.started += 1

    def event(self, event: Event) -> None:
        self.events.append(event)

    def alert(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def issue(self, issue: ParseIssue) -> None:
        self.issues.append(issue)

    def file_done(self, report: FileReport) -> None:
        """Reports are checked through the summary."""

    def close(self) -> None:
        """Nothing to flush: everything is kept in memory."""
