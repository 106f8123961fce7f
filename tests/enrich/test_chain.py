"""The enrichers a run builds from its settings, and what each file problem becomes."""

from __future__ import annotations

from pathlib import Path

import pytest

from shellwatch.enrich.chain import build_enrichment
from shellwatch.enrich.reputation import HashDatabase
from shellwatch.errors import ConfigError
from shellwatch.events import Event
from shellwatch.settings import EnrichSettings
from tests.conftest import FIXTURES

LISTS = FIXTURES / "enrich"


def test_without_lists_only_the_event_based_enrichers_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHELLWATCH_CACHE_DIR", str(tmp_path))
    enrichment = build_enrichment(EnrichSettings(), environ={})
    assert [item.name for item in enrichment.enrichers] == ["context", "command", "user", "attack"]
    assert [type(tag).__name__ for tag in enrichment.context.taggers] == ["CommandDecoder"]
    assert enrichment.intel is None


def test_every_list_given_adds_its_enricher_and_reports_bad_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHELLWATCH_CACHE_DIR", str(tmp_path))
    hashes = tmp_path / "hashes.db"
    HashDatabase(hashes).import_csv(LISTS / "malwarebazaar_recent.csv")
    settings = EnrichSettings(
        allowlist=LISTS / "allowlist" / "bad.yml",
        identity_dir=LISTS / "identity" / "unix",
        intel=(LISTS / "intel" / "intel.csv",),
        hash_db=hashes,
    )
    enrichment = build_enrichment(settings, environ={})
    try:
        names = [item.name for item in enrichment.enrichers]
        assert names == ["context", "command", "user", "attack", "reputation", "intel", "allowlist"]
        assert any("intel.csv" in warning and "not-an-ip" in warning for warning in enrichment.warnings)
        assert any("bad.yml:" in warning for warning in enrichment.warnings)
        event: Event = {"host.name": "h", "destination.ip": "10.66.1.2", "event.category": ["network"]}
        enrichment.context.process(event)
        assert event["shellwatch.intel.matched"] is True
        assert event["shellwatch.intel.fields"] == ["destination.ip"]
    finally:
        enrichment.close()


def test_a_hash_database_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such hash database"):
        build_enrichment(EnrichSettings(hash_db=tmp_path / "missing.db"), environ={})


def test_virustotal_key_turns_reputation_on_unless_disabled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHELLWATCH_CACHE_DIR", str(tmp_path))
    key = {"VT_API_KEY": "k"}
    on = build_enrichment(EnrichSettings(), environ=key)
    off = build_enrichment(EnrichSettings(virustotal=False), environ=key)
    assert "reputation" in [item.name for item in on.enrichers]
    assert "reputation" not in [item.name for item in off.enrichers]
    on.close()
