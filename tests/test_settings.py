"""The settings file: where it is found, how paths resolve, and what a mistake in it says."""

from __future__ import annotations

from pathlib import Path

import pytest

from shellwatch.errors import ConfigError
from shellwatch.settings import EnrichSettings, load_settings, settings_path


def test_paths_are_taken_from_the_settings_file_folder(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "shellwatch.toml"
    path.parent.mkdir()
    path.write_text(
        '[enrich]\nallowlist = "lists/allow.yaml"\nintel = ["a.csv", "/abs/b.json"]\n'
        'hash_db = "hashes.db"\ntrusted_hash_sources = "gold"\nvirustotal = false\n'
    )
    enrich = load_settings(path).enrich
    assert enrich.allowlist == path.parent / "lists" / "allow.yaml"
    assert enrich.intel == (path.parent / "a.csv", Path("/abs/b.json"))
    assert enrich.hash_db == path.parent / "hashes.db"
    assert enrich.trusted_hash_sources == ("gold",)
    assert enrich.virustotal is False


def test_no_file_means_defaults() -> None:
    assert load_settings(None).enrich == EnrichSettings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[enrich]\nallow_list = 'x'\n", "[enrich] has no key 'allow_list'"),
        ("[detect]\n", "unknown section or key 'detect'"),
        ("[enrich]\nvirustotal = 'yes'\n", "virustotal must be true or false"),
        ("[enrich]\nintel = [1]\n", "intel must be a non-empty string"),
        ("[enrich\n", "not valid TOML"),
    ],
)
def test_mistakes_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_file_is_found_by_option_then_environment_then_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert settings_path(None, {}) is None
    (tmp_path / "shellwatch.toml").write_text("")
    assert settings_path(None, {}) == Path("shellwatch.toml")
    assert settings_path(None, {"SHELLWATCH_CONFIG": "/etc/sw.toml"}) == Path("/etc/sw.toml")
    assert settings_path(Path("given.toml"), {"SHELLWATCH_CONFIG": "/etc/sw.toml"}) == Path("given.toml")


def test_options_win_over_the_file_and_empty_options_do_not() -> None:
    base = EnrichSettings(allowlist=Path("a.yaml"), intel=(Path("x.csv"),))
    merged = base.with_options(allowlist=None, intel=[Path("y.csv")], hash_db=None, virustotal=False)
    assert merged.allowlist == Path("a.yaml")
    assert merged.intel == (Path("y.csv"),)
    assert merged.virustotal is False
    assert base.with_options(intel=[]) == base
