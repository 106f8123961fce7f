"""The detection stage: every event is offered to the rule set; each rule that matches yields an alert.

The rule set is empty until Sigma rules are loaded (the Sigma engine fills it); the stage, the alert
document and its storage are already the real ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from shellwatch.events import Alert, Event
from shellwatch.schema import Kind


class Rule(Protocol):
    """What the detection stage needs of a rule."""

    id: str
    title: str
    level: str
    techniques: Sequence[str]
    category: str | None

    def matches(self, event: Event) -> bool: ...


def make_alert(rule: Rule, event: Event) -> Alert:
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
    """Matches events against a rule set."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self.rules: list[Rule] = list(rules)

    def match(self, event: Event) -> list[Alert]:
        return [make_alert(rule, event) for rule in self.rules if rule.matches(event)]

    def run(self, events: Iterable[Event]) -> Iterator[Alert]:
        for event in events:
            yield from self.match(event)
