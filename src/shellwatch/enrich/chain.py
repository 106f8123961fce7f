"""The enrichers a run uses, built once from the team's settings.

Order matters only for the score: context, command and user come first (later enrichers and the allowlist may
look at their keys), then ATT&CK names, hash reputation, threat intelligence, and the allowlist last, so
that an allowlisted alert shows every reason it was raised before the one it was lowered for.

Enrichers whose data the team did not give are left out: no allowlist file, no allowlist; no feeds, no
intel. Hash reputation runs when there is a hash database (the one given, or the default one once
``shellwatch reputation import`` has filled it) or a VirusTotal key in ``$VT_API_KEY``. Problems in the
files (a bad allowlist entry, a malformed indicator, an unreadable identity line) are returned as
warnings naming the file and line; the entries that are fine are used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shellwatch.decode.commandline import CommandDecoder
from shellwatch.enrich.allowlist import AllowlistEnricher, load_allowlist
from shellwatch.enrich.attack import AttackEnricher
from shellwatch.enrich.base import Enricher
from shellwatch.enrich.command import CommandEnricher
from shellwatch.enrich.context import ContextEnricher
from shellwatch.enrich.user import Identity, UserEnricher, load_identity
from shellwatch.errors import ConfigError
from shellwatch.events import Event
from shellwatch.settings import EnrichSettings
from shellwatch.state.stage import ContextStage

if TYPE_CHECKING:
    from shellwatch.enrich.intel import IntelIndex
    from shellwatch.enrich.reputation import ReputationEnricher

# The intel (stix2) and reputation (vt-py, aiohttp) modules cost 0.2 s of imports: they load only when the
# settings use them.


@dataclass(slots=True)
class Enrichment:
    """What a run enriches with: the context stage (with its event taggers) and the alert enrichers."""

    context: ContextStage
    enrichers: list[Enricher]
    intel: IntelIndex | None = None
    warnings: list[str] = field(default_factory=list)

    def close(self) -> None:
        """Release database handles and service clients."""
        for enricher in self.enrichers:
            close = getattr(enricher, "close", None)
            if callable(close):
                close()


def build_enrichment(settings: EnrichSettings, environ: Mapping[str, str] = os.environ) -> Enrichment:
    """The context stage and enrichers ``settings`` ask for (see the module docstring)."""
    warnings: list[str] = []
    intel = _intel(settings, warnings)
    # Decoding first, so that intel also looks at what decoding revealed.
    taggers: list[Callable[[Event], None]] = [CommandDecoder()]
    if intel is not None:
        from shellwatch.enrich.intel import EventIntel

        taggers.append(EventIntel(intel))
    context = ContextStage(taggers=taggers)
    enrichers: list[Enricher] = [
        ContextEnricher(context),
        CommandEnricher(),
        UserEnricher(_identity(settings, warnings)),
        AttackEnricher(),
    ]
    reputation = _reputation(settings, environ)
    if reputation is not None:
        enrichers.append(reputation)
    if intel is not None:
        from shellwatch.enrich.intel import IntelEnricher

        enrichers.append(IntelEnricher(intel))
    if settings.allowlist is not None:
        allowlist = load_allowlist(settings.allowlist)
        warnings.extend(str(issue) for issue in allowlist.issues)
        enrichers.append(AllowlistEnricher(allowlist))
    return Enrichment(context, enrichers, intel, warnings)


def _identity(settings: EnrichSettings, warnings: list[str]) -> Identity | None:
    if not any((settings.identity_dir, settings.passwd, settings.group, settings.ad_users)):
        return None
    identity = load_identity(
        unix_dir=settings.identity_dir,
        passwd=settings.passwd,
        group=settings.group,
        ad_csv=settings.ad_users,
    )
    warnings.extend(str(issue) for issue in identity.issues)
    return identity


def _intel(settings: EnrichSettings, warnings: list[str]) -> IntelIndex | None:
    if not settings.intel:
        return None
    from shellwatch.enrich.intel import load_feeds

    index, results = load_feeds(settings.intel)
    for result in results:
        warnings.extend(str(issue) for issue in result.issues)
        missing = result.counts["issues"] - len(result.issues)
        if missing > 0:
            warnings.append(f"{result.path}: {missing} more malformed entries")
    return index


def _reputation(settings: EnrichSettings, environ: Mapping[str, str]) -> ReputationEnricher | None:
    from shellwatch.enrich.reputation import ReputationEnricher, VTSettings, default_db_path

    virustotal = VTSettings.from_env(environ) if settings.virustotal else None
    if settings.hash_db is not None and not settings.hash_db.is_file():
        raise ConfigError(
            f"{settings.hash_db}: no such hash database (fill one: shellwatch reputation import)"
        )
    path = settings.hash_db or default_db_path()
    if virustotal is None and not path.is_file():
        return None
    return ReputationEnricher(path, virustotal, trusted_sources=settings.trusted_hash_sources)
