from __future__ import annotations

import gzip
from pathlib import Path

from shellwatch.detect.engine import Detector
from shellwatch.detect.stage import DetectionStage
from shellwatch.events import Event
from shellwatch.pipeline import UNKNOWN_FORMAT, FileReport, IngestConfig, ingest, run_scan
from shellwatch.sinks import DeadLetterSink, Sinks
from shellwatch.sources.files import expand
from tests.sinks import ListSink

HISTORY = b"#1700000000\nid\n#1700000001\nuname -a\n"


def test_events_point_back_to_their_file_and_reader(tmp_path: Path) -> None:
    path = tmp_path / "alice_history"
    path.write_bytes(HISTORY)
    reports: list[FileReport] = []
    events = list(ingest(expand([path]), IngestConfig(), reports))
    assert [event["process.command_line"] for event in events] == ["id", "uname -a"]
    assert all(event["log.file.path"] == str(path) for event in events)
    assert all(event["shellwatch.log.format"] == "shell_history" for event in events)
    assert reports[0].as_row() == {
        "path": str(path),
        "format": "shell_history",
        "records": 2,
        "events": 2,
        "errors": 0,
        "note": None,
    }


def test_unknown_format_is_counted_and_dead_lettered_not_skipped(tmp_path: Path) -> None:
    (tmp_path / "mystery.bin").write_bytes(b"\x00\x01\x02 not a log format anyone knows\n")
    (tmp_path / "empty.log").write_bytes(b"")
    sink = ListSink()
    dead = DeadLetterSink(tmp_path / "dead.jsonl")
    summary = run_scan(
        expand([tmp_path / "mystery.bin", tmp_path / "empty.log"]),
        IngestConfig(),
        DetectionStage(Detector()),
        Sinks([sink, dead]),
    )
    dead.close()
    mystery, empty = summary.files
    assert (mystery.errors, mystery.note) == (1, UNKNOWN_FORMAT)
    assert (empty.errors, empty.note) == (0, "empty")
    assert [issue.reason for issue in sink.issues] == [UNKNOWN_FORMAT]
    assert "mystery.bin" in (tmp_path / "dead.jsonl").read_text()
    assert summary.totals()["errors"] == 1


def test_forced_format_overrides_sniffing(tmp_path: Path) -> None:
    path = tmp_path / "commands.txt"  # no history-like name: not sniffed
    path.write_bytes(b"whoami\nid\n")
    reports: list[FileReport] = []
    assert list(ingest(expand([path]), IngestConfig(), reports)) == []
    assert reports[0].note == UNKNOWN_FORMAT
    reports = []
    events = list(ingest(expand([path]), IngestConfig(format="shell_history"), reports))
    assert [event["process.command_line"] for event in events] == ["whoami", "id"]


def test_truncated_gzip_keeps_what_was_read_and_reports_the_damage(tmp_path: Path) -> None:
    body = b"".join(b"#%d\necho %d\n" % (1700000000 + n, n) for n in range(5000))
    packed = gzip.compress(body)
    path = tmp_path / "big_history.gz"
    path.write_bytes(packed[: len(packed) // 2])
    sink = ListSink()
    summary = run_scan(expand([path]), IngestConfig(), DetectionStage(Detector()), Sinks([sink]))
    (report,) = summary.files
    assert 0 < report.events < 5000
    assert report.errors == 1
    assert "reading stopped" in sink.issues[0].reason
    assert sink.issues[0].path == str(path)


class EchoRule:
    id = "test-rule"
    title = "uname seen"
    level = "low"
    techniques = ("T1082",)
    category = "chained-commands"

    def matches(self, event: Event) -> bool:
        return event.get("process.name") == "uname"


def test_detection_stage_turns_matches_into_ecs_alerts(tmp_path: Path) -> None:
    path = tmp_path / "alice_history"
    path.write_bytes(HISTORY)
    sink = ListSink()
    summary = run_scan(expand([path]), IngestConfig(), DetectionStage(Detector([EchoRule()])), Sinks([sink]))
    assert summary.alerts == 1
    (alert,) = sink.alerts
    assert alert["event.kind"] == "alert"
    assert alert["rule.id"] == "test-rule"
    assert alert["rule.name"] == "uname seen"
    assert alert["threat.technique.id"] == ["T1082"]
    assert alert["shellwatch.category"] == "chained-commands"
    assert alert["process.command_line"] == "uname -a"
    assert alert["log.file.path"] == str(path)
    assert sink.events[1]["event.kind"] == "event", "the alert must not alter the stored event"
