"""Event time as the state tables count it: microseconds since the epoch, 0 when the event has none."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shellwatch.events import timestamp_micros


def event_micros(event: Mapping[str, Any]) -> int:
    return timestamp_micros(event.get("@timestamp")) or 0
