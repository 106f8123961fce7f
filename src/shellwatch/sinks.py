"""Where a scan's output goes: the database, a dead-letter file, an NDJSON stream.

Each sink receives events, alerts, parse issues and per-file reports; :class:`Sinks` fans them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

import orjson

from shellwatch.events import Alert, Event
from shellwatch.ingest.base import ParseIssue
from shellwatch.store.rows import EventRow

if TYPE_CHECKING:  # the database layer (SQLAlchemy) is imported only by the commands that store
    from shellwatch.store.db import Store


class FileReport(Protocol):
    def as_row(self) -> dict[str, object]: ...


class Sink(Protocol):
    def start(self) -> None: ...
    def event(self, event: Event) -> None: ...
    def alert(self, alert: Alert) -> None: ...
    def issue(self, issue: ParseIssue) -> None: ...
    def file_done(self, report: FileReport) -> None: ...
    def close(self) -> None: ...


class Sinks:
    """Fans every item out to several sinks."""

    def __init__(self, sinks: Sequence[Sink]) -> None:
        self.sinks = list(sinks)

    def start(self) -> None:
        """Called once before the first item (by a parallel scan, once its workers run)."""
        for sink in self.sinks:
            sink.start()

    def event(self, event: Event) -> None:
        for sink in self.sinks:
            sink.event(event)

    def alert(self, alert: Alert) -> None:
        for sink in self.sinks:
            sink.alert(alert)

    def issue(self, issue: ParseIssue) -> None:
        for sink in self.sinks:
            sink.issue(issue)

    def file_done(self, report: FileReport) -> None:
        for sink in self.sinks:
            sink.file_done(report)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()


def dumps(document: Event | Alert) -> bytes:
    """One NDJSON line."""
    return orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)


class NdjsonSink:
    """Writes events (or alerts) as ECS NDJSON to a binary stream."""

    def __init__(self, stream: IO[bytes], *, events: bool = True, alerts: bool = False) -> None:
        self.stream = stream
        self.with_events = events
        self.with_alerts = alerts

    def start(self) -> None:
        pass

    def event(self, event: Event) -> None:
        if self.with_events:
            self.stream.write(dumps(event))

    def alert(self, alert: Alert) -> None:
        if self.with_alerts:
            self.stream.write(dumps(alert))

    def issue(self, issue: ParseIssue) -> None:
        pass

    def file_done(self, report: FileReport) -> None:
        pass

    def close(self) -> None:
        self.stream.flush()


class DeadLetterSink:
    """Writes every record that could not be parsed to a JSONL file; the file is made only when needed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stream: IO[bytes] | None = None
        self.count = 0

    def start(self) -> None:
        pass

    def event(self, event: Event) -> None:
        pass

    def alert(self, alert: Alert) -> None:
        pass

    def issue(self, issue: ParseIssue) -> None:
        if self._stream is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._stream = self.path.open("ab")
        record = {
            "path": issue.path,
            "format": issue.format,
            "line": issue.line,
            "offset": issue.offset,
            "reason": issue.reason,
            "raw": issue.raw,
        }
        self._stream.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        self.count += 1

    def file_done(self, report: FileReport) -> None:
        pass

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


class StoreSink:
    """Writes a scan's events, alerts and parse errors to the database in batches.

    The database is opened, and the scan run begun, by :meth:`start`: a parallel scan calls it once its
    workers are running, so that loading the database layer overlaps their work.
    """

    def __init__(
        self, url: str, inputs: Sequence[str], *, keep_events: bool = True, batch: int = 2000
    ) -> None:
        self.url = url
        self.inputs = list(inputs)
        self.keep_events = keep_events
        self.batch = batch
        self._store: Store | None = None
        self.scan_id = 0
        self._events: list[Event] = []
        self._alerts: list[Alert] = []
        self._issues: list[ParseIssue] = []
        self._files: list[dict[str, object]] = []

    def start(self) -> None:
        if self._store is None:
            from shellwatch.store.db import Store

            self._store = Store(self.url)
            self.scan_id = self._store.begin_scan(self.inputs)

    @property
    def store(self) -> Store:
        self.start()
        assert self._store is not None
        return self._store

    def event(self, event: Event) -> None:
        if not self.keep_events:
            return
        self._events.append(event)
        if len(self._events) >= self.batch:
            self.flush()

    def alert(self, alert: Alert) -> None:
        self._alerts.append(alert)
        if len(self._alerts) >= self.batch:
            self.flush()

    def issue(self, issue: ParseIssue) -> None:
        self._issues.append(issue)
        if len(self._issues) >= self.batch:
            self.flush()

    def file_done(self, report: FileReport) -> None:
        self._files.append(report.as_row())

    def event_rows(self, rows: Sequence[EventRow]) -> None:
        """Events already serialized as rows (by worker processes), written at once."""
        if self.keep_events:
            self.store.add_event_rows(self.scan_id, rows)

    def flush(self) -> None:
        self.store.add_events(self.scan_id, self._events)
        self.store.add_alerts(self.scan_id, self._alerts)
        self.store.add_parse_errors(self.scan_id, self._issues)
        self.store.add_file_stats(self.scan_id, self._files)
        self._events, self._alerts, self._issues, self._files = [], [], [], []

    def close(self) -> None:
        self.flush()

    def finish(self, status: str, totals: dict[str, int]) -> None:
        """Record how the scan run ended and release the database."""
        store = self.store
        try:
            store.finish_scan(self.scan_id, status, totals)
        finally:
            store.close()
