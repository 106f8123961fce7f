"""Sigma correlation rules over the stream of base-rule matches, in event time.

The :class:`Correlator` consumes :class:`~shellwatch.detect.model.Match` objects (a base rule and the event it
matched) and yields correlation alerts, ECS documents like the engine's alerts. Time is always the event's
``@timestamp``, never the wall clock.

Semantics, decided here where the Sigma specification leaves room:

* **Types.** ``event_count``: matches of the referenced rules per group within the timespan.
  ``value_count``: distinct values of the condition's ``field`` per group (matches without the field are not
  counted). ``temporal``: distinct referenced rules matched per group within the timespan, in any order (the
  default condition is "all of them"). ``temporal_ordered``: the longest prefix of the rule list matched in
  that order within the timespan. Extended (boolean string) conditions and the ``value_sum``/``avg``/...
  types are rejected with :class:`CorrelationError`.
* **Windows.** A window covers ``[first, first + timespan]`` inclusive. Conditions with only lower bounds
  (``gt``, ``gte``) are checked on every match over a sliding window; when one holds the alert is raised and
  the group's window is emptied, so 20 failed logins with ``gte: 10`` give two alerts, not eleven. Any other
  condition (``lt``, ``lte``, ``eq``, ``neq``, a range) is checked when a window closes: a window opens at a
  group's first match, and closes when the host's event time passes ``first + timespan`` (or at
  :meth:`Correlator.flush`); the alert's time is that of the window's last match. A group with no match at
  all never exists, so "fewer than N" only speaks of groups seen at least once. ``temporal_ordered`` needs a
  lower-bound condition.
* **Groups.** ``group-by`` names are event fields (after ``field_map``), or aliases resolved per referenced
  rule. An event lacking a group-by field is skipped and counted in ``stats.ungrouped`` by default, as the
  ``stats count by`` and terms aggregations of Splunk and Elasticsearch backends do; with
  ``missing_group=MissingGroup.NONE`` it joins the group whose value for that field is ``None``.
* **Partitioning.** All state is keyed by host (``partition_field``, ``host.name`` by default): a group never
  spans two hosts, so correlators fed disjoint hosts raise exactly the alerts one correlator fed everything
  raises. The price: a correlation across hosts (one source logging on to many hosts) is not seen.
* **Order and lateness.** Matches are buffered per host and released in time order once they are older than
  the newest time seen on that host minus ``lateness`` (the watermark). A match older than the last one
  already released for its host is dropped and counted in ``stats.late``. ``lateness=None`` buffers every
  match until :meth:`flush` (right for batch scans of many files in any order: matches are few). A host
  buffer beyond ``max_pending`` releases its oldest matches early (``stats.overflow``).
* **Bounds.** Per host and correlation at most ``max_groups`` live groups; beyond that the least recently
  updated group is dropped (``stats.evicted``). Windows are evicted once the host's time passes their end.
* **Base alerts.** A rule referenced by correlations is *silenced* (its own matches should not alert) unless
  at least one correlation referring to it has ``generate: true``. pySigma silences it as soon as one
  referring correlation does not generate; we keep its alerts when any correlation asks for them. Rules that
  are also meant to run standalone are the engine's call: :meth:`Correlator.base_alerts` answers per rule.
* **Chains.** A correlation may refer to another (the Sigma example "many failed logins" then "successful
  login"): the inner alert is fed to the outer one as a match. Inner alerts from close-time conditions come
  after later events were released and are dropped as late, so chain only over ``gt``/``gte`` correlations.
* **State.** :meth:`Correlator.state` is JSON-able plain data and :meth:`Correlator.from_state` resumes from
  it; :meth:`flush` ends the input (buffers released, close-time conditions evaluated, windows cleared).
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Final, Protocol

from sigma.correlations import SigmaCorrelationRule
from sigma.rule.base import SigmaRuleBase

from shellwatch.detect._correlate_spec import (
    MICROS,
    Condition,
    Correlation,
    CorrelationError,
    CorrelationType,
    Op,
    compile_correlation,
    correlation_meta,
)
from shellwatch.detect._correlate_window import CountWindow, Key, OrderedWindow, Window, freeze, thaw
from shellwatch.detect.model import Match, RuleMeta
from shellwatch.events import EPOCH, Alert, Event, Value, format_timestamp, timestamp_micros
from shellwatch.schema import Kind

__all__ = [
    "Condition",
    "Correlation",
    "CorrelationError",
    "CorrelationType",
    "Correlator",
    "CorrelatorSettings",
    "CorrelatorStats",
    "MissingGroup",
    "Op",
    "compile_correlation",
    "correlation_meta",
    "reference_map",
]

STATE_VERSION: Final = 1
_ONE_MICRO: Final = timedelta(microseconds=1)
_REPLACED: Final = ("rule.", "threat.", "shellwatch.correlation.", "shellwatch.category")
GroupKey = tuple[Key, ...]
_Pending = tuple[int, int, str, Event]


class MissingGroup(StrEnum):
    """What a match lacking a group-by field does."""

    SKIP = "skip"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class CorrelatorSettings:
    lateness: float | None = 300.0
    """Seconds a match may arrive behind the newest one of its host; ``None``: buffer all until flush."""
    max_groups: int = 10_000
    """Live groups per host and correlation rule; the least recently updated is dropped beyond."""
    max_pending: int = 100_000
    """Buffered matches per host; the oldest are released early beyond."""
    missing_group: MissingGroup = MissingGroup.SKIP
    partition_field: str = "host.name"
    field_map: Mapping[str, str] = field(default_factory=dict)
    """Sigma field names in ``group-by``, aliases and ``field`` → event (ECS) field names."""


@dataclass(slots=True)
class CorrelatorStats:
    late: int = 0
    """Matches older than the last one released for their host: dropped."""
    untimed: int = 0
    """Matches without a readable ``@timestamp``: dropped."""
    ungrouped: int = 0
    """Matches lacking a group-by field (``MissingGroup.SKIP``) or the ``value_count`` field: not counted."""
    evicted: int = 0
    """Groups dropped because a host and correlation had ``max_groups`` live ones."""
    overflow: int = 0
    """Matches released before the watermark because a host buffer was full."""


@dataclass(slots=True)
class _Host:
    windows: dict[str, OrderedDict[GroupKey, Window]] = field(default_factory=dict)
    pending: list[_Pending] = field(default_factory=list)
    max_seen: int | None = None
    released: int | None = None


class _Loaded(Protocol):
    @property
    def rule(self) -> SigmaRuleBase: ...

    @property
    def meta(self) -> RuleMeta: ...


def reference_map(loaded: Iterable[_Loaded]) -> dict[str, RuleMeta]:
    """Reference → rule metadata, under each rule's id and its name (what correlation rules refer to)."""
    references: dict[str, RuleMeta] = {}
    for item in loaded:
        references[item.meta.id] = item.meta
        if item.rule.id is not None:
            references[str(item.rule.id)] = item.meta
        if item.rule.name:
            references[item.rule.name] = item.meta
    return references


class Correlator:
    """Sigma correlation rules over base-rule matches; state per host, event time, bounded windows."""

    def __init__(
        self,
        rules: Iterable[SigmaCorrelationRule | Correlation],
        resolve: Mapping[str, RuleMeta] | None = None,
        settings: CorrelatorSettings | None = None,
    ) -> None:
        self.settings = settings or CorrelatorSettings()
        self.stats = CorrelatorStats()
        self.correlations: tuple[Correlation, ...] = _compile_all(list(rules), resolve or {}, self.settings)
        self._by_rule: dict[str, list[Correlation]] = {}
        for correlation in self.correlations:
            for rule_id in dict.fromkeys(correlation.rule_ids):
                self._by_rule.setdefault(rule_id, []).append(correlation)
        self.silenced: frozenset[str] = _silenced(self.correlations)
        """Ids of rules (base or correlation) whose own alerts are not to be emitted."""
        self._hosts: dict[str, _Host] = {}
        self._seq = 0

    @property
    def referenced(self) -> frozenset[str]:
        """Ids of the rules whose matches the correlator wants."""
        return frozenset(self._by_rule)

    def base_alerts(self, rule_id: str) -> bool:
        """Whether the engine should emit the rule's own alerts (``generate`` semantics, see module doc)."""
        return rule_id not in self.silenced

    def push(self, match: Match) -> list[Alert]:
        """Take one base-rule match; the correlation alerts it (or the watermark it moves) completes."""
        out: list[Alert] = []
        if match.rule.id in self._by_rule:
            self._accept(match.rule.id, match.event, out)
        return out

    def run(self, matches: Iterable[Match]) -> Iterator[Alert]:
        """Every match pushed, then :meth:`flush`: the pipeline stage for a finite input."""
        for match in matches:
            yield from self.push(match)
        yield from self.flush()

    def flush(self) -> list[Alert]:
        """End of input: release every buffered match, evaluate close-time conditions, clear the windows."""
        out: list[Alert] = []
        for host in self._hosts.values():
            while host.pending or any(host.windows.values()):
                self._drain(host, None, out, everything=True)
                self._close_all(host, out)
        return out

    # -- intake and release, per host -------------------------------------------------------------

    def _accept(self, rule_id: str, event: Event, out: list[Alert]) -> None:
        host = self._host(event)
        if self._enqueue(host, rule_id, event):
            self._drain(host, self._watermark(host), out)

    def _enqueue(self, host: _Host, rule_id: str, event: Event) -> bool:
        """Buffer the match (not yet processed); ``False`` when it has no time or comes too late."""
        moment = _micros(event.get("@timestamp"))
        if moment is None:
            self.stats.untimed += 1
            return False
        if host.released is not None and moment < host.released:
            self.stats.late += 1
            return False
        heapq.heappush(host.pending, (moment, self._seq, rule_id, event))
        self._seq += 1
        host.max_seen = moment if host.max_seen is None else max(host.max_seen, moment)
        return True

    def _host(self, event: Event) -> _Host:
        value = event.get(self.settings.partition_field)
        name = "" if value is None else str(value)
        host = self._hosts.get(name)
        if host is None:
            host = self._hosts[name] = _Host()
        return host

    def _watermark(self, host: _Host) -> int | None:
        if self.settings.lateness is None or host.max_seen is None:
            return None
        return host.max_seen - round(self.settings.lateness * MICROS)

    def _drain(self, host: _Host, limit: int | None, out: list[Alert], everything: bool = False) -> None:
        pending = host.pending
        while pending:
            ripe = everything or (limit is not None and pending[0][0] <= limit)
            if not ripe and len(pending) <= self.settings.max_pending:
                return
            if not ripe:
                self.stats.overflow += 1
            moment, _, rule_id, event = heapq.heappop(pending)
            host.released = moment
            self._sweep(host, moment, out)
            for correlation in self._by_rule[rule_id]:
                self._update(host, correlation, moment, rule_id, event, out)

    # -- windows ----------------------------------------------------------------------------------

    def _sweep(self, host: _Host, moment: int, out: list[Alert]) -> None:
        """Windows that ended before ``moment`` removed; close-time conditions evaluated."""
        for correlation in self.correlations:
            windows = host.windows.get(correlation.meta.id)
            while windows:
                key, window = next(iter(windows.items()))
                if _end(correlation, window) >= moment:
                    break
                del windows[key]
                self._close(host, correlation, key, window, out)

    def _close_all(self, host: _Host, out: list[Alert]) -> None:
        for correlation in self.correlations:
            windows = host.windows.pop(correlation.meta.id, None) or OrderedDict()
            for key, window in windows.items():
                self._close(host, correlation, key, window, out)

    def _close(
        self, host: _Host, correlation: Correlation, key: GroupKey, window: Window, out: list[Alert]
    ) -> None:
        if correlation.condition.monotone or not isinstance(window, CountWindow):
            return
        if correlation.condition.holds(_metric(correlation, window)):
            self._emit(host, correlation, key, window, out)

    def _update(
        self, host: _Host, correlation: Correlation, moment: int, rule_id: str, event: Event, out: list[Alert]
    ) -> None:
        key = self._group(correlation, rule_id, event)
        item = _item(correlation, rule_id, event)
        if key is None or item is _MISSING:
            self.stats.ungrouped += 1
            return
        windows = host.windows.setdefault(correlation.meta.id, OrderedDict())
        if correlation.type is CorrelationType.TEMPORAL_ORDERED:
            self._ordered(host, correlation, windows, key, moment, rule_id, event, out)
        elif correlation.condition.monotone:
            self._slide(host, correlation, windows, key, (moment, item, event), out)
        else:
            self._tumble(host, correlation, windows, key, (moment, item, event), out)

    def _group(self, correlation: Correlation, rule_id: str, event: Event) -> GroupKey | None:
        values = tuple(freeze(event.get(name)) for name in correlation.group_fields[rule_id])
        if self.settings.missing_group is MissingGroup.SKIP and None in values:
            return None
        return values

    def _window(self, windows: OrderedDict[GroupKey, Window], key: GroupKey, window: Window) -> Window:
        """The group's window, or ``window`` made the newest one (dropping the oldest beyond the cap)."""
        found = windows.get(key)
        if found is not None:
            return found
        windows[key] = window
        while len(windows) > self.settings.max_groups:
            windows.popitem(last=False)
            self.stats.evicted += 1
        return window

    def _slide(
        self,
        host: _Host,
        correlation: Correlation,
        windows: OrderedDict[GroupKey, Window],
        key: GroupKey,
        entry: tuple[int, Key, Event],
        out: list[Alert],
    ) -> None:
        moment, item, event = entry
        window = self._window(windows, key, CountWindow())
        assert isinstance(window, CountWindow)
        windows.move_to_end(key)
        window.prune(moment - correlation.timespan)
        window.add(moment, item, event)
        if correlation.condition.holds(_metric(correlation, window)):
            del windows[key]
            self._emit(host, correlation, key, window, out)

    def _tumble(
        self,
        host: _Host,
        correlation: Correlation,
        windows: OrderedDict[GroupKey, Window],
        key: GroupKey,
        entry: tuple[int, Key, Event],
        out: list[Alert],
    ) -> None:
        moment, item, event = entry
        current = windows.get(key)
        if current is not None and moment > _end(correlation, current):
            del windows[key]
            self._close(host, correlation, key, current, out)
        window = self._window(windows, key, CountWindow())
        assert isinstance(window, CountWindow)
        window.add(moment, item, event)

    def _ordered(
        self,
        host: _Host,
        correlation: Correlation,
        windows: OrderedDict[GroupKey, Window],
        key: GroupKey,
        moment: int,
        rule_id: str,
        event: Event,
        out: list[Alert],
    ) -> None:
        window = self._window(windows, key, OrderedWindow.empty(len(correlation.rule_ids)))
        assert isinstance(window, OrderedWindow)
        windows.move_to_end(key)
        window.add(moment, correlation.positions[rule_id], correlation.timespan, event)
        length, _ = window.progress(moment, correlation.timespan)
        if correlation.condition.holds(length):
            del windows[key]
            self._emit(host, correlation, key, window, out)

    # -- alerts -----------------------------------------------------------------------------------

    def _emit(
        self, host: _Host, correlation: Correlation, key: GroupKey, window: Window, out: list[Alert]
    ) -> None:
        alert = _alert(correlation, key, window)
        if correlation.meta.id not in self.silenced:
            out.append(alert)
        if correlation.meta.id in self._by_rule:
            self._enqueue(host, correlation.meta.id, alert)

    # -- state ------------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything needed to resume, as JSON-able plain data."""
        return {
            "version": STATE_VERSION,
            "seq": self._seq,
            "stats": asdict(self.stats),
            "hosts": {name: self._dump_host(host) for name, host in self._hosts.items()},
        }

    @classmethod
    def from_state(
        cls,
        state: Mapping[str, Any],
        rules: Iterable[SigmaCorrelationRule | Correlation],
        resolve: Mapping[str, RuleMeta] | None = None,
        settings: CorrelatorSettings | None = None,
    ) -> Correlator:
        """A correlator resumed from :meth:`state`; windows of rules no longer loaded are dropped."""
        correlator = cls(rules, resolve, settings)
        correlator.load_state(state)
        return correlator

    def load_state(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise CorrelationError(
                f"correlation state version {state.get('version')!r} is not {STATE_VERSION}"
            )
        self._seq = int(state["seq"])
        self.stats = CorrelatorStats(**state["stats"])
        self._hosts = {name: self._load_host(data) for name, data in state["hosts"].items()}

    def _dump_host(self, host: _Host) -> dict[str, Any]:
        return {
            "max_seen": host.max_seen,
            "released": host.released,
            "pending": [list(item) for item in sorted(host.pending)],
            "windows": {
                correlation_id: [[thaw(key), window.dump()] for key, window in windows.items()]
                for correlation_id, windows in host.windows.items()
            },
        }

    def _load_host(self, data: Mapping[str, Any]) -> _Host:
        host = _Host(max_seen=data["max_seen"], released=data["released"])
        host.pending = [
            (int(moment), int(seq), rule_id, event)
            for moment, seq, rule_id, event in data["pending"]
            if rule_id in self._by_rule
        ]
        heapq.heapify(host.pending)
        known = {correlation.meta.id: correlation for correlation in self.correlations}
        for correlation_id, items in data["windows"].items():
            correlation = known.get(correlation_id)
            if correlation is not None:
                host.windows[correlation_id] = OrderedDict(
                    (_as_key(key), _load_window(correlation, window)) for key, window in items
                )
        return host


_MISSING: Final = object()


def _compile_all(
    rules: Sequence[SigmaCorrelationRule | Correlation],
    resolve: Mapping[str, RuleMeta],
    settings: CorrelatorSettings,
) -> tuple[Correlation, ...]:
    names: dict[str, str] = {meta.id: meta.id for meta in resolve.values()}
    names.update({reference: meta.id for reference, meta in resolve.items()})
    for rule in rules:
        if isinstance(rule, SigmaCorrelationRule):
            rule_id = correlation_meta(rule).id
            names.update(
                {ref: rule_id for ref in (str(rule.id) if rule.id else None, rule.name, rule_id) if ref}
            )
        else:
            names[rule.meta.id] = rule.meta.id
    compiled = tuple(
        rule if isinstance(rule, Correlation) else compile_correlation(rule, names.get, settings.field_map)
        for rule in rules
    )
    _check_acyclic(compiled)
    return compiled


def _check_acyclic(correlations: Sequence[Correlation]) -> None:
    refers = {correlation.meta.id: set(correlation.rule_ids) for correlation in correlations}
    done: set[str] = set()

    def visit(rule_id: str, path: tuple[str, ...]) -> None:
        if rule_id in path:
            raise CorrelationError(f"correlation rules refer to each other in a cycle: {' → '.join(path)}")
        if rule_id in done or rule_id not in refers:
            return
        for child in refers[rule_id]:
            visit(child, (*path, rule_id))
        done.add(rule_id)

    for rule_id in refers:
        visit(rule_id, ())


def _silenced(correlations: Sequence[Correlation]) -> frozenset[str]:
    referenced = {rule_id for correlation in correlations for rule_id in correlation.rule_ids}
    wanted = {
        rule_id for correlation in correlations if correlation.generate for rule_id in correlation.rule_ids
    }
    return frozenset(referenced - wanted)


def _item(correlation: Correlation, rule_id: str, event: Event) -> Key:
    """What a match adds to its window: nothing, the counted value, or the rule id."""
    if correlation.type is CorrelationType.VALUE_COUNT:
        value = event.get(correlation.value_field or "")
        return _MISSING if value is None else freeze(value)
    if correlation.type is CorrelationType.TEMPORAL:
        return rule_id
    return None


def _metric(correlation: Correlation, window: CountWindow) -> int:
    return window.size if correlation.type is CorrelationType.EVENT_COUNT else window.distinct


def _end(correlation: Correlation, window: Window) -> int:
    """When the window is over: its last match plus the timespan (sliding), or its first (close-time)."""
    if isinstance(window, CountWindow) and not correlation.condition.monotone:
        return window.first + correlation.timespan
    return window.last + correlation.timespan


def _alert(correlation: Correlation, key: GroupKey, window: Window) -> Alert:
    """The ECS correlation alert: the last match's fields, the rule, the group and the counts."""
    meta = correlation.meta
    alert: Alert = {
        name: value for name, value in window.last_event.items() if not name.startswith(_REPLACED)
    }
    alert["@timestamp"] = _text(window.last)
    alert["event.kind"] = Kind.ALERT.value
    alert["rule.id"] = meta.id
    alert["rule.name"] = meta.title
    alert["rule.level"] = meta.level
    alert["threat.technique.id"] = list(meta.techniques)
    if meta.category:
        alert["shellwatch.category"] = meta.category
    alert.update(_group_fields(correlation, key))
    alert.update(_counts(correlation, window))
    return alert


def _group_fields(correlation: Correlation, key: GroupKey) -> dict[str, Value]:
    fields: dict[str, Value] = {"shellwatch.correlation.group_by": list(correlation.group_by)}
    plain = correlation.group_fields[correlation.rule_ids[0]]
    for index, name in enumerate(correlation.group_by):
        if key[index] is None:
            continue
        target = f"shellwatch.correlation.alias.{name}" if name in correlation.aliases else plain[index]
        fields[target] = thaw(key[index])
    return fields


def _counts(correlation: Correlation, window: Window) -> dict[str, Value]:
    if isinstance(window, OrderedWindow):
        count, first = window.progress(window.last, correlation.timespan)
        first_time = window.last if first is None else first
    else:
        count = window.distinct if correlation.type is CorrelationType.TEMPORAL else window.size
        first_time = window.first
    counts: dict[str, Value] = {
        "shellwatch.correlation.type": correlation.type.value,
        "shellwatch.correlation.count": count,
        "shellwatch.correlation.rules": list(correlation.rule_ids),
        "shellwatch.correlation.first": _text(first_time),
        "shellwatch.correlation.last": _text(window.last),
    }
    if correlation.type is CorrelationType.VALUE_COUNT and isinstance(window, CountWindow):
        counts["shellwatch.correlation.value_count"] = window.distinct
    return counts


def _load_window(correlation: Correlation, data: dict[str, Any]) -> Window:
    if correlation.type is CorrelationType.TEMPORAL_ORDERED:
        return OrderedWindow.load(data)
    return CountWindow.load(data)


def _as_key(value: list[Any]) -> GroupKey:
    return tuple(freeze(item) for item in value)


def _micros(value: Value | None) -> int | None:
    """``@timestamp`` text as microseconds since the epoch; ``None`` when absent or unreadable."""
    return timestamp_micros(value)


def _text(moment: int) -> str:
    return format_timestamp(EPOCH + moment * _ONE_MICRO)
