"""The database: scan runs, per-file statistics, events, alerts and parse errors, through SQLAlchemy.

SQLite is the embedded default (a file URL); PostgreSQL works when given a ``postgresql://`` URL. Events and
alerts are kept whole as JSON documents beside a few indexed columns that analysts filter on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.sql import Select

from shellwatch.errors import StoreError
from shellwatch.events import Alert, Event, Value
from shellwatch.ingest.base import ParseIssue
from shellwatch.store.rows import EventRow, event_row


class Base(DeclarativeBase):
    pass


class ScanRun(Base):
    __tablename__ = "scan_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    inputs: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="running")
    files: Mapped[int] = mapped_column(Integer, default=0)
    records: Mapped[int] = mapped_column(Integer, default=0)
    events: Mapped[int] = mapped_column(Integer, default=0)
    alerts: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)


class FileStat(Base):
    __tablename__ = "scan_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scan_runs.id"), index=True)
    path: Mapped[str] = mapped_column(Text)
    format: Mapped[str | None] = mapped_column(String(64))
    records: Mapped[int] = mapped_column(Integer)
    events: Mapped[int] = mapped_column(Integer)
    errors: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)


class StoredEvent(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scan_runs.id"), index=True)
    timestamp: Mapped[str | None] = mapped_column(String(40), index=True)
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    user: Mapped[str | None] = mapped_column(String(255))
    dataset: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(128))
    process_name: Mapped[str | None] = mapped_column(String(255))
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)


class StoredAlert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scan_runs.id"), index=True)
    timestamp: Mapped[str | None] = mapped_column(String(40), index=True)
    rule_id: Mapped[str] = mapped_column(String(64), index=True)
    rule_name: Mapped[str] = mapped_column(Text)
    level: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)


class StoredParseError(Base):
    __tablename__ = "parse_errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scan_runs.id"), index=True)
    path: Mapped[str] = mapped_column(Text)
    format: Mapped[str | None] = mapped_column(String(64))
    line: Mapped[int | None] = mapped_column(Integer)
    offset: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class AlertRecord:
    """A stored alert: its row id (what ``shellwatch alerts show`` takes), its scan and its document."""

    id: int
    scan_id: int
    doc: dict[str, Any]


def _text(value: Value) -> str | None:
    return None if value is None or isinstance(value, list) else str(value)


# The events and alerts tables as plain text columns: documents are serialized once, by orjson, and written
# as they are, without a second serialization (PostgreSQL casts the text to its JSON column type).
_EVENT_ROWS = Table(
    "events",
    MetaData(),
    Column("scan_id", Integer),
    Column("timestamp", String(40)),
    Column("host", String(255)),
    Column("user", String(255)),
    Column("dataset", String(64)),
    Column("action", String(128)),
    Column("process_name", String(255)),
    Column("doc", Text),
)


_ALERT_ROWS = Table(
    "alerts",
    MetaData(),
    Column("scan_id", Integer),
    Column("timestamp", String(40)),
    Column("rule_id", String(64)),
    Column("rule_name", Text),
    Column("level", String(16)),
    Column("category", String(32)),
    Column("host", String(255)),
    Column("doc", Text),
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _serializer(value: object) -> str:
    return orjson.dumps(value).decode()


def open_engine(url: str) -> Engine:
    """An engine for ``url``, with the schema created; SQLite in WAL mode."""
    try:
        engine = create_engine(url, json_serializer=_serializer, json_deserializer=orjson.loads)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open the database {url}: {exc}") from exc
    return engine


def sqlite_url(path: str) -> str:
    return f"sqlite:///{path}"


class Store:
    """Writes one scan run and reads back what scans stored."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = open_engine(url)

    def begin_scan(self, inputs: Sequence[str]) -> int:
        with Session(self.engine) as session, session.begin():
            run = ScanRun(started=datetime.now(UTC), inputs=list(inputs), status="running")
            session.add(run)
            session.flush()
            return run.id

    def add_events(self, scan_id: int, events: Sequence[Event]) -> None:
        self.add_event_rows(scan_id, [event_row(doc) for doc in events])

    def add_event_rows(self, scan_id: int, rows: Sequence[EventRow]) -> None:
        """Events already turned into rows (:func:`~shellwatch.store.rows.event_row`), in one transaction."""
        if not rows:
            return
        columns = ("timestamp", "host", "user", "dataset", "action", "process_name", "doc")
        values = [{"scan_id": scan_id, **dict(zip(columns, row, strict=True))} for row in rows]
        try:
            with self.engine.begin() as connection:
                connection.execute(_EVENT_ROWS.insert(), values)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write to {self.url}: {exc}") from exc

    def add_alerts(self, scan_id: int, alerts: Sequence[Alert]) -> None:
        """Alerts in one transaction, each document serialized once (as for events)."""
        if not alerts:
            return
        rows = [
            {
                "scan_id": scan_id,
                "timestamp": _text(doc.get("@timestamp")),
                "rule_id": str(doc.get("rule.id")),
                "rule_name": str(doc.get("rule.name")),
                "level": _text(doc.get("rule.level")),
                "category": _text(doc.get("shellwatch.category")),
                "host": _text(doc.get("host.name")),
                "doc": orjson.dumps(doc).decode(),
            }
            for doc in alerts
        ]
        try:
            with self.engine.begin() as connection:
                connection.execute(_ALERT_ROWS.insert(), rows)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write to {self.url}: {exc}") from exc

    def add_parse_errors(self, scan_id: int, issues: Iterable[ParseIssue]) -> None:
        rows = [
            {
                "scan_id": scan_id,
                "path": issue.path,
                "format": issue.format,
                "line": issue.line,
                "offset": issue.offset,
                "reason": issue.reason,
                "raw": issue.raw,
            }
            for issue in issues
        ]
        if rows:
            self._insert(StoredParseError, rows)

    def add_file_stats(self, scan_id: int, stats: Iterable[dict[str, object]]) -> None:
        rows = [{"scan_id": scan_id, **stat} for stat in stats]
        if rows:
            self._insert(FileStat, rows)

    def finish_scan(self, scan_id: int, status: str, totals: dict[str, int]) -> None:
        with Session(self.engine) as session, session.begin():
            run = session.get(ScanRun, scan_id)
            if run is None:
                raise StoreError(f"scan run {scan_id} is not in {self.url}")
            run.finished = datetime.now(UTC)
            run.status = status
            for key, value in totals.items():
                setattr(run, key, value)

    def _insert(self, table: type[Base], rows: list[dict[str, Any]]) -> None:
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(table), rows)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write to {self.url}: {exc}") from exc

    def count(self, table: type[Base], scan_id: int | None = None) -> int:
        statement = select(func.count()).select_from(table)
        if scan_id is not None:
            statement = statement.where(table.scan_id == scan_id)  # type: ignore[attr-defined]
        with Session(self.engine) as session:
            return int(session.scalar(statement) or 0)

    def scan_runs(self) -> list[ScanRun]:
        with Session(self.engine) as session:
            return list(session.scalars(select(ScanRun).order_by(ScanRun.id)))

    def events(self, scan_id: int) -> list[dict[str, Any]]:
        with Session(self.engine) as session:
            statement = select(StoredEvent.doc).where(StoredEvent.scan_id == scan_id).order_by(StoredEvent.id)
            return list(session.scalars(statement))

    def alert(self, alert_id: int) -> AlertRecord | None:
        """The stored alert with this id, or None."""
        statement = select(StoredAlert.id, StoredAlert.scan_id, StoredAlert.doc).where(
            StoredAlert.id == alert_id
        )
        found = self._alert_records(statement)
        return found[0] if found else None

    def alerts(
        self,
        scan_id: int | None = None,
        *,
        limit: int | None = None,
        min_score: float | None = None,
        rule: str | None = None,
        host: str | None = None,
    ) -> list[AlertRecord]:
        """Stored alerts, newest scan first and in time order within a scan.

        ``rule`` matches a rule id exactly or a part of the rule title (any case); ``host`` is the exact
        host name; ``min_score`` keeps alerts whose ``shellwatch.score`` is at least that.
        """
        statement = select(StoredAlert.id, StoredAlert.scan_id, StoredAlert.doc).order_by(
            StoredAlert.scan_id.desc(), StoredAlert.timestamp, StoredAlert.id
        )
        if scan_id is not None:
            statement = statement.where(StoredAlert.scan_id == scan_id)
        if host is not None:
            statement = statement.where(StoredAlert.host == host)
        if rule is not None:
            statement = statement.where(
                or_(StoredAlert.rule_id == rule, StoredAlert.rule_name.icontains(rule, autoescape=True))
            )
        if min_score is not None:
            statement = statement.where(StoredAlert.doc["shellwatch.score"].as_float() >= min_score)
        if limit is not None:
            statement = statement.limit(limit)
        return self._alert_records(statement)

    def _alert_records(self, statement: Select[tuple[int, int, dict[str, Any]]]) -> list[AlertRecord]:
        try:
            with Session(self.engine) as session:
                return [AlertRecord(row.id, row.scan_id, row.doc) for row in session.execute(statement)]
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read alerts from {self.url}: {exc}") from exc

    def close(self) -> None:
        self.engine.dispose()
