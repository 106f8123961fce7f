"""The detection stage of the pipeline: single-event rules and correlation rules together.

Per event, the :class:`~shellwatch.detect.engine.Detector` finds the matching rules; a match of a rule that
stands alone becomes an alert at once, a match of a rule that a correlation refers to goes to the
:class:`~shellwatch.detect.correlate.Correlator` (and alerts on its own only when the correlation says
``generate: true``). At the end of the input, :meth:`DetectionStage.flush` releases the correlations still
waiting for their windows to close.

An event whose command line or script block was decoded (``shellwatch.decoded.*``, from the context
stage) is matched a second time with the decoded text in place of the logged one; a rule that matches only
then raises its alert on the logged event with ``shellwatch.decoded.only: true``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from shellwatch.detect.correlate import Correlator, CorrelatorSettings
from shellwatch.detect.engine import Detector, make_alert
from shellwatch.detect.model import Match, RuleMeta
from shellwatch.detect.ruleset import RuleSet
from shellwatch.events import Alert, Event

_DECODED_FIELDS: Final = (
    ("shellwatch.decoded.command_line", "process.command_line"),
    ("shellwatch.decoded.script_block_text", "powershell.file.script_block_text"),
)
_DECODED_KEYS: Final = frozenset(decoded for decoded, _ in _DECODED_FIELDS)


def references(ruleset: RuleSet) -> dict[str, RuleMeta]:
    """What correlation rules may name a base rule by: its id, and its Sigma ``name``."""
    by_id = {rule.meta.id: rule.meta for rule in ruleset.rules}
    found: dict[str, RuleMeta] = dict(by_id)
    for name, rule_id in ruleset.names().items():
        if rule_id in by_id:
            found[name] = by_id[rule_id]
    return found


class DetectionStage:
    """Events in, alerts out: single-event rules at once, correlations in event time."""

    def __init__(self, detector: Detector, correlator: Correlator | None = None) -> None:
        self.detector = detector
        self.correlator = correlator
        self._referenced = correlator.referenced if correlator is not None else frozenset()

    @classmethod
    def from_ruleset(cls, ruleset: RuleSet, settings: CorrelatorSettings | None = None) -> DetectionStage:
        correlator = None
        if ruleset.correlations:
            # A batch scan reads file after file, so one host's matches need not arrive in time order:
            # hold them all (they are few) and order them at the end.
            settings = settings or CorrelatorSettings(lateness=None)
            correlator = Correlator(ruleset.correlations, references(ruleset), settings)
        return cls(Detector(ruleset), correlator)

    def process(self, event: Event) -> list[Alert]:
        """The alerts ``event`` raises now (correlation alerts may come later, or at :meth:`flush`)."""
        alerts, matches = self.split(event)
        for match in matches:
            alerts.extend(self.correlate(match))
        return alerts

    def split(self, event: Event) -> tuple[list[Alert], list[Match]]:
        """The alerts of ``event``'s single-event rules, and its matches that correlation rules want.

        The two halves of :meth:`process`: a worker process computes this, the process that holds the
        correlation state feeds the matches to :meth:`correlate`.
        """
        matches = self.detector.matches(event)
        revealed = self._revealed(event, matches) if _DECODED_KEYS & event.keys() else []
        if not matches and not revealed:
            return [], []
        correlator = self.correlator
        alerts: list[Alert] = []
        wanted: list[Match] = []
        for match in [*matches, *revealed]:
            rule_id = match.rule.id
            referenced = correlator is not None and rule_id in self._referenced
            if referenced:
                wanted.append(match)
            if not referenced or (correlator is not None and correlator.base_alerts(rule_id)):
                alert = make_alert(match.rule, event)
                if match.event is not event:
                    alert["shellwatch.decoded.only"] = True
                alerts.append(alert)
        return alerts, wanted

    def _revealed(self, event: Event, matches: list[Match]) -> list[Match]:
        """Rules that match the decoded text but did not match the event as logged.

        The rules see a copy of the event whose command line (and script block) is the decoded text; the
        alert is made from the event as logged, with ``shellwatch.decoded.only`` set.
        """
        view = dict(event)
        for decoded, original in _DECODED_FIELDS:
            value = event.get(decoded)
            if isinstance(value, str):
                view[original] = value
        view.pop("process.args", None)  # the logged argv would contradict the decoded line
        seen = {match.rule.id for match in matches}
        return [Match(match.rule, view) for match in self.detector.matches(view) if match.rule.id not in seen]

    def correlate(self, match: Match) -> list[Alert]:
        """Feed one base-rule match to the correlations; the alerts it completes."""
        return self.correlator.push(match) if self.correlator is not None else []

    def flush(self) -> list[Alert]:
        """End of input: the correlation alerts still pending."""
        return self.correlator.flush() if self.correlator is not None else []

    def rule_count(self) -> int:
        return len(self.detector.ruleset) + len(self.detector.rules)

    def stats(self) -> Mapping[str, int]:
        if self.correlator is None:
            return {}
        stats = self.correlator.stats
        names = ("late", "untimed", "ungrouped", "evicted", "overflow")
        return {name: int(getattr(stats, name)) for name in names}
