from __future__ import annotations

from pathlib import Path

import pytest

from shellwatch.ingest.base import ParseIssue
from shellwatch.store.db import FileStat, Store, StoredAlert, StoredEvent, StoredParseError, sqlite_url

EVENT = {
    "@timestamp": "2023-11-14T22:13:20.000000Z",
    "event.category": ["process"],
    "event.dataset": "auditd.log",
    "event.action": "executed",
    "host.name": "web01",
    "user.name": "alice",
    "process.name": "bash",
    "process.args": ["bash", "-c", "id"],
    "process.pid": 4242,
    "process.interactive": True,
    "process.command_line": "bash -c 'id \u00e9\\xff'",
}


def _roundtrip(store: Store) -> None:
    scan_id = store.begin_scan(["/var/log/audit/audit.log"])
    store.add_events(scan_id, [EVENT, {**EVENT, "process.pid": 4243}])
    store.add_alerts(scan_id, [{**EVENT, "rule.id": "r1", "rule.name": "Shell", "rule.level": "high"}])
    store.add_parse_errors(scan_id, [ParseIssue("/x.log", "auditd", "no msg=audit(...)", 7, 120, "garbage")])
    store.add_file_stats(
        scan_id,
        [{"path": "/x.log", "format": "auditd", "records": 9, "events": 2, "errors": 1, "note": None}],
    )
    store.finish_scan(scan_id, "done", {"files": 1, "records": 9, "events": 2, "errors": 1, "alerts": 1})
    assert store.events(scan_id) == [EVENT, {**EVENT, "process.pid": 4243}]
    assert store.count(StoredEvent, scan_id) == 2
    assert store.count(StoredAlert, scan_id) == 1
    assert store.count(StoredParseError, scan_id) == 1
    assert store.count(FileStat, scan_id) == 1
    (run,) = [run for run in store.scan_runs() if run.id == scan_id]
    assert (run.status, run.events, run.errors, run.alerts, run.inputs) == (
        "done",
        2,
        1,
        1,
        ["/var/log/audit/audit.log"],
    )
    assert run.finished is not None


def test_sqlite_roundtrip(tmp_path: Path) -> None:
    store = Store(sqlite_url(str(tmp_path / "sw.db")))
    try:
        _roundtrip(store)
    finally:
        store.close()


def test_postgresql_roundtrip(postgres_url: str) -> None:
    store = Store(postgres_url)
    try:
        _roundtrip(store)
    finally:
        store.close()


def test_unopenable_database_is_a_store_error(tmp_path: Path) -> None:
    from shellwatch.errors import StoreError

    with pytest.raises(StoreError, match="cannot open the database"):
        Store(sqlite_url(str(tmp_path / "no" / "such" / "dir" / "sw.db")))
