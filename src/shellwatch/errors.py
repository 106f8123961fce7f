"""The one exception tree of shellwatch.

ShellwatchError
├── InputError            a path, archive or option the user gave cannot be used
│   └── UnknownFormatError    no reader recognises a file, or the named reader does not exist
├── ConfigError           a configuration or mapping file is invalid (names the file and key)
└── StoreError            the database cannot be opened or written
"""

from __future__ import annotations


class ShellwatchError(Exception):
    """Base class: every error shellwatch raises on purpose."""


class InputError(ShellwatchError):
    """A path, archive or option given by the user cannot be used."""


class UnknownFormatError(InputError):
    """No reader recognises the input, or a reader name does not exist."""


class ConfigError(ShellwatchError):
    """A configuration or mapping file is invalid."""


class StoreError(ShellwatchError):
    """The database cannot be opened or written."""
