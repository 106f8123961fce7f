from __future__ import annotations

import importlib

import pytest

from shellwatch.errors import UnknownFormatError
from shellwatch.ingest.base import Reader
from shellwatch.ingest.registry import READERS, ReaderRegistry, load_readers, reader_modules


def test_every_reader_module_registers_a_reader() -> None:
    load_readers()
    registered_modules = {reader.__module__ for reader in READERS}
    unregistered = [name for name in reader_modules() if name not in registered_modules]
    assert unregistered == [], f"modules in shellwatch.ingest that register no reader: {unregistered}"


def test_reader_classes_declare_name_and_description() -> None:
    for reader in load_readers():
        assert reader.name and reader.name.replace("_", "").isalnum(), reader
        assert reader.description, reader


def test_registering_a_name_twice_is_an_error() -> None:
    registry = ReaderRegistry()
    some = next(iter(load_readers()))
    registry.add(some)
    with pytest.raises(ValueError, match="registered twice"):
        registry.add(some)


def test_unknown_reader_name_lists_known_ones() -> None:
    with pytest.raises(UnknownFormatError, match="known: "):
        load_readers().get("no-such-format")


def test_modules_import_cleanly() -> None:
    for name in reader_modules():
        module = importlib.import_module(name)
        assert any(
            isinstance(obj, type) and issubclass(obj, Reader) and obj is not Reader
            for obj in vars(module).values()
        )
