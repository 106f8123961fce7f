"""Which readers exist, by name, and which one a file is.

Every public module of :mod:`shellwatch.ingest` defines its reader classes with ``@register``; helper
modules start with an underscore. :func:`load_readers` imports them all once.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from functools import cache

from shellwatch.errors import UnknownFormatError
from shellwatch.ingest.base import Reader


class ReaderRegistry:
    """Reader classes by name, in sniffing order."""

    def __init__(self) -> None:
        self._readers: dict[str, type[Reader]] = {}

    def add(self, reader: type[Reader]) -> type[Reader]:
        if reader.name in self._readers:
            raise ValueError(f"reader name {reader.name!r} is registered twice")
        self._readers[reader.name] = reader
        return reader

    def get(self, name: str) -> type[Reader]:
        try:
            return self._readers[name]
        except KeyError:
            known = ", ".join(sorted(self._readers))
            raise UnknownFormatError(f"no reader named {name!r} (known: {known})") from None

    def names(self) -> list[str]:
        return sorted(self._readers)

    def __iter__(self) -> Iterator[type[Reader]]:
        return iter(sorted(self._readers.values(), key=lambda reader: (reader.priority, reader.name)))

    def __len__(self) -> int:
        return len(self._readers)

    def sniff(self, head: bytes, path: str) -> type[Reader] | None:
        """The first reader, in priority order, that recognises ``head``."""
        for reader in self:
            if reader.sniff(head, path):
                return reader
        return None


READERS = ReaderRegistry()
"""The readers shipped with shellwatch. Modules add to it at import time."""


def register(reader: type[Reader]) -> type[Reader]:
    """Class decorator: add a reader to :data:`READERS`; a name may be registered once."""
    return READERS.add(reader)


@cache
def reader_modules() -> tuple[str, ...]:
    """Names of the public modules of the ingest package (each defines at least one reader)."""
    import shellwatch.ingest as package

    return tuple(
        sorted(
            f"{package.__name__}.{info.name}"
            for info in pkgutil.iter_modules(package.__path__)
            if not info.name.startswith("_") and info.name not in {"base", "registry"}
        )
    )


def load_readers() -> ReaderRegistry:
    """Import every reader module (once) and return the registry."""
    for module in reader_modules():
        importlib.import_module(module)
    return READERS
