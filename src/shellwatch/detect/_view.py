"""The per-event view that matchers read: each field's text lower-cased once per event, not once per rule.

``EventView`` is a ``dict`` from field name to the field's lower-cased text (a ``str``), a tuple of texts
(for list values) or ``None`` (absent or null), filled on first access. Key ``None`` holds the texts of
every value that keyword searches read (all but :data:`KEYWORD_SKIP`). ``raw`` gives the same shapes
without lower-casing, for case-sensitive tests and regular expressions.
"""

from __future__ import annotations

from typing import Final

from shellwatch.events import Event, Value

Text = str | tuple[str, ...] | None


def text_of(value: object) -> str:
    """A scalar as the text rules compare with: booleans as ``true``/``false``, numbers as written."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def raw_text(value: Value | object) -> Text:
    """The original text of an event value (tuple for lists, ``None`` when absent or null)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return tuple(text_of(item) for item in value if item is not None)
    return text_of(value)


def lowered_text(value: Value | object) -> Text:
    """The lower-cased text of an event value (tuple for lists, ``None`` when absent or null)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, list):
        return tuple(text_of(item).lower() for item in value if item is not None)
    return text_of(value).lower()


KEYWORD_SKIP: Final = frozenset(
    {
        "log.file.path",
        "log.offset",
        "shellwatch.log.format",
        "event.kind",
        "event.module",
        "event.dataset",
        "event.category",
        "event.type",
        "host.os.type",
        "related.user",
        "related.ip",
        "related.hash",
        "related.hosts",
    }
)
"""Fields keyword searches do not read: where shellwatch read the event from, the ECS categorization it
set, and the ``related.*`` copies of values found elsewhere in the event. A keyword such as ``process``
or a log file named after a tool must not make every event of that kind or file match."""

JOIN = "\uffff"
"""Separates the texts of :meth:`EventView.joined`: a Unicode non-character, not case-ignorable."""


def _all_texts(event: Event) -> tuple[str, ...]:
    """The texts keyword searches read: every value of the event but those of :data:`KEYWORD_SKIP`."""
    texts: list[str] = []
    for key, value in event.items():
        if key in KEYWORD_SKIP:
            continue
        if value.__class__ is str:
            texts.append(value)
            continue
        text = raw_text(value)
        if text is None:
            continue
        if isinstance(text, str):
            texts.append(text)
        else:
            texts.extend(text)
    return tuple(texts)


def _split(joined: str, texts: tuple[str, ...]) -> tuple[str, ...]:
    """The lower-cased texts back out of their joined form (unless a text contained the separator)."""
    lowered = tuple(joined.split(JOIN))
    return lowered if len(lowered) == len(texts) else tuple(text.lower() for text in texts)


class EventView(dict[str | None, Text]):
    """Lower-cased field texts of one event, computed on first access."""

    __slots__ = ("_joined", "_raw_all", "event")

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event
        self._raw_all: tuple[str, ...] | None = None
        self._joined: str | None = None

    def __missing__(self, key: str | None) -> Text:
        text = _split(self.joined(), self.raw_all()) if key is None else lowered_text(self.event.get(key))
        self[key] = text
        return text

    def raw(self, key: str | None) -> Text:
        """Original (not lower-cased) text of ``key``; all values of the event for ``None``."""
        if key is not None:
            return raw_text(self.event.get(key))
        return self.raw_all()

    def joined(self) -> str:
        """The texts of every value, joined by :data:`JOIN` and lower-cased in one call.

        Lower-casing the joined text equals joining the lower-cased texts: the only context-dependent
        mapping (final sigma) treats the separator like the end of a text.
        """
        if self._joined is None:
            self._joined = JOIN.join(self.raw_all()).lower()
        return self._joined

    def raw_all(self) -> tuple[str, ...]:
        """The original texts of every value of the event."""
        if self._raw_all is None:
            self._raw_all = _all_texts(self.event)
        return self._raw_all
