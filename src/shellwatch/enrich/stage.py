"""The enrichment stage: alerts wait until the scan (or its window) is over, then every enricher runs.

Some context only exists after the alert: the connection a reverse shell opens comes after the shell
started, and a network sensor's log of it may be read after the endpoint's log. So alerts are held and
enriched when :meth:`EnrichmentStage.flush` is called (at the end of a batch scan). An enricher that
fails on one alert is reported on it (``shellwatch.enrich.errors``) and does not stop the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from shellwatch.enrich.base import SCORE_KEY, Enricher, base_score
from shellwatch.events import Alert

if TYPE_CHECKING:
    from shellwatch.state.stage import ContextStage


@runtime_checkable
class ReadsContext(Protocol):
    """An enricher that reads the context stage's tables (and so must follow a copy of them)."""

    def with_context(self, context: ContextStage) -> Enricher:
        """The same enricher reading ``context``."""
        ...


class EnrichmentStage:
    """Holds alerts, then runs every enricher on each (see the module docstring)."""

    def __init__(self, enrichers: Sequence[Enricher] = ()) -> None:
        self.enrichers = list(enrichers)
        self._held: list[Alert] = []

    def with_context(self, context: ContextStage) -> EnrichmentStage:
        """A stage with the same enrichers, those that read context tables reading ``context``.

        A worker that scans with its own copy of the tables uses this; the other enrichers (with their
        indexes and database handles) are shared, not copied.
        """
        return EnrichmentStage(
            [
                item.with_context(context) if isinstance(item, ReadsContext) else item
                for item in self.enrichers
            ]
        )

    def push(self, alert: Alert) -> None:
        """Hold ``alert`` until :meth:`flush`."""
        self._held.append(alert)

    def flush(self) -> list[Alert]:
        """Every held alert, enriched."""
        held, self._held = self._held, []
        for alert in held:
            self.enrich(alert)
        return held

    def enrich(self, alert: Alert) -> Alert:
        alert.setdefault(SCORE_KEY, base_score(alert))
        errors: list[str] = []
        for enricher in self.enrichers:
            try:
                enricher.enrich(alert)
            except Exception as exc:  # noqa: BLE001 - one enricher's fault must not lose the alert
                errors.append(f"{enricher.name}: {type(exc).__name__}: {exc}")
        if errors:
            alert["shellwatch.enrich.errors"] = errors
        return alert
