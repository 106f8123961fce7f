"""Threat intelligence: indicators (IOCs) from STIX 2, MISP and CSV feeds, matched against whole alerts.

An alert says more than its rule matched on: the address a reverse shell dials, the URL a ``curl | sh``
fetches, the hash of the binary. This enricher looks every such value up in the team's indicator feeds.

**Feeds.** Three loaders read indicators into an :class:`IntelIndex`; each returns a :class:`LoadResult`
with the indicators, every malformed entry as a :class:`LoadIssue` (file and line for CSV, object index and
id for JSON) and counts of what was loaded, skipped and why. A bad entry never stops the load and nothing
is dropped without being counted. A file that cannot be read at all raises :class:`InputError`.

- :func:`load_stix`: a STIX 2.0/2.1 bundle read with ``stix2``. ``indicator`` objects whose pattern (parsed
  with ``stix2patterns``) is one comparison or comparisons joined by OR, with ``=``, ``IN`` or (for
  addresses) ``ISSUBSET``, on ``ipv4-addr:value``, ``ipv6-addr:value`` (an address or a CIDR range),
  ``domain-name:value``, ``url:value`` or ``file:hashes.MD5/'SHA-1'/'SHA-256'``. Revoked, expired
  (``valid_until`` passed) and not yet valid indicators are skipped and counted. Patterns that need
  several observations together (AND, FOLLOWEDBY) cannot be matched by one value and are reported;
  qualifiers (WITHIN, REPEATS) are ignored. Plain ``ipv4-addr``, ``ipv6-addr``, ``domain-name``, ``url``
  and ``file`` objects of the bundle are indicators too; other objects are counted as ignored.
- :func:`load_misp`: a MISP event (``{"Event": {...}}``, with its ``Attribute`` list and the attributes of
  its ``Object`` list) or a MISP feed folder (``manifest.json`` and one ``<uuid>.json`` per event). Only
  attributes flagged ``to_ids`` are taken unless ``include_non_ids``; deleted ones never are.
- :func:`load_csv`: a CSV with a header naming an ``indicator`` (or ``value``) column and optionally
  ``type`` (ip, cidr, domain, url, md5, sha1, sha256; guessed from the value when absent), ``source`` (which
  then names the indicator's source instead of the file) and ``description``. Lines starting with ``#``
  are comments.

:func:`load_feed` picks the loader from the file, :func:`load_feeds` builds an index from several.

**Matching.** IPs match exactly (canonical text) or inside a CIDR range (ranges are grouped by prefix
length, so a lookup is one set probe per length in use, whatever the number of ranges); domains match
case-insensitively, without the trailing dot, and a listed domain matches its subdomains; URLs match as
given or with scheme and host lower-cased; hashes in lower case.

The enricher examines IP fields (any key ending in ``.ip``, and ``dns.resolved_ip``), ``*.address``,
domain fields (``*.domain`` but no user's domain, ``dns.question.name``), URL fields (``url.full``,
``url.original``, ``http.request.referrer``, whose host is checked too), hash fields (``*.hash.md5`` /
``sha1`` / ``sha256``, ``related.hash``), and the text of command lines and scripts
(``process.command_line``, ``process.parent.command_line``, ``powershell.file.script_block_text``,
``shellwatch.decoded.*``), from which it extracts IPv4 and IPv6 addresses, URLs, domains (with a TLD that
is not a common file extension) and hex digests with regexes compiled once at import.

Keys written, as parallel lists with one item per match (an indicator of one source matched by one
observed value, reported once, for the first field it was seen in; ``related.*`` is looked at last):
``shellwatch.intel.indicator`` (the feed's value: an address, range, domain, URL or digest),
``shellwatch.intel.type`` (``ip``, ``cidr``, ``domain``, ``url``, ``md5``, ``sha1``, ``sha256``),
``shellwatch.intel.value`` (what the alert holds: the address inside a range, the subdomain),
``shellwatch.intel.field`` (the alert key), ``shellwatch.intel.source`` (the feed) and
``shellwatch.intel.description``; plus ``shellwatch.intel.fields`` (every key any match was found in, so a
rule can ask for a listed *destination* whatever else held the value) and
``shellwatch.intel.matched = True``. A match raises the score by 25,
once per alert. An alert that matches nothing gets no key.
"""

from __future__ import annotations

import csv
import ipaddress
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit, urlunsplit

import stix2  # type: ignore[import-untyped]
from stix2.exceptions import STIXError  # type: ignore[import-untyped]
from stix2patterns.exceptions import ParseException  # type: ignore[import-untyped]
from stix2patterns.v21.inspector import InspectionListener  # type: ignore[import-untyped]
from stix2patterns.v21.pattern import Pattern  # type: ignore[import-untyped]

from shellwatch.enrich.base import adjust_score, adjusted_by
from shellwatch.errors import InputError
from shellwatch.events import Alert, Event, Value, canonical_ip

IndicatorType = Literal["ip", "cidr", "domain", "url", "md5", "sha1", "sha256"]
Observable = Literal["ip", "domain", "url", "hash"]
"""What kind of value an alert holds, and so which lookup it gets."""

PREFIX: Final = "shellwatch.intel"
SCORE_DELTA: Final = 25
MAX_ISSUES: Final = 1000
"""Issues kept one by one per load; further ones are only counted (``counts["issues"]``)."""

_HASH_TYPES: Final[dict[int, IndicatorType]] = {32: "md5", 40: "sha1", 64: "sha256"}
_HEX: Final = re.compile(r"[0-9a-f]+")
_DOMAIN: Final = re.compile(
    r"(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
)
_DEFANG: Final = ((re.compile(r"[\[({]\.[\])}]"), "."), (re.compile(r"^hxxp", re.I), "http"))
_TYPE_ALIASES: Final[dict[str, str]] = {
    alias: kind
    for kind, aliases in (
        ("ip", "ip ipv4 ipv6 ip-src ip-dst"),
        ("cidr", "cidr"),
        ("domain", "domain hostname fqdn"),
        ("url", "url uri"),
        ("md5", "md5"),
        ("sha1", "sha1 sha-1"),
        ("sha256", "sha256 sha-256"),
        ("hash", "hash"),
    )
    for alias in aliases.split()
}
"""CSV ``type`` values and the indicator type each means (``hash``: MD5, SHA-1 or SHA-256 by length)."""


class IntelError(ValueError):
    """An entry of a feed that cannot be an indicator (the message says why)."""


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator of compromise: its normalized ``value``, the feed it came from and what it is."""

    type: IndicatorType
    value: str
    source: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class LoadIssue:
    """A malformed entry of a feed: the file, where in it (``line 4``, ``objects[2] indicator--…``), why."""

    path: str
    where: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.where}: {self.message}"


@dataclass
class LoadResult:
    """What one feed gave: indicators, issues, and counts.

    Counts: ``loaded`` indicators, ``issues`` (all of them, also past :data:`MAX_ISSUES`), ``skipped: <why>``
    for entries left out on purpose (revoked, expired, not to_ids, a MISP type that is no indicator) and
    ``ignored: <type>`` for STIX objects that are not indicators (identities, relationships...).
    """

    path: str
    source: str
    indicators: list[Indicator] = field(default_factory=list)
    issues: list[LoadIssue] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, indicator: Indicator) -> None:
        self.indicators.append(indicator)
        self.counts["loaded"] += 1

    def issue(self, where: str, message: str, *, line: int | None = None, path: str | None = None) -> None:
        self.counts["issues"] += 1
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(LoadIssue(path or self.path, where, message, line))

    def skip(self, reason: str) -> None:
        self.counts[f"skipped: {reason}"] += 1

    def merge(self, other: LoadResult) -> None:
        """Take in the indicators, issues and counts of a part of this feed (a MISP feed's event file)."""
        self.indicators += other.indicators
        self.issues += other.issues[: max(0, MAX_ISSUES - len(self.issues))]
        self.counts.update(other.counts)


# Normalizing indicator values


def refang(text: str) -> str:
    """``text`` with the usual defanging undone (``hxxp://evil[.]example`` -> ``http://evil.example``)."""
    for pattern, replacement in _DEFANG:
        text = pattern.sub(replacement, text)
    return text.strip()


def normalize_network(text: str) -> tuple[Literal["ip", "cidr"], str]:
    """An address (canonical text) or a CIDR range (host bits cleared); a full-length range is an address."""
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as exc:
        raise IntelError(f"not an IP address or CIDR range: {text!r}") from exc
    if network.prefixlen == network.max_prefixlen:
        return "ip", str(network.network_address)
    return "cidr", str(network)


def normalize_domain(text: str) -> str:
    """A domain name in lower case without the trailing dot (IDNs in punycode); IntelError if it is none."""
    name = text.strip().rstrip(".").lower()
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise IntelError(f"not a domain name: {text!r}") from exc
    if not _DOMAIN.fullmatch(name):
        raise IntelError(f"not a domain name: {text!r}")
    return name


def normalize_url(text: str) -> str:
    """A URL with scheme and host in lower case and an empty path as ``/``; IntelError when not a URL."""
    try:
        parts = urlsplit(text.strip())
    except ValueError as exc:
        raise IntelError(f"not a URL: {text!r}") from exc
    if not parts.scheme or not parts.netloc:
        raise IntelError(f"not a URL (no scheme or host): {text!r}")
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, parts.fragment)
    )


def normalize_hash(text: str, kind: str | None = None) -> tuple[IndicatorType, str]:
    """An MD5, SHA-1 or SHA-256 digest in lower case, with its type (``kind`` when given must agree)."""
    digest = text.strip().lower()
    found = _HASH_TYPES.get(len(digest))
    if found is None or not _HEX.fullmatch(digest) or kind not in (None, "hash", found):
        raise IntelError(f"not a {kind if kind not in (None, 'hash') else 'hash'} digest: {text!r}")
    return found, digest


def guess_type(value: str) -> str:
    """The indicator type a bare value looks like (for CSV rows without a type)."""
    if "://" in value:
        return "url"
    if len(value) in _HASH_TYPES and _HEX.fullmatch(value.lower()):
        return "hash"
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return "domain"
    return "ip"


def make_indicator(kind: str | None, raw: str, source: str, description: str = "") -> Indicator:
    """An indicator from a feed's value and type (None: guessed); IntelError when they do not fit."""
    value = refang(raw)
    if not value:
        raise IntelError("empty indicator")
    kind = guess_type(value) if kind is None else kind
    if kind in ("ip", "cidr"):
        found, text = normalize_network(value)
        return Indicator(found, text, source, description)
    if kind == "domain":
        return Indicator("domain", normalize_domain(value), source, description)
    if kind == "url":
        normalize_url(value)
        return Indicator("url", value, source, description)
    if kind in ("md5", "sha1", "sha256", "hash"):
        hash_type, digest = normalize_hash(value, kind)
        return Indicator(hash_type, digest, source, description)
    raise IntelError(f"unknown indicator type {kind!r}")


# Reading feed files


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the intel feed: {exc.strerror or exc}") from exc


def _read_json(path: Path, result: LoadResult) -> Any:
    """The JSON document in ``path``; None (and an issue) when it is not JSON."""
    try:
        return json.loads(_read_bytes(path))
    except json.JSONDecodeError as exc:
        result.issue(f"line {exc.lineno}", f"not JSON: {exc.msg}", line=exc.lineno, path=str(path))
    except ValueError as exc:
        result.issue("file", f"not JSON: {exc}", path=str(path))
    return None


def _where(index: int, obj: object, prefix: str = "objects") -> str:
    ident = obj.get("id") if isinstance(obj, dict) else None
    return f"{prefix}[{index}] {ident}" if ident else f"{prefix}[{index}]"


# STIX 2


_STIX_SCOS: Final = frozenset({"ipv4-addr", "ipv6-addr", "domain-name", "url", "file"})
_STIX_VALUE_TYPES: Final[dict[str, str]] = {
    "ipv4-addr": "ip",
    "ipv6-addr": "ip",
    "domain-name": "domain",
    "url": "url",
}
_STIX_HASHES: Final[dict[str, str]] = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256"}
_STIX_STRING: Final = re.compile(r"'((?:[^'\\]|\\.)*)'")


class _PatternListener(InspectionListener):  # type: ignore[misc]
    """stix2patterns' inspector, also noting whether comparisons are joined by AND."""

    def __init__(self) -> None:
        super().__init__()
        self.conjunction = False

    def exitComparisonExpressionAnd(self, ctx: Any) -> None:
        """Called by the ANTLR walker after each ``a AND b`` (or lone) comparison group."""
        if ctx.AND() is not None:
            self.conjunction = True


@dataclass(frozen=True, slots=True)
class PatternValues:
    """The indicator values of a STIX pattern: ``(type, value)`` pairs, and why the rest could not be used."""

    values: tuple[tuple[str, str], ...]
    problems: tuple[str, ...]


def _unquote(literal: str) -> list[str] | None:
    """The strings of a STIX string literal or set literal (``'a'``, ``('a', 'b')``); None if not strings."""
    strings = [m.group(1).replace("\\'", "'").replace("\\\\", "\\") for m in _STIX_STRING.finditer(literal)]
    return strings or None


def _comparison_type(obj_type: str, path: Sequence[object], op: str) -> str | None:
    """The indicator type a comparison gives (None when shellwatch cannot match it)."""
    if obj_type in ("ipv4-addr", "ipv6-addr") and list(path) == ["value"] and op in ("=", "IN", "ISSUBSET"):
        return "ip"
    if op not in ("=", "IN"):
        return None
    if obj_type in _STIX_VALUE_TYPES and list(path) == ["value"]:
        return _STIX_VALUE_TYPES[obj_type]
    if obj_type == "file" and len(path) == 2 and path[0] == "hashes":
        return _STIX_HASHES.get(str(path[1]).upper().replace("-", ""))
    return None


def pattern_values(pattern: str) -> PatternValues:
    """The values a STIX pattern of single comparisons joined by OR tests, parsed with stix2patterns.

    Raises IntelError when the pattern does not parse or needs several observations together (AND,
    FOLLOWEDBY), which no single value of an alert can satisfy.
    """
    listener = _PatternListener()
    try:
        Pattern(pattern).walk(listener)
    except ParseException as exc:
        raise IntelError(f"invalid STIX pattern: {exc}") from exc
    data = listener.pattern_data()
    joined = sorted(data.observation_ops - {"OR"}) + (["AND"] if listener.conjunction else [])
    if joined:
        raise IntelError(f"pattern joins comparisons with {'/'.join(joined)}; only OR can be matched")
    values: list[tuple[str, str]] = []
    problems: list[str] = []
    for obj_type, comparisons in data.comparisons.items():
        for path, op, literal in comparisons:
            kind, strings = _comparison_type(obj_type, path, op), _unquote(literal)
            if kind is None or strings is None:
                shown = ".".join(str(step) for step in path)
                problems.append(f"unsupported comparison {obj_type}:{shown} {op} {literal}")
                continue
            values.extend((kind, text) for text in strings)
    return PatternValues(tuple(values), tuple(problems))


def _stix_indicator(result: LoadResult, where: str, obj: Any, now: datetime) -> None:
    if obj.get("revoked"):
        result.skip("revoked")
    elif obj.get("valid_until") is not None and obj["valid_until"] <= now:
        result.skip("expired")
    elif obj.get("valid_from") is not None and obj["valid_from"] > now:
        result.skip("not yet valid")
    elif obj.get("pattern_type", "stix") != "stix":
        result.issue(where, f"pattern type {obj['pattern_type']!r} is not STIX")
    else:
        _stix_pattern(result, where, obj)


def _stix_pattern(result: LoadResult, where: str, obj: Any) -> None:
    description = str(obj.get("name") or obj.get("description") or "")
    try:
        found = pattern_values(obj["pattern"])
    except IntelError as exc:
        result.issue(where, str(exc))
        return
    for problem in found.problems:
        result.issue(where, problem)
    for kind, text in found.values:
        _add(result, where, kind, text, description)


def _add(result: LoadResult, where: str, kind: str | None, text: str, description: str = "") -> None:
    try:
        result.add(make_indicator(kind, text, result.source, description))
    except IntelError as exc:
        result.issue(where, str(exc))


def _stix_observable(result: LoadResult, where: str, obj: Any) -> None:
    if obj["type"] != "file":
        _add(result, where, _STIX_VALUE_TYPES[obj["type"]], str(obj["value"]))
        return
    hashes = obj.get("hashes") or {}
    usable = [(_STIX_HASHES.get(key.upper().replace("-", "")), value) for key, value in hashes.items()]
    usable = [(kind, digest) for kind, digest in usable if kind is not None]
    if not usable:
        result.skip("file without MD5/SHA-1/SHA-256")
    for kind, digest in usable:
        _add(result, where, kind, str(digest))


def _stix_object(result: LoadResult, where: str, raw: object, now: datetime) -> None:
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        result.issue(where, "not a STIX object (no type)")
        return
    if raw["type"] != "indicator" and raw["type"] not in _STIX_SCOS:
        result.counts[f"ignored: {raw['type']}"] += 1
        return
    try:
        obj = stix2.parse(raw, allow_custom=True)
    except (STIXError, ValueError, TypeError) as exc:
        result.issue(where, f"invalid {raw['type']}: {exc}")
        return
    if obj["type"] == "indicator":
        _stix_indicator(result, where, obj, now)
    else:
        _stix_observable(result, where, obj)


def _stix_bundle(result: LoadResult, data: Any, now: datetime) -> None:
    objects = data.get("objects") if isinstance(data, dict) and data.get("type") == "bundle" else None
    if not isinstance(objects, list):
        result.issue("file", "not a STIX bundle (no type 'bundle' with a list of objects)")
        return
    for index, raw in enumerate(objects):
        _stix_object(result, _where(index, raw), raw, now)


def load_stix(path: Path, *, name: str | None = None, now: datetime | None = None) -> LoadResult:
    """Indicators of a STIX 2 bundle (see the module docstring); ``now`` decides what has expired."""
    result = LoadResult(str(path), name or path.name)
    data = _read_json(path, result)
    if data is not None:
        _stix_bundle(result, data, now or datetime.now(UTC))
    return result


# MISP


_MISP_TYPES: Final[dict[str, tuple[tuple[str, int], ...]]] = {
    "ip-src": (("ip", 0),),
    "ip-dst": (("ip", 0),),
    "ip-src|port": (("ip", 0),),
    "ip-dst|port": (("ip", 0),),
    "domain": (("domain", 0),),
    "hostname": (("domain", 0),),
    "hostname|port": (("domain", 0),),
    "domain|ip": (("domain", 0), ("ip", 1)),
    "url": (("url", 0),),
    "md5": (("md5", 0),),
    "sha1": (("sha1", 0),),
    "sha256": (("sha256", 0),),
    "filename|md5": (("md5", 1),),
    "filename|sha1": (("sha1", 1),),
    "filename|sha256": (("sha256", 1),),
    "malware-sample": (("md5", 1),),
}
"""MISP attribute types taken, with the indicator type of each ``|``-separated part used."""
_PLAIN_NAME: Final = re.compile(r"[\w-]+")
"""A MISP feed manifest's event uuid, which names the event's file: no path separators or dots."""


def _truthy(value: object) -> bool:
    """MISP booleans: JSON true, 1, or the strings ``"1"``/``"true"`` of older exports."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def _misp_attribute(result: LoadResult, where: str, attr: object, info: str, include_non_ids: bool) -> None:
    if not isinstance(attr, dict) or not isinstance(attr.get("type"), str):
        result.issue(where, "not a MISP attribute (no type)")
        return
    parts = _MISP_TYPES.get(attr["type"])
    if _truthy(attr.get("deleted")):
        result.skip("deleted")
    elif parts is None:
        result.skip(f"type {attr['type']}")
    elif not include_non_ids and not _truthy(attr.get("to_ids")):
        result.skip("not to_ids")
    elif not isinstance(attr.get("value"), str):
        result.issue(where, f"{attr['type']} attribute without a text value")
    else:
        _misp_values(result, where, attr, parts, str(attr.get("comment") or info))


def _misp_values(
    result: LoadResult, where: str, attr: dict[str, Any], parts: tuple[tuple[str, int], ...], description: str
) -> None:
    values = attr["value"].split("|") if "|" in attr["type"] else [attr["value"]]
    if "|" in attr["type"] and len(values) != 2:
        result.issue(where, f"{attr['type']} value {attr['value']!r} is not two '|'-separated parts")
        return
    for kind, index in parts:
        _add(result, where, kind, values[index], description)


def _misp_event(result: LoadResult, event: Mapping[str, Any], prefix: str, include_non_ids: bool) -> None:
    info = str(event.get("info") or "")
    for index, attr in enumerate(event.get("Attribute") or []):
        _misp_attribute(result, _where(index, attr, f"{prefix}.Attribute"), attr, info, include_non_ids)
    for index, obj in enumerate(event.get("Object") or []):
        if not isinstance(obj, dict):
            result.issue(f"{prefix}.Object[{index}]", "not a MISP object")
            continue
        for number, attr in enumerate(obj.get("Attribute") or []):
            where = _where(number, attr, f"{prefix}.Object[{index}].Attribute")
            _misp_attribute(result, where, attr, info, include_non_ids)


def _misp_events(data: Any) -> Iterator[tuple[str, Any]]:
    """``(where, event)`` for a ``{"Event": ...}`` document, a list of them, or a ``{"response": [...]}``."""
    if isinstance(data, dict) and "response" in data:
        data = data["response"]
    items = data if isinstance(data, list) else [data]
    for index, item in enumerate(items):
        prefix = f"[{index}].Event" if isinstance(data, list) else "Event"
        yield prefix, item.get("Event") if isinstance(item, dict) else None


def _misp_document(result: LoadResult, data: Any, include_non_ids: bool) -> None:
    for prefix, event in _misp_events(data):
        if isinstance(event, dict):
            _misp_event(result, event, prefix, include_non_ids)
        else:
            result.issue(prefix, "not a MISP event (no 'Event' object)")


def _misp_manifest(result: LoadResult, folder: Path, include_non_ids: bool) -> None:
    manifest_path = folder / "manifest.json"
    manifest = _read_json(manifest_path, result)
    if manifest is None:
        return
    if not isinstance(manifest, dict):
        result.issue("file", "not a MISP feed manifest (no object of event uuids)", path=str(manifest_path))
        return
    for uuid in manifest:
        event_path = folder / f"{uuid}.json"
        if not _PLAIN_NAME.fullmatch(uuid):
            result.issue(f"event {uuid!r}", "not an event uuid", path=str(manifest_path))
        elif not event_path.is_file():
            result.issue(f"event {uuid}", f"listed in manifest.json but {event_path.name} is missing")
        else:
            result.merge(_misp_event_file(event_path, result.source, include_non_ids))


def _misp_event_file(path: Path, source: str, include_non_ids: bool) -> LoadResult:
    part = LoadResult(str(path), source)
    data = _read_json(path, part)
    if data is not None:
        _misp_document(part, data, include_non_ids)
    return part


def load_misp(path: Path, *, name: str | None = None, include_non_ids: bool = False) -> LoadResult:
    """Indicators of a MISP event file or MISP feed folder (``manifest.json`` + ``<uuid>.json``)."""
    result = LoadResult(str(path), name or path.name)
    if path.is_dir():
        if not (path / "manifest.json").is_file():
            raise InputError(f"{path}: a MISP feed folder needs a manifest.json")
        _misp_manifest(result, path, include_non_ids)
    else:
        data = _read_json(path, result)
        if data is not None:
            _misp_document(result, data, include_non_ids)
    return result


# CSV


class _Lines:
    """The lines of a text without blank and ``#`` comment lines, remembering each one's line number."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines(keepends=True)
        self.numbers: list[int] = []

    def __iter__(self) -> Iterator[str]:
        for number, line in enumerate(self._lines, 1):
            if line.strip() and not line.lstrip().startswith("#"):
                self.numbers.append(number)
                yield line

    def number(self, consumed: int) -> int:
        """The line number of the ``consumed``-th line handed out (the csv module's ``line_num``)."""
        return self.numbers[consumed - 1] if consumed else 1


def _csv_row(result: LoadResult, line: int, row: dict[str | None, Any], column: str) -> None:
    where = f"line {line}"
    if row.get(None):
        result.issue(where, f"{len(row[None])} field(s) more than the header has", line=line)
        return
    kind_text = (row.get("type") or "").strip().lower()
    kind = _TYPE_ALIASES.get(kind_text) if kind_text else None
    if kind_text and kind is None:
        result.issue(where, f"unknown type {kind_text!r}", line=line)
        return
    source = (row.get("source") or "").strip() or result.source
    description = (row.get("description") or "").strip()
    try:
        result.add(make_indicator(kind, row.get(column) or "", source, description))
    except IntelError as exc:
        result.issue(where, str(exc), line=line)


def load_csv(path: Path, *, name: str | None = None) -> LoadResult:
    """Indicators of a CSV list (see the module docstring); issues name the line."""
    result = LoadResult(str(path), name or path.name)
    lines = _Lines(_read_bytes(path).decode("utf-8-sig", "surrogateescape"))
    reader = csv.DictReader(lines)
    header = [(title or "").strip().lower() for title in reader.fieldnames or []]
    column = next((title for title in ("indicator", "value") if title in header), None)
    if column is None:
        line = lines.number(reader.line_num)
        result.issue(f"line {line}", "the header has no 'indicator' or 'value' column", line=line)
        return result
    reader.fieldnames = header
    for row in reader:
        _csv_row(result, lines.number(reader.line_num), row, column)
    return result


# Choosing a loader


def load_feed(
    path: Path, *, name: str | None = None, now: datetime | None = None, include_non_ids: bool = False
) -> LoadResult:
    """Indicators of a feed of any supported kind: a MISP feed folder, a CSV file, or STIX/MISP JSON."""
    if path.is_dir():
        return load_misp(path, name=name, include_non_ids=include_non_ids)
    if path.suffix.lower() == ".csv":
        return load_csv(path, name=name)
    result = LoadResult(str(path), name or path.name)
    data = _read_json(path, result)
    if isinstance(data, dict) and data.get("type") == "bundle":
        _stix_bundle(result, data, now or datetime.now(UTC))
    elif isinstance(data, dict | list):
        _misp_document(result, data, include_non_ids)
    elif data is not None:
        result.issue("file", "neither a STIX bundle nor a MISP event")
    return result


def load_feeds(
    paths: Iterable[Path], *, now: datetime | None = None, include_non_ids: bool = False
) -> tuple[IntelIndex, list[LoadResult]]:
    """An index of the indicators of every feed, and what each load gave."""
    results = [load_feed(path, now=now, include_non_ids=include_non_ids) for path in paths]
    return IntelIndex.from_results(results), results


# The index


class IntelIndex:
    """Indicators by type for exact lookups, and CIDR ranges grouped by prefix length."""

    def __init__(self, indicators: Iterable[Indicator] = ()) -> None:
        self._exact: dict[str, dict[str, list[Indicator]]] = {
            kind: {} for kind in ("ip", "domain", "url", "hash")
        }
        self._ranges: dict[int, dict[int, dict[int, list[Indicator]]]] = {4: {}, 6: {}}
        self._lengths: dict[int, tuple[int, ...]] = {4: (), 6: ()}
        self._seen: set[tuple[str, str, str]] = set()
        self.extend(indicators)

    @classmethod
    def from_results(cls, results: Iterable[LoadResult]) -> IntelIndex:
        """An index of the indicators of these loads."""
        return cls(indicator for result in results for indicator in result.indicators)

    def __len__(self) -> int:
        return len(self._seen)

    def extend(self, indicators: Iterable[Indicator]) -> int:
        """Add indicators; the number new to the index (one value of one source counts once)."""
        return sum(self.add(indicator) for indicator in indicators)

    def add(self, indicator: Indicator) -> bool:
        """Add one indicator; False when the index has it already."""
        key = (indicator.type, indicator.value, indicator.source)
        if key in self._seen:
            return False
        self._seen.add(key)
        if indicator.type == "cidr":
            self._add_range(indicator)
        elif indicator.type == "url":
            for text in {indicator.value, normalize_url(indicator.value)}:
                self._exact["url"].setdefault(text, []).append(indicator)
        else:
            group = "hash" if indicator.type in _HASH_TYPES.values() else indicator.type
            self._exact[group].setdefault(indicator.value, []).append(indicator)
        return True

    def _add_range(self, indicator: Indicator) -> None:
        network = ipaddress.ip_network(indicator.value)
        shift = network.max_prefixlen - network.prefixlen
        by_length = self._ranges[network.version].setdefault(network.prefixlen, {})
        by_length.setdefault(int(network.network_address) >> shift, []).append(indicator)
        self._lengths[network.version] = tuple(sorted(self._ranges[network.version], reverse=True))

    def match_ip(self, text: str) -> list[Indicator]:
        """Indicators for an address: listed exactly, or inside a listed range."""
        canonical = canonical_ip(text.strip())
        if canonical is None:
            return []
        found = list(self._exact["ip"].get(canonical, ()))
        address = ipaddress.ip_address(canonical)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
            found += self._exact["ip"].get(str(address), ())
        bits = address.max_prefixlen
        for length in self._lengths[address.version]:
            found += self._ranges[address.version][length].get(int(address) >> (bits - length), ())
        return found

    def match_domain(self, text: str) -> list[Indicator]:
        """Indicators for a domain name: the name itself, or any parent domain listed."""
        name = text.strip().rstrip(".").lower()
        labels = name.split(".")
        found: list[Indicator] = []
        for start in range(len(labels) - 1):
            found += self._exact["domain"].get(".".join(labels[start:]), ())
        return found

    def match_url(self, text: str) -> list[Indicator]:
        """Indicators for a URL, as given or with scheme and host in lower case."""
        found = list(self._exact["url"].get(text.strip(), ()))
        try:
            normalized = normalize_url(text)
        except IntelError:
            return found
        return found + [item for item in self._exact["url"].get(normalized, ()) if item not in found]

    def match_hash(self, text: str) -> list[Indicator]:
        """Indicators for an MD5, SHA-1 or SHA-256 digest (any case)."""
        return list(self._exact["hash"].get(text.strip().lower(), ()))


# Finding observables in an alert


_IP_FIELDS: Final = frozenset({"dns.resolved_ip"})
_DOMAIN_FIELDS: Final = frozenset({"dns.question.name"})
_URL_FIELDS: Final = frozenset({"url.full", "url.original", "http.request.referrer"})
_TEXT_FIELDS: Final = frozenset(
    {"process.command_line", "process.parent.command_line", "powershell.file.script_block_text"}
)
_HASH_FIELD: Final = re.compile(r"(?:.+\.)?hash\.(?:md5|sha1|sha256)")

_TEXT_IPV4: Final = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\w|\.\d)"
)
_TEXT_IPV6: Final = re.compile(r"(?<![\w:.])(?=[0-9a-f]*:[0-9a-f]*:)[0-9a-f:]{2,39}(?![\w:]|\.\d)", re.I)
_TEXT_URL: Final = re.compile(r"\b(?:https?|ftps?)://[^\s'\"<>`|;{}\\^]+", re.I)
_TEXT_DOMAIN: Final = re.compile(
    r"(?<![\w.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,24}|xn--[a-z0-9-]{1,59})"
    r"(?![\w-]|\.[\w-])",
    re.I,
)
_TEXT_HASH: Final = re.compile(r"(?<![0-9a-z])(?:[0-9a-f]{64}|[0-9a-f]{40}|[0-9a-f]{32})(?![0-9a-z])", re.I)
_URL_TRAILER: Final = ".,;:!?)]}'\""
_FILE_ENDINGS: Final = """
    sh bash zsh py pyc pl rb php js jsp asp aspx ps psm psd exe dll sys bat cmd vbs vbe hta lnk scr msi
    jar war class so ko elf bin out run tmp temp bak old log txt md csv tsv json xml yml yaml toml ini cfg
    conf config local lock pid sock service socket timer mount target rules list sources gz tgz bz bz2 xz
    zst zip rar tar cab iso img dmg deb rpm apk pkg whl egg pem crt cer der key pub db sqlite sql dat data
    html htm css png jpg jpeg gif svg ico pdf doc docx xls xlsx ppt pptx rtf
    c h cc cpp hpp go rs java kt swift lua tcl awk sed env history profile bashrc"""
_NOT_TLDS: Final = frozenset(_FILE_ENDINGS.split())
"""Endings of file names found in command lines, not taken for a top-level domain in bare text (a URL's
host is always checked, whatever its TLD)."""


@lru_cache(maxsize=4096)
def field_role(key: str) -> Observable | Literal["address", "text"] | None:
    """How a value under ``key`` is looked up (None: not at all). Cached: alerts share their keys."""
    if key.startswith(f"{PREFIX}."):
        return None
    if key in _TEXT_FIELDS or key.startswith("shellwatch.decoded."):
        return "text"
    if key in _URL_FIELDS:
        return "url"
    if key.endswith(".ip") or key in _IP_FIELDS:
        return "ip"
    if key.endswith(".address"):
        return "address"
    if key in _DOMAIN_FIELDS or (key.endswith(".domain") and "user" not in key.split(".")[:-1]):
        return "domain"
    if key == "related.hash" or _HASH_FIELD.fullmatch(key):
        return "hash"
    return None


def _plausible_domain(name: str) -> bool:
    return name.rsplit(".", 1)[-1].lower() not in _NOT_TLDS


def extract_observables(text: str) -> Iterator[tuple[Observable, str]]:
    """Addresses, URLs, domains and hex digests written in a command line or script."""
    for match in _TEXT_URL.finditer(text):
        url = match.group().rstrip(_URL_TRAILER)
        yield "url", url
        yield from _url_host(url)
    for match in _TEXT_IPV4.finditer(text):
        yield "ip", match.group()
    for match in _TEXT_IPV6.finditer(text):
        if canonical_ip(match.group()) is not None:
            yield "ip", match.group()
    for match in _TEXT_DOMAIN.finditer(text):
        if _plausible_domain(match.group()):
            yield "domain", match.group()
    for match in _TEXT_HASH.finditer(text):
        yield "hash", match.group()


def _url_host(url: str) -> Iterator[tuple[Observable, str]]:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return
    if host:
        yield ("ip" if canonical_ip(host) else "domain"), host


def _observables(role: str, text: str) -> Iterator[tuple[Observable, str]]:
    if role == "text":
        yield from extract_observables(text)
    elif role == "address":
        yield ("ip" if canonical_ip(text.strip()) else "domain"), text
    elif role == "url":
        yield "url", text
        yield from _url_host(text)
    elif role == "ip":
        yield "ip", text
    elif role == "domain":
        yield "domain", text
    elif role == "hash":
        yield "hash", text


def alert_observables(alert: Alert) -> Iterator[tuple[str, Observable, str]]:
    """``(field, kind, value)`` for every value of the alert worth a lookup; ``related.*`` comes last."""
    keys = sorted(alert, key=lambda key: key.startswith("related."))
    for key in keys:
        role = field_role(key)
        if role is None:
            continue
        value = alert[key]
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item:
                for kind, text in _observables(role, item):
                    yield key, kind, text


# The enricher


@dataclass(frozen=True, slots=True)
class IntelMatch:
    """An indicator found in an alert: where (``field``) and as what (``value``)."""

    indicator: Indicator
    field: str
    value: str
    fields: tuple[str, ...] = ()
    """Every field the value was found in (``field`` first)."""


def find_matches(index: IntelIndex, alert: Alert) -> list[IntelMatch]:
    """Every indicator of ``index`` the alert contains, each (indicator, source, value) once."""
    lookups = {
        "ip": index.match_ip,
        "domain": index.match_domain,
        "url": index.match_url,
        "hash": index.match_hash,
    }
    matches: dict[tuple[str, str, str, str], IntelMatch] = {}
    for key, kind, text in alert_observables(alert):
        for indicator in lookups[kind](text):
            identity = (indicator.type, indicator.value, indicator.source, text.strip().lower())
            found = matches.get(identity)
            if found is None:
                matches[identity] = IntelMatch(indicator, key, text.strip(), (key,))
            elif key not in found.fields:
                matches[identity] = replace(found, fields=(*found.fields, key))
    return list(matches.values())


def match_keys(matches: Sequence[IntelMatch]) -> dict[str, Value]:
    """The ``shellwatch.intel.*`` keys for these matches (parallel lists)."""
    return {
        f"{PREFIX}.indicator": [m.indicator.value for m in matches],
        f"{PREFIX}.type": [str(m.indicator.type) for m in matches],
        f"{PREFIX}.value": [m.value for m in matches],
        f"{PREFIX}.field": [m.field for m in matches],
        f"{PREFIX}.source": [m.indicator.source for m in matches],
        f"{PREFIX}.description": [m.indicator.description for m in matches],
        f"{PREFIX}.fields": list(dict.fromkeys(key for m in matches for key in m.fields or (m.field,))),
        f"{PREFIX}.matched": True,
    }


class IntelEnricher:
    """Matches every alert against an :class:`IntelIndex` (see the module docstring)."""

    name = "intel"

    def __init__(self, index: IntelIndex, *, score_delta: int = SCORE_DELTA) -> None:
        self.index = index
        self.score_delta = score_delta

    def enrich(self, alert: Alert) -> None:
        """Add ``shellwatch.intel.*`` keys when the alert holds a known indicator; raise its score once."""
        matches = find_matches(self.index, alert)
        if not matches:
            return
        alert.update(match_keys(matches))
        if not adjusted_by(alert, self.name):
            adjust_score(alert, self.score_delta, self.name)


class EventIntel:
    """Marks events that hold a known indicator, before detection, so that Sigma rules can use it.

    A rule can then say ``shellwatch.intel.matched: true`` (or name a feed in ``shellwatch.intel.source``,
    a kind in ``shellwatch.intel.type``) next to what it matches on the event itself. The keys are those of
    :class:`IntelEnricher`, which looks again on the alert, with its context, and raises the score.
    """

    def __init__(self, index: IntelIndex) -> None:
        self.index = index

    def __call__(self, event: Event) -> None:
        matches = find_matches(self.index, event)
        if matches:
            event.update(match_keys(matches))
