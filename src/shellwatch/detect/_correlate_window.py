"""The sliding windows of the correlator: one per (host, correlation rule, group), plain data throughout.

A window holds only what its timespan needs and can be written to and read from JSON-able data:

* :class:`CountWindow` (``event_count``, ``value_count``, ``temporal``): a deque of ``(time, key)`` entries in
  time order and a count per key. The key is ``None`` for ``event_count``, the field value for
  ``value_count`` and the rule id for ``temporal``; the metric is the number of entries or of distinct keys.
* :class:`OrderedWindow` (``temporal_ordered``): for each prefix length *k* of the rule list, the latest
  start time of a chain that matched the first *k* rules in order. Keeping the latest start is enough: it
  is the chain most likely to still fit in the timespan.

Times are integer microseconds since the epoch. A window covers ``[first, first + timespan]`` inclusive:
two events exactly one timespan apart are in one window.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shellwatch.events import Event

Key = Hashable
"""A hashable event value: a scalar, or a tuple for a list value."""


def freeze(value: Any) -> Key:
    """An event value as a hashable key (lists become tuples, recursively)."""
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value  # type: ignore[no-any-return]


def thaw(value: Key) -> Any:
    """A key back as JSON-able data (tuples become lists)."""
    if isinstance(value, tuple):
        return [thaw(item) for item in value]
    return value


@dataclass(slots=True)
class CountWindow:
    entries: deque[tuple[int, Key]] = field(default_factory=deque)
    counts: dict[Key, int] = field(default_factory=dict)
    last_event: Event = field(default_factory=dict)

    @property
    def first(self) -> int:
        return self.entries[0][0]

    @property
    def last(self) -> int:
        return self.entries[-1][0]

    @property
    def size(self) -> int:
        return len(self.entries)

    @property
    def distinct(self) -> int:
        return len(self.counts)

    def add(self, moment: int, key: Key, event: Event) -> None:
        self.entries.append((moment, key))
        self.counts[key] = self.counts.get(key, 0) + 1
        self.last_event = event

    def prune(self, before: int) -> None:
        """Forget the entries older than ``before``."""
        while self.entries and self.entries[0][0] < before:
            _, key = self.entries.popleft()
            left = self.counts[key] - 1
            if left:
                self.counts[key] = left
            else:
                del self.counts[key]

    def dump(self) -> dict[str, Any]:
        return {"entries": [[moment, thaw(key)] for moment, key in self.entries], "event": self.last_event}

    @classmethod
    def load(cls, data: dict[str, Any]) -> CountWindow:
        window = cls(last_event=data["event"])
        for moment, key in data["entries"]:
            window.add(int(moment), freeze(key), data["event"])
        return window


@dataclass(slots=True)
class OrderedWindow:
    starts: list[int | None]
    """``starts[k]``: latest start time of a chain that matched the first ``k`` rules in order (0 unused)."""
    last: int = 0
    last_event: Event = field(default_factory=dict)

    @classmethod
    def empty(cls, length: int) -> OrderedWindow:
        return cls([None] * (length + 1))

    def add(self, moment: int, positions: Sequence[int], span: int, event: Event) -> None:
        """A match at ``moment`` of the rule found at ``positions`` of the rule list."""
        for position in reversed(positions):
            if position == 0:
                self.starts[1] = moment
                continue
            start = self.starts[position]
            if start is not None and start >= moment - span:
                self.starts[position + 1] = start
        self.last = moment
        self.last_event = event

    def progress(self, moment: int, span: int) -> tuple[int, int | None]:
        """The longest in-order prefix still within the timespan at ``moment``, and its start."""
        for length in range(len(self.starts) - 1, 0, -1):
            start = self.starts[length]
            if start is not None and start >= moment - span:
                return length, start
        return 0, None

    def dump(self) -> dict[str, Any]:
        return {"starts": list(self.starts), "last": self.last, "event": self.last_event}

    @classmethod
    def load(cls, data: dict[str, Any]) -> OrderedWindow:
        return cls(list(data["starts"]), int(data["last"]), data["event"])


Window = CountWindow | OrderedWindow
