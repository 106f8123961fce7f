"""eslogger reader: both audit-token shapes, exit status decoding, bad lines, sniffing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shellwatch.events import entity_id
from shellwatch.ingest.base import ReaderOptions
from shellwatch.ingest.eslogger import _exit_code, _token
from shellwatch.ingest.registry import load_readers
from tests.conftest import ReadEvents


def test_array_and_object_audit_tokens_agree() -> None:
    array = [501, 502, 20, 503, 21, 4242, 100010, 9001]
    obj = {"auid": 501, "euid": 502, "egid": 20, "ruid": 503, "rgid": 21, "pid": 4242, "asid": 100010,
           "pidversion": 9001}  # fmt: skip
    assert _token(array) == _token(obj) == obj


@pytest.mark.parametrize(("status", "code"), [(0, 0), (256, 1), (0x7F00, 127), (9, 137), (15, 143)])
def test_exit_code_from_wait_status(status: int, code: int) -> None:
    assert _exit_code(status) == code


def _exec(pid: int, pidversion: int, path: str, args: list[str]) -> dict[str, object]:
    token = {"auid": 4294967295, "euid": 0, "egid": 0, "ruid": 0, "rgid": 0, "pid": pid, "asid": 1,
             "pidversion": pidversion}  # fmt: skip
    proc = {"audit_token": token, "ppid": 1, "executable": {"path": "/bin/zsh"}, "tty": None}
    target = {**proc, "audit_token": {**token, "pidversion": pidversion + 1}, "executable": {"path": path}}
    return {"version": 8, "time": "2023-11-14T22:13:20.999999999Z", "event_type": 9, "seq_num": 1,
            "global_seq_num": 7, "mach_time": 1, "process": proc,
            "event": {"exec": {"target": target, "args": args, "cwd": {"path": "/tmp"}}}}  # fmt: skip


def test_exec_maps_target_and_keeps_going_after_a_bad_line(tmp_path: Path, read: ReadEvents) -> None:
    path = tmp_path / "es.jsonl"
    path.write_text(
        json.dumps(_exec(900, 10, "/bin/sh", ["sh", "-c", "id"])) + "\n{broken\n"
        + json.dumps(_exec(901, 20, "/usr/bin/id", ["id"])) + "\n"
    )  # fmt: skip
    events, issues, report = read(path, "eslogger", ReaderOptions(host="mac9"))
    assert report.records == 3 and report.errors == 1 and issues[0].line == 2
    first = events[0]
    assert first["process.pid"] == 900
    assert first["process.entity_id"] == entity_id("mac9", 900, 11)
    assert first["process.command_line"] == "sh -c id"
    assert first["process.args_count"] == 3
    assert first["process.parent.name"] == "zsh"
    assert first["user.id"] == "0"
    assert first["@timestamp"] == "2023-11-14T22:13:20.999999Z"
    assert first["eslogger.version"] == 8 and first["event.sequence"] == 7
    assert first["host.name"] == "mac9"


def test_sniff_claims_only_eslogger() -> None:
    reader = load_readers().get("eslogger")
    line = json.dumps(_exec(1, 1, "/bin/sh", ["sh"])).encode()
    assert reader.sniff(line + b"\n", "x.jsonl")
    # A first message longer than the sniffed head is recognised by eslogger's own keys.
    assert reader.sniff(line[:150], "x.jsonl")
    assert not reader.sniff(b'{"name":"p","hostIdentifier":"h","columns":{}}\n', "x")
    assert not reader.sniff(b'{"__REALTIME_TIMESTAMP":"1","MESSAGE":"x"}\n', "x")
