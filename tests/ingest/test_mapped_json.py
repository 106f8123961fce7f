"""mapped_json reader: mapping validation (ConfigError names file and key), input shapes, coercion."""

from __future__ import annotations

from pathlib import Path

import pytest

from shellwatch.errors import ConfigError
from shellwatch.ingest.base import ReaderOptions
from shellwatch.ingest.mapped_json import MappedJsonReader
from shellwatch.ingest.registry import load_readers
from tests.conftest import ReadEvents


def _mapping(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edr.mapping.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("fields:\n  process.nonsense: x\n", "fields.process.nonsense"),
        ("fields:\n  process.pid: {path: p, type: integer}\n", "fields.process.pid.type"),
        ("fields:\n  '@timestamp': {path: t, format: weird}\n", "fields.@timestamp.format"),
        ("fields:\n  process.pid: {path: p, colour: red}\n", "fields.process.pid.colour"),
        ("fields:\n  process.pid: p\nconstants:\n  event.category: [shell]\n", "constants.event.category"),
        ("fields:\n  process.pid: p\nunmapped: maybe\n", "unmapped"),
        ("fields:\n  process.pid: p\nrecord: data\n", "record"),
        ("fields: {}\n", "fields"),
    ],
)
def test_invalid_mapping_names_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    path = _mapping(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        MappedJsonReader(ReaderOptions(mapping=path))
    message = str(caught.value)
    assert str(path) in message and f": {key}:" in message


def test_missing_mapping_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--mapping"):
        MappedJsonReader(ReaderOptions())
    with pytest.raises(ConfigError, match="not valid YAML"):
        MappedJsonReader(ReaderOptions(mapping=_mapping(tmp_path, "fields: [unclosed\n")))
    with pytest.raises(ConfigError, match="cannot read"):
        MappedJsonReader(ReaderOptions(mapping=tmp_path / "absent.yaml"))


def test_top_level_array_and_bad_values(tmp_path: Path, read: ReadEvents) -> None:
    mapping = _mapping(
        tmp_path,
        "fields:\n  process.pid: pid\n  source.ip: ip\n  '@timestamp': {path: t, format: epoch}\n"
        "  user.name: [who.name, user]\nunmapped: drop\n",
    )
    data = tmp_path / "export.json"
    data.write_text(
        '[{"pid": 7, "ip": "192.0.2.4", "t": 1700000000, "user": "bob"},\n'
        ' {"pid": "seven", "ip": "not-an-ip", "t": 1700000001, "who": {"name": "eve"}}, 3]'
    )
    events, issues, report = read(data, "mapped_json", ReaderOptions(mapping=mapping))
    assert report.records == 3 and report.errors == 2
    assert events[0] == {**events[0], "process.pid": 7, "source.ip": "192.0.2.4", "user.name": "bob"}
    assert events[0]["@timestamp"] == "2023-11-14T22:13:20.000000Z"
    assert "process.pid" not in events[1] and "source.ip" not in events[1]
    assert events[1]["user.name"] == "eve"
    assert "process.pid" in issues[0].reason and "source.ip" in issues[0].reason
    assert "record 3 is not a JSON object" in issues[1].reason


def test_never_sniffs() -> None:
    assert not load_readers().get("mapped_json").sniff(b'{"a": 1}\n', "x.json")
