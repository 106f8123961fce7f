"""The contract every enricher follows.

An enricher adds its own keys to an alert (a flat ECS dict) and nothing else: it never removes or rewrites
the keys of the matched event or of another enricher. Keys are ECS where ECS has a name for the thing
(``threat.tactic.name``, ``user.roles``); everything of shellwatch's own lives under
``shellwatch.<enricher>.*``. Lists of related values are parallel lists (the n-th element of each list
describes the same item), since event values are scalars or lists of scalars.

Enrichers are built once per run from their configuration and must be cheap per alert; those that reach a
network service do it behind an interface that can be replaced, cache their answers, and never fail the
scan when the service is unreachable (they record why in their own keys instead).
"""

from __future__ import annotations

from typing import Protocol

from shellwatch.events import Alert


class Enricher(Protocol):
    """Adds context to alerts; ``name`` is the ``shellwatch.<name>.*`` namespace it writes."""

    name: str

    def enrich(self, alert: Alert) -> None:
        """Add this enricher's keys to ``alert`` (in place)."""
        ...


SCORE_KEY = "shellwatch.score"
"""The alert's triage score (0-100). Enrichers that lower or raise it adjust this key, starting from the
rule level's base score (:func:`base_score`) when it is absent."""

_LEVEL_SCORES = {"informational": 10, "low": 25, "medium": 50, "high": 75, "critical": 90}


def base_score(alert: Alert) -> int:
    """The score an alert starts from: its rule level's (50 when unknown)."""
    level = alert.get("rule.level")
    return _LEVEL_SCORES.get(str(level).lower(), 50) if level is not None else 50


REASONS_KEY = "shellwatch.score_reasons"
"""Why the score moved: one ``<enricher>: <delta>`` entry per adjustment, in order."""


def adjust_score(alert: Alert, delta: int, by: str) -> int:
    """Add ``delta`` to the alert's score (clamped to 0-100), say so, and return the new score."""
    current = alert.get(SCORE_KEY)
    start = current if isinstance(current, int) and not isinstance(current, bool) else base_score(alert)
    score = max(0, min(100, start + delta))
    alert[SCORE_KEY] = score
    reasons = alert.get(REASONS_KEY)
    alert[REASONS_KEY] = [*(reasons if isinstance(reasons, list) else []), f"{by}: {delta:+d}"]
    return score


def adjusted_by(alert: Alert, by: str) -> bool:
    """Whether the enricher named ``by`` has moved this alert's score already."""
    reasons = alert.get(REASONS_KEY)
    return isinstance(reasons, list) and any(str(item).startswith(f"{by}: ") for item in reasons)
