"""Shared reader helpers: NDJSON iteration, first-line JSON sniffing, skipping blank lines."""

from __future__ import annotations

import io

from shellwatch.ingest.base import (
    ParseIssue,
    ReadContext,
    first_json_object,
    iter_json_objects,
    iter_lines,
    next_nonblank,
)


def test_iter_json_objects_yields_objects_and_reports_the_rest() -> None:
    data = b'{"a": 1}\n\n   \nnot json\n[1, 2]\n{"b": 2}\r\n'
    issues: list[ParseIssue] = []
    ctx = ReadContext("x.json", "test", on_issue=issues.append)
    rows = list(iter_json_objects(iter_lines(io.BytesIO(data)), ctx))
    assert [(line.number, line.offset, row) for line, row in rows] == [(1, 0, {"a": 1}), (6, 30, {"b": 2})]
    assert [(issue.line, issue.offset, issue.reason.split(":")[0], issue.raw) for issue in issues] == [
        (4, 14, "not JSON", "not json"),
        (5, 23, "not a JSON object", "[1, 2]"),
    ]
    assert (ctx.records, ctx.errors) == (4, 2)


def test_first_json_object() -> None:
    assert first_json_object(b'\n  {"a": 1}\n{"b": 2}\n') == {"a": 1}
    assert first_json_object(b'{"a": 1, "b": "cut sh') is None
    assert first_json_object(b'[{"a": 1}]\n') is None
    assert first_json_object(b"#fields\tts\n") is None
    assert first_json_object(b"") is None


def test_next_nonblank_leaves_the_rest() -> None:
    lines = iter_lines(io.BytesIO(b"\n \nfirst\nsecond\n"))
    first = next_nonblank(lines)
    assert first is not None and (first.number, first.data) == (3, b"first")
    assert [line.data for line in lines] == [b"second"]
    assert next_nonblank(iter_lines(io.BytesIO(b"\n\n"))) is None
