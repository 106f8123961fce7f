"""Event values as the state tables keep them: ints and non-empty texts, ``None`` otherwise."""

from __future__ import annotations


def as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def as_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
