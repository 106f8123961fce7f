from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile
from pathlib import Path

import pytest

from shellwatch.errors import InputError
from shellwatch.sources.files import expand

HISTORY = b"#1700000000\nid\n#1700000001\nuname -a\n"


def test_plain_and_compressed_files_read_the_same(tmp_path: Path) -> None:
    (tmp_path / "a_history").write_bytes(HISTORY)
    (tmp_path / "b_history.gz").write_bytes(gzip.compress(HISTORY))
    (tmp_path / "c_history.bz2").write_bytes(bz2.compress(HISTORY))
    (tmp_path / "d_history.xz").write_bytes(lzma.compress(HISTORY))
    sources = list(expand([tmp_path]))
    assert [Path(source.name).name for source in sources] == [
        "a_history",
        "b_history.gz",
        "c_history.bz2",
        "d_history.xz",
    ]
    for source in sources:
        with source.open() as stream:
            assert stream.read() == HISTORY
        assert source.head(5) == HISTORY[:5]


def test_zip_members_are_sources_named_archive_bang_member(tmp_path: Path) -> None:
    archive = tmp_path / "logs.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("home/alice/.bash_history", HISTORY)
        zipped.writestr("nested/x_history.gz", gzip.compress(HISTORY))
        zipped.writestr("emptydir/", b"")
    sources = list(expand([archive]))
    assert [source.name for source in sources] == [
        f"{archive}!home/alice/.bash_history",
        f"{archive}!nested/x_history.gz",
    ]
    for source in sources:
        with source.open() as stream:
            assert stream.read() == HISTORY


def test_directories_are_walked_recursively_in_name_order(tmp_path: Path) -> None:
    for rel in ("b/2.log", "a/1.log", "a/sub/0.log", "c.log"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x\n")
    names = [Path(source.name).relative_to(tmp_path).as_posix() for source in expand([tmp_path])]
    assert names == ["a/1.log", "a/sub/0.log", "b/2.log", "c.log"]


def test_missing_path_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.log: no such file"):
        list(expand([tmp_path / "nope.log"]))


def test_bad_zip_names_the_archive(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(InputError, match=r"bad\.zip: not a readable zip"):
        list(expand([bad]))


def test_stdin_is_a_source(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeStdin:
        buffer = io.BytesIO(HISTORY)

    monkeypatch.setattr("sys.stdin", FakeStdin)
    (source,) = expand(["-"])
    assert source.name == "<stdin>"
    assert source.head() == HISTORY
