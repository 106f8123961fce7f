"""What the detection modules share: log sources, rule metadata, load errors, and a match.

Flow: ``load`` (pySigma parses rule files; errors collected with file and line) → ``pipelines`` (Sigma field
names mapped to our ECS names, per log-source family, by declarative pySigma processing pipelines) →
``compile`` (each rule's detection becomes a fast matcher over flat ECS events) → ``ruleset`` (rules grouped
by the log sources they apply to, literal prefilter) → ``engine.Detector`` (per event: route, prefilter,
evaluate the surviving rules) → ``correlate`` (Sigma correlation rules over the matches, in event time).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shellwatch.events import Event


class Level(StrEnum):
    INFORMATIONAL = "informational"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class AlertCategory(StrEnum):
    """``shellwatch.category``: the six alerts of the playbook."""

    UNUSUAL_SHELL = "unusual-shell"
    SERVICE_SHELL = "service-shell"
    OBFUSCATED_CLI = "obfuscated-cli"
    REVERSE_SHELL = "reverse-shell"
    CHAINED_COMMANDS = "chained-commands"
    SCHEDULED_SHELL = "scheduled-shell"


@dataclass(frozen=True, slots=True)
class LogSource:
    """A Sigma log source; ``None`` means "any"."""

    category: str | None = None
    product: str | None = None
    service: str | None = None

    def covers(self, other: LogSource) -> bool:
        """Whether a rule written for ``self`` applies to events of log source ``other``."""
        return all(
            mine is None or mine == theirs
            for mine, theirs in (
                (self.category, other.category),
                (self.product, other.product),
                (self.service, other.service),
            )
        )


@dataclass(frozen=True, slots=True)
class RuleMeta:
    """Everything about a rule except its detection logic."""

    id: str
    title: str
    level: str
    status: str | None = None
    description: str | None = None
    logsource: LogSource = field(default_factory=LogSource)
    techniques: tuple[str, ...] = ()
    """ATT&CK technique ids from the ``attack.tNNNN[.NNN]`` tags, upper case (``T1059.004``)."""
    tags: tuple[str, ...] = ()
    falsepositives: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    category: str | None = None
    """``shellwatch.category`` of the rule, one of :class:`AlertCategory`, when it has one."""
    custom: Mapping[str, Any] = field(default_factory=dict)
    """Custom attributes kept by pySigma (the investigation guide among them)."""
    path: str | None = None


@dataclass(frozen=True, slots=True)
class RuleError:
    """A rule that cannot run, and why; ``line`` where the problem is known."""

    path: str
    reason: str
    line: int | None = None
    rule_id: str | None = None
    title: str | None = None

    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else self.path


@dataclass(frozen=True, slots=True)
class Match:
    """One event matched by one rule."""

    rule: RuleMeta
    event: Event
