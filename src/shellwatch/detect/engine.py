"""The detection stage: every event is routed to the rules of its log sources; each match yields an alert.

``Detector(ruleset)`` evaluates a compiled :class:`~shellwatch.detect.ruleset.RuleSet` (route, literal
prefilter, evaluate the candidates). ``Detector()`` has no rules and yields nothing; objects following the
small :class:`Rule` protocol (a ``matches(event)`` method) are still accepted, for tests and plug-ins.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from shellwatch.detect.model import Match, RuleMeta
from shellwatch.detect.ruleset import RuleSet
from shellwatch.events import Alert, Event
from shellwatch.schema import Kind


class AlertRule(Protocol):
    """What an alert needs to know of the rule that raised it."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def level(self) -> str: ...
    @property
    def techniques(self) -> Sequence[str]: ...
    @property
    def category(self) -> str | None: ...


class Rule(AlertRule, Protocol):
    """A rule that matches events itself (not a compiled Sigma rule)."""

    def matches(self, event: Event) -> bool: ...


def make_alert(rule: AlertRule, event: Event) -> Alert:
    """The ECS alert document for ``event`` matched by ``rule``: the event's fields plus rule and threat."""
    alert: Alert = dict(event)
    alert["event.kind"] = Kind.ALERT.value
    alert["rule.id"] = rule.id
    alert["rule.name"] = rule.title
    alert["rule.level"] = rule.level
    alert["threat.technique.id"] = list(rule.techniques)
    if rule.category:
        alert["shellwatch.category"] = rule.category
    return alert


class Detector:
    """Matches events against a rule set (and any protocol rules given)."""

    def __init__(self, rules: RuleSet | Iterable[Rule] | None = None) -> None:
        self.ruleset: RuleSet = rules if isinstance(rules, RuleSet) else RuleSet()
        self.rules: list[Rule] = [] if rules is None or isinstance(rules, RuleSet) else list(rules)

    def matches(self, event: Event) -> list[Match]:
        """Every rule that matches ``event``, including rules that only feed correlations."""
        found = (
            [Match(rule.meta, event) for rule in self.ruleset.evaluate(event)] if self.ruleset.rules else []
        )
        found.extend(Match(_meta(rule), event) for rule in self.rules if rule.matches(event))
        return found

    def match(self, event: Event) -> list[Alert]:
        """The alerts ``event`` raises (rules with ``generate: false`` correlations excluded)."""
        alerts: list[Alert] = []
        if self.ruleset.rules:
            alerts = [make_alert(rule.meta, event) for rule in self.ruleset.evaluate(event) if rule.output]
        alerts.extend(make_alert(rule, event) for rule in self.rules if rule.matches(event))
        return alerts

    def run(self, events: Iterable[Event]) -> Iterator[Alert]:
        for event in events:
            yield from self.match(event)


def _meta(rule: Rule) -> RuleMeta:
    return RuleMeta(
        id=rule.id,
        title=rule.title,
        level=rule.level,
        techniques=tuple(rule.techniques),
        category=rule.category,
    )
