"""Events as database rows, without the database layer: what worker processes prepare for the store."""

from __future__ import annotations

import orjson

from shellwatch.events import Event, Value

EventRow = tuple[str | None, str | None, str | None, str | None, str | None, str | None, str]
"""(timestamp, host, user, dataset, action, process name, the whole event as JSON text)."""


def _text(value: Value) -> str | None:
    return None if value is None or isinstance(value, list) else str(value)


def event_row(doc: Event) -> EventRow:
    """The indexed columns of ``doc`` and ``doc`` itself serialized once, as the events table holds them."""
    return (
        _text(doc.get("@timestamp")),
        _text(doc.get("host.name")),
        _text(doc.get("user.name")),
        _text(doc.get("event.dataset")),
        _text(doc.get("event.action")),
        _text(doc.get("process.name")),
        orjson.dumps(doc).decode(),
    )
