"""Files as sources: plain, compressed (.gz, .bz2, .xz) and archived (.zip), directories walked recursively.

A :class:`Source` is one stream of log bytes with the name that events point back to in ``log.file.path``;
a member of an archive is named ``archive.zip!member``.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from shellwatch.errors import InputError

SNIFF_BYTES = 64 * 1024
STDIN = "-"


def _gunzip(raw: BinaryIO) -> BinaryIO:
    return cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb"))


def _bunzip(raw: BinaryIO) -> BinaryIO:
    return cast(BinaryIO, bz2.BZ2File(raw, mode="rb"))


def _unxz(raw: BinaryIO) -> BinaryIO:
    return cast(BinaryIO, lzma.LZMAFile(raw, mode="rb"))


_DECOMPRESSORS: dict[str, Callable[[BinaryIO], BinaryIO]] = {".gz": _gunzip, ".bz2": _bunzip, ".xz": _unxz}


@dataclass(frozen=True, slots=True)
class Source:
    """One stream of log bytes and how to open it again."""

    name: str
    """What events call it in ``log.file.path``."""
    opener: Callable[[], BinaryIO]
    size: int | None = None
    """Size on disk (compressed), for progress."""
    mtime: float | None = None

    def open(self) -> BinaryIO:
        return self.opener()

    def head(self, size: int = SNIFF_BYTES) -> bytes:
        """The first ``size`` decompressed bytes for sniffing (of a damaged file: those before the damage)."""
        pieces: list[bytes] = []
        got = 0
        with self.open() as stream:
            while got < size:
                try:
                    piece = stream.read(min(4096, size - got))
                except (EOFError, OSError, zlib.error, lzma.LZMAError):
                    if not pieces:
                        raise
                    break
                if not piece:
                    break
                pieces.append(piece)
                got += len(piece)
        return b"".join(pieces)


class _Decompressed(io.BufferedReader):
    """A decompressing stream that also closes the compressed stream beneath it."""

    def __init__(self, decompressed: BinaryIO, compressed: BinaryIO) -> None:
        super().__init__(decompressed)  # type: ignore[arg-type]
        self._compressed = compressed

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._compressed.close()


def _wrap(name: str, opener: Callable[[], BinaryIO]) -> Callable[[], BinaryIO]:
    suffix = Path(name).suffix.lower()
    decompress = _DECOMPRESSORS.get(suffix)
    if decompress is None:
        return opener

    def open_decompressed() -> BinaryIO:
        compressed = opener()
        return _Decompressed(decompress(compressed), compressed)

    return open_decompressed


def _file_opener(path: Path) -> Callable[[], BinaryIO]:
    return lambda: path.open("rb")


def _zip_members(path: Path) -> Iterator[Source]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path}: not a readable zip archive ({exc})") from exc
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
    for info in members:
        name = f"{path}!{info.filename}"

        def opener(member: str = info.filename) -> BinaryIO:
            # Each open has its own ZipFile, so that sources can be read one after another or in parallel.
            zipped = zipfile.ZipFile(path)
            return _ZipMemberStream(zipped, cast(BinaryIO, zipped.open(member)))

        yield Source(name, _wrap(info.filename, opener), info.compress_size, path.stat().st_mtime)


class _ZipMemberStream(io.BufferedReader):
    """A zip member that closes its archive when it is closed."""

    def __init__(self, archive: zipfile.ZipFile, member: BinaryIO) -> None:
        super().__init__(member)  # type: ignore[arg-type]
        self._archive = archive

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._archive.close()


def _stdin_source() -> Source:
    data = sys.stdin.buffer.read()
    return Source("<stdin>", lambda: io.BytesIO(data), len(data))


def _path_sources(path: Path) -> Iterator[Source]:
    if path.suffix.lower() == ".zip":
        yield from _zip_members(path)
        return
    stat = path.stat()
    yield Source(str(path), _wrap(path.name, _file_opener(path)), stat.st_size, stat.st_mtime)


def expand(paths: Iterable[str | Path]) -> Iterator[Source]:
    """The sources named by ``paths``: files, archives' members, directories walked in name order.

    ``-`` is standard input. A path that does not exist raises :class:`InputError` naming it.
    """
    for given in paths:
        if str(given) == STDIN:
            yield _stdin_source()
            continue
        path = Path(given)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file():
                    yield from _path_sources(child)
        elif path.is_file():
            yield from _path_sources(path)
        else:
            raise InputError(f"{path}: no such file or directory")
