"""Where shellwatch keeps files of its own between runs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

CACHE_ENV: Final = "SHELLWATCH_CACHE_DIR"


def cache_dir() -> Path:
    """``$SHELLWATCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/shellwatch``, else ``~/.cache/shellwatch``.

    Compiled rule sets and the hash reputation database live here.
    """
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "shellwatch"
