"""The team's settings: which allowlist, identity exports, intel feeds and hash database a scan uses.

They come from a TOML file (``--config FILE``, else ``$SHELLWATCH_CONFIG``, else ``shellwatch.toml`` in
the working directory when there is one), then from command-line options, which win. Relative paths in
the file are taken from the file's directory, so a settings file can sit beside the lists it names::

    [enrich]
    allowlist = "allowlist.yaml"          # known-good behaviour (see shellwatch.enrich.allowlist)
    identity_dir = "identity"             # passwd/group exports, global and per host
    passwd = "passwd"                     # or one passwd/group pair
    group = "group"
    ad_users = "ad-users.csv"             # an Active Directory export
    intel = ["feeds/misp", "feeds/c2.csv", "feeds/bundle.json"]
    hash_db = "reputation.db"             # default: the cache directory's reputation.db
    trusted_hash_sources = ["gold-image"] # local sources whose "harmless" lowers the score
    virustotal = true                     # ask VirusTotal when $VT_API_KEY is set

An unknown key or a value of the wrong type is a :class:`ConfigError` naming the file and the key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final

from shellwatch.errors import ConfigError

DEFAULT_FILE: Final = "shellwatch.toml"
ENV_FILE: Final = "SHELLWATCH_CONFIG"

_PATH_KEYS: Final = ("allowlist", "identity_dir", "passwd", "group", "ad_users", "hash_db")


@dataclass(frozen=True, slots=True)
class EnrichSettings:
    """Where the enrichers find their data; None or empty when the team keeps none."""

    allowlist: Path | None = None
    identity_dir: Path | None = None
    passwd: Path | None = None
    group: Path | None = None
    ad_users: Path | None = None
    intel: tuple[Path, ...] = ()
    hash_db: Path | None = None
    trusted_hash_sources: tuple[str, ...] = ()
    virustotal: bool = True

    def with_options(self, **options: Any) -> EnrichSettings:
        """These settings with every option that was given (not None, not empty) put in place."""
        given = {key: value for key, value in options.items() if value not in (None, (), [])}
        for key in ("intel", "trusted_hash_sources"):
            if key in given:
                given[key] = tuple(given[key])
        return replace(self, **given)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a settings file can hold; ``path`` is the file read (None: no file)."""

    enrich: EnrichSettings = field(default_factory=EnrichSettings)
    path: Path | None = None


def settings_path(explicit: Path | None, environ: Mapping[str, str] = os.environ) -> Path | None:
    """The settings file to read: the one given, else ``$SHELLWATCH_CONFIG``, else ./shellwatch.toml."""
    if explicit is not None:
        return explicit
    if environ.get(ENV_FILE):
        return Path(environ[ENV_FILE])
    default = Path(DEFAULT_FILE)
    return default if default.is_file() else None


def load_settings(path: Path | None) -> Settings:
    """The settings in ``path`` (no file: the defaults)."""
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the settings: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"enrich"})
    if unknown:
        raise ConfigError(f"{path}: unknown section or key {unknown[0]!r} (known: enrich)")
    section = data.get("enrich", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: 'enrich' must be a table")
    return Settings(_enrich(section, path), path)


def _enrich(section: dict[str, Any], path: Path) -> EnrichSettings:
    known = {item.name for item in fields(EnrichSettings)}
    values: dict[str, Any] = {}
    for key, value in section.items():
        if key not in known:
            raise ConfigError(f"{path}: [enrich] has no key {key!r} (known: {', '.join(sorted(known))})")
        values[key] = _value(path, key, value)
    return EnrichSettings(**values)


def _value(path: Path, key: str, value: Any) -> Any:
    base = path.parent
    if key in _PATH_KEYS:
        return base / _text(path, key, value)
    if key == "intel":
        items = value if isinstance(value, list) else [value]
        return tuple(base / _text(path, key, item) for item in items)
    if key == "trusted_hash_sources":
        items = value if isinstance(value, list) else [value]
        return tuple(_text(path, key, item) for item in items)
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: [enrich] {key} must be true or false, not {value!r}")
    return value


def _text(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{path}: [enrich] {key} must be a non-empty string, not {value!r}")
    return os.path.expanduser(value)
