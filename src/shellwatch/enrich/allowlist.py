"""Known-good validation: does an alert match an entry of the team's allowlist?

Playbook step "Known Good Validation": an admin tool the team knows about (the backup job's shell, the
deployment agent's PowerShell) still raises alerts, but the analyst should see at once that it is known, who
vouched for it and until when. So a match never hides an alert: it lowers its score and says why. Entries
expire, because an allowlist that only grows becomes a blind spot; an expired entry that would still match is
shown on the alert so that its owner renews or removes it, and :func:`expiring` lists the entries whose date
is near (for an ``allowlist check`` command).

The file
--------
A YAML list (read with PyYAML's safe loader), one mapping per entry::

    - id: nightly-backup              # optional; shown on the alert (else the entry's position, "#1")
      reason: backup job runs tar through sh
      owner: ops@example.org          # required: who answers for the entry
      expires: 2026-06-30             # required ISO date; the entry applies through that day
      rules: [service-shell-cron]     # optional: rule ids or names it applies to (default: every rule)
      hosts: ["backup*", "db0?"]      # optional: globs on host.name, case-insensitive
      parent_executable: /usr/sbin/cron
      command_line: "sh -c /opt/backup/run.sh*"

Every entry needs ``reason``, ``owner``, ``expires`` and one or more conditions. An entry matches an alert
when the alert is in its scope (``rules``, ``hosts``) and *all* of its conditions hold. A condition that
takes patterns accepts one pattern or a list, and holds when any of them matches:

``executable``
    globs on ``process.executable``. A pattern without a ``/`` or ``\\`` matches the file name only
    (``sh``, ``*.ps1``); one with a separator matches the whole path.
``parent_executable``
    the same, on ``process.parent.executable``.
``parent_child``
    ``{parent: glob, child: glob}``: both must match (parent on ``process.parent.executable``, child on
    ``process.executable``), with the same file-name rule.
``command_line``
    globs on ``process.command_line`` (always case-sensitive: arguments such as base64 are).
``command_regex``
    a Python regular expression, compiled once at load, that must match the *whole* command line (like a
    glob; write ``.*`` where anything may follow). Both ``command_line`` and ``command_regex`` may be given.
``user``
    globs on ``user.name``; a pattern with a ``\\`` (``CORP\\svc_*``) matches ``user.domain\\user.name``.
``hash``
    SHA-256, SHA-1 or MD5 digests (told apart by length) of ``process.hash.*``.

Globs are :mod:`fnmatch` patterns (``*``, ``?``, ``[abc]``); ``*`` also crosses path separators. Paths and
user names are compared case-insensitively on Windows (``host.os.type: windows``, or a path that starts with
a drive letter or ``\\\\``), case-sensitively elsewhere.

Errors
------
A file that cannot be read, is not YAML or is not a list raises :class:`~shellwatch.errors.ConfigError`. A
bad entry (unknown or duplicate key, missing field, bad date, regex or digest, no condition) is skipped and
reported as an :class:`AllowlistIssue` naming the file, the line and the entry
(``allowlist.yml:12: entry 3: unknown key 'exe'``); the other entries load.

Alert keys
----------
On a match: ``shellwatch.allowlist.matched`` (True), ``.expired`` (False), ``.reason``, ``.owner``,
``.expires`` (ISO date), ``.entry`` (the id, or ``#<position>``) and ``.location`` (``file:line`` of the
entry), and the score drops by 40. When only an expired entry matches: the same keys with ``matched``
False and ``expired`` True, and the score is left alone. Nothing is written when no entry matches.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

import yaml

from shellwatch.enrich.base import adjust_score
from shellwatch.errors import ConfigError
from shellwatch.events import Alert, basename

SCORE_DELTA: Final = -40
"""How much a live allowlist match lowers the alert's score."""

_WINDOWS_PATH: Final = re.compile(r"[A-Za-z]:[\\/]|\\\\")
_HEX: Final = re.compile(r"[0-9a-fA-F]+")
_HASH_KEYS: Final = ("process.hash.sha256", "process.hash.sha1", "process.hash.md5")
_HASH_LENGTHS: Final = frozenset({64, 40, 32})
"""Hex digest lengths of SHA-256, SHA-1 and MD5."""

_T = TypeVar("_T")


class _Invalid(ValueError):
    """A value of an entry that cannot be used; the message says why."""


# --------------------------------------------------------------------------------------------- matching


@dataclass(frozen=True, slots=True)
class _Globs:
    """Glob patterns compiled once into one regex, case-sensitive and case-insensitive."""

    patterns: tuple[str, ...]
    exact: re.Pattern[str]
    folded: re.Pattern[str]

    @classmethod
    def compile(cls, patterns: tuple[str, ...]) -> _Globs:
        source = "|".join(fnmatch.translate(item) for item in patterns)
        return cls(patterns, re.compile(source), re.compile(source, re.IGNORECASE))

    @classmethod
    def of(cls, patterns: Iterable[str]) -> _Globs | None:
        """The compiled patterns, or None when there are none."""
        items = tuple(patterns)
        return cls.compile(items) if items else None

    def match(self, value: str, fold: bool) -> bool:
        return (self.folded if fold else self.exact).match(value) is not None


def _text(alert: Alert, key: str) -> str | None:
    value = alert.get(key)
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _windows_host(alert: Alert) -> bool:
    return str(alert.get("host.os.type", "")).lower() == "windows"


def _fold_path(alert: Alert, path: str) -> bool:
    """Whether ``path`` compares case-insensitively: a Windows host or a Windows-looking path."""
    return _windows_host(alert) or _WINDOWS_PATH.match(path) is not None


class _Condition(Protocol):
    def holds(self, alert: Alert) -> bool: ...


@dataclass(frozen=True, slots=True)
class _PathCondition:
    """Globs on an executable path: ``paths`` on the whole path, ``names`` on its file name."""

    key: str
    paths: _Globs | None
    names: _Globs | None

    @classmethod
    def of(cls, key: str, patterns: tuple[str, ...]) -> _PathCondition:
        with_dir = [item for item in patterns if "/" in item or "\\" in item]
        bare = [item for item in patterns if item not in with_dir]
        return cls(key, _Globs.of(with_dir), _Globs.of(bare))

    def holds(self, alert: Alert) -> bool:
        path = _text(alert, self.key)
        if not path:
            return False
        fold = _fold_path(alert, path)
        if self.paths is not None and self.paths.match(path, fold):
            return True
        return self.names is not None and self.names.match(basename(path), fold)


@dataclass(frozen=True, slots=True)
class _ParentChild:
    parent: _PathCondition
    child: _PathCondition

    def holds(self, alert: Alert) -> bool:
        return self.parent.holds(alert) and self.child.holds(alert)


@dataclass(frozen=True, slots=True)
class _CommandGlob:
    globs: _Globs

    def holds(self, alert: Alert) -> bool:
        command = _text(alert, "process.command_line")
        return command is not None and self.globs.match(command, fold=False)


@dataclass(frozen=True, slots=True)
class _CommandRegex:
    pattern: re.Pattern[str]

    def holds(self, alert: Alert) -> bool:
        command = _text(alert, "process.command_line")
        return command is not None and self.pattern.fullmatch(command) is not None


@dataclass(frozen=True, slots=True)
class _UserCondition:
    """Globs on ``user.name`` (``plain``) or on ``user.domain\\user.name`` (``qualified``)."""

    plain: _Globs | None
    qualified: _Globs | None

    @classmethod
    def of(cls, patterns: tuple[str, ...]) -> _UserCondition:
        qualified = [item for item in patterns if "\\" in item]
        plain = [item for item in patterns if item not in qualified]
        return cls(_Globs.of(plain), _Globs.of(qualified))

    def holds(self, alert: Alert) -> bool:
        name = _text(alert, "user.name")
        if not name:
            return False
        domain = _text(alert, "user.domain")
        fold = _windows_host(alert) or domain is not None
        if self.plain is not None and self.plain.match(name, fold):
            return True
        return (
            self.qualified is not None
            and domain is not None
            and self.qualified.match(f"{domain}\\{name}", fold)
        )


@dataclass(frozen=True, slots=True)
class _HashCondition:
    digests: frozenset[str]

    def holds(self, alert: Alert) -> bool:
        for key in _HASH_KEYS:
            value = alert.get(key)
            if isinstance(value, str) and value.lower() in self.digests:
                return True
        return False


# ---------------------------------------------------------------------------------------------- entries


@dataclass(frozen=True, slots=True)
class AllowlistIssue:
    """A problem in the allowlist file: the entry it concerns (1-based) was skipped."""

    path: str
    line: int | None
    entry: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: entry {self.entry}: {self.message}" if self.entry else f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class AllowlistEntry:
    """One known-good behaviour; ``index`` is its 1-based position in the file, ``line`` where it starts."""

    index: int
    path: str
    line: int
    reason: str
    owner: str
    expires: date
    conditions: tuple[_Condition, ...]
    id: str | None = None
    rules: frozenset[str] = frozenset()
    hosts: _Globs | None = None

    @property
    def label(self) -> str:
        """The entry's id, or ``#<position>`` when it has none."""
        return self.id or f"#{self.index}"

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"

    def is_expired(self, today: date) -> bool:
        """True after the ``expires`` day (the entry still applies on that day)."""
        return today > self.expires

    def applies_to(self, alert: Alert) -> bool:
        """Whether the alert is in the entry's scope and every condition holds (expiry aside)."""
        return self._in_scope(alert) and all(condition.holds(alert) for condition in self.conditions)

    def _in_scope(self, alert: Alert) -> bool:
        if self.rules and not any(_text(alert, key) in self.rules for key in ("rule.id", "rule.name")):
            return False
        if self.hosts is None:
            return True
        host = _text(alert, "host.name")
        return host is not None and self.hosts.match(host, fold=True)


@dataclass(frozen=True, slots=True)
class Allowlist:
    """The entries loaded from one file, and the problems of those that were skipped."""

    path: str
    entries: tuple[AllowlistEntry, ...] = ()
    issues: tuple[AllowlistIssue, ...] = ()

    def lookup(self, alert: Alert, today: date) -> AllowlistEntry | None:
        """The first live entry matching ``alert``; else the first expired one that would; else None."""
        expired: AllowlistEntry | None = None
        for entry in self.entries:
            if not entry.is_expired(today):
                if entry.applies_to(alert):
                    return entry
            elif expired is None and entry.applies_to(alert):
                expired = entry
        return expired


def expiring(
    entries: Iterable[AllowlistEntry], within_days: int, today: date, *, include_expired: bool = True
) -> list[AllowlistEntry]:
    """Entries whose ``expires`` date is at most ``within_days`` days after ``today``, soonest first.

    Already expired entries are included unless ``include_expired`` is False (tell them apart with
    :meth:`AllowlistEntry.is_expired`).
    """
    limit = today + timedelta(days=within_days)
    found = [
        entry
        for entry in entries
        if entry.expires <= limit and (include_expired or not entry.is_expired(today))
    ]
    return sorted(found, key=lambda entry: (entry.expires, entry.index))


# ---------------------------------------------------------------------------------------------- loading


def load_allowlist(path: Path) -> Allowlist:
    """Read an allowlist file (format in the module docstring); ConfigError when the file is unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the allowlist: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: the allowlist is not UTF-8 text: {exc.reason}") from None
    return parse_allowlist(text, str(path))


def parse_allowlist(text: str, path: str = "<allowlist>") -> Allowlist:
    """An allowlist from YAML text; ``path`` names it in messages."""
    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if root is None:
            return Allowlist(path)
        if not isinstance(root, yaml.SequenceNode):
            raise ConfigError(f"{path}:{_line(root)}: the allowlist must be a YAML list of entries")
        return _read_entries(loader, root, path)
    finally:
        loader.dispose()


def _read_entries(loader: yaml.SafeLoader, root: yaml.SequenceNode, path: str) -> Allowlist:
    entries: list[AllowlistEntry] = []
    issues: list[AllowlistIssue] = []
    for index, node in enumerate(root.value, start=1):
        entry, problems = _EntryReader(loader, path, index, node).read()
        issues.extend(problems)
        if entry is not None:
            entries.append(entry)
    return Allowlist(path, tuple(entries), tuple(issues))


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class _EntryReader:
    """Checks and compiles one entry node, collecting every problem with its line."""

    def __init__(self, loader: yaml.SafeLoader, path: str, index: int, node: yaml.Node) -> None:
        self.loader = loader
        self.path = path
        self.index = index
        self.node = node
        self.seen: set[str] = set()
        self.values: dict[str, tuple[Any, int]] = {}
        self.unknown = False
        self.problems: list[AllowlistIssue] = []

    def read(self) -> tuple[AllowlistEntry | None, list[AllowlistIssue]]:
        if not isinstance(self.node, yaml.MappingNode):
            self._problem(_line(self.node), "an entry must be a mapping of keys")
            return None, self.problems
        self._collect(self.node)
        entry = self._build()
        self.problems.sort(key=lambda issue: issue.line or 0)
        return (entry if not self.problems else None), self.problems

    def _problem(self, line: int, message: str) -> None:
        self.problems.append(AllowlistIssue(self.path, line, self.index, message))

    def _collect(self, node: yaml.MappingNode) -> None:
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key not in _KEYS:
                self.unknown = True
                self._problem(_line(key_node), f"unknown key {key!r}")
            elif key in self.seen:
                self._problem(_line(key_node), f"duplicate key {key!r}")
            else:
                self.seen.add(key)
                self._construct(key, value_node)

    def _construct(self, key: str, node: yaml.Node) -> None:
        try:
            value = self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as exc:
            self._problem(_line(node), f"{key}: unreadable value: {exc}")
            return
        self.values[key] = (value, _line(node))

    def _take(self, key: str, convert: Callable[[Any], _T], required: bool = False) -> _T | None:
        if key not in self.values:
            if required and key not in self.seen:
                self._problem(_line(self.node), f"missing required key {key!r}")
            return None
        value, line = self.values[key]
        try:
            return convert(value)
        except _Invalid as exc:
            self._problem(line, f"{key}: {exc}")
            return None

    def _build(self) -> AllowlistEntry | None:
        reason = self._take("reason", _required_text, required=True)
        owner = self._take("owner", _required_text, required=True)
        expires = self._take("expires", _date, required=True)
        entry_id = self._take("id", _required_text)
        rules = self._take("rules", _patterns)
        hosts = self._take("hosts", _patterns)
        conditions = [
            condition
            for key, build in _CONDITIONS.items()
            if (condition := self._take(key, build)) is not None
        ]
        if not self.unknown and not any(key in self.seen for key in _CONDITIONS):
            self._problem(_line(self.node), f"needs at least one condition ({', '.join(_CONDITIONS)})")
        if self.problems or reason is None or owner is None or expires is None:
            return None
        return AllowlistEntry(
            index=self.index,
            path=self.path,
            line=_line(self.node),
            reason=reason,
            owner=owner,
            expires=expires,
            conditions=tuple(conditions),
            id=entry_id,
            rules=frozenset(rules or ()),
            hosts=_Globs.of(hosts or ()),
        )


# -------------------------------------------------------------------------------------- value checkers


def _required_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Invalid("must be text")
    text = str(value).strip()
    if not text:
        raise _Invalid("must not be empty")
    return text


def _patterns(value: Any) -> tuple[str, ...]:
    """One non-empty text or a non-empty list of them."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _Invalid("must not be an empty list")
    if not all(isinstance(item, str) and item for item in items):
        raise _Invalid("must be a text or a list of texts (quote numbers)")
    return tuple(items)


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Invalid(f"{value!r} is not an ISO date (YYYY-MM-DD)")


def _executable(value: Any) -> _Condition:
    return _PathCondition.of("process.executable", _patterns(value))


def _parent_executable(value: Any) -> _Condition:
    return _PathCondition.of("process.parent.executable", _patterns(value))


def _parent_child(value: Any) -> _Condition:
    if not isinstance(value, dict) or set(value) != {"parent", "child"}:
        raise _Invalid("must be a mapping with exactly the keys 'parent' and 'child'")
    parent = _PathCondition.of("process.parent.executable", _patterns(value["parent"]))
    return _ParentChild(parent, _PathCondition.of("process.executable", _patterns(value["child"])))


def _command_line(value: Any) -> _Condition:
    return _CommandGlob(_Globs.compile(_patterns(value)))


def _command_regex(value: Any) -> _Condition:
    if not isinstance(value, str) or not value:
        raise _Invalid("must be a regular expression (text)")
    try:
        return _CommandRegex(re.compile(value))
    except re.error as exc:
        raise _Invalid(f"invalid regular expression: {exc}") from None


def _user(value: Any) -> _Condition:
    return _UserCondition.of(_patterns(value))


def _hash(value: Any) -> _Condition:
    digests = _patterns(value)
    for digest in digests:
        if _HEX.fullmatch(digest) is None or len(digest) not in _HASH_LENGTHS:
            raise _Invalid(f"{digest!r} is not a SHA-256, SHA-1 or MD5 hex digest")
    return _HashCondition(frozenset(digest.lower() for digest in digests))


_CONDITIONS: Final[dict[str, Callable[[Any], _Condition]]] = {
    "executable": _executable,
    "parent_executable": _parent_executable,
    "parent_child": _parent_child,
    "command_line": _command_line,
    "command_regex": _command_regex,
    "user": _user,
    "hash": _hash,
}
_KEYS: Final = frozenset({"id", "reason", "owner", "expires", "rules", "hosts", *_CONDITIONS})


# --------------------------------------------------------------------------------------------- enricher


class AllowlistEnricher:
    """Marks alerts that match a known-good entry and lowers their score (see the module docstring).

    ``today`` is the clock (``date.today`` unless a test gives another); it is read per alert so that a
    long-running scan sees entries expire.
    """

    name = "allowlist"

    def __init__(
        self, allowlist: Allowlist, today: Callable[[], date] = date.today, score_delta: int = SCORE_DELTA
    ) -> None:
        self.allowlist = allowlist
        self.today = today
        self.score_delta = score_delta

    def enrich(self, alert: Alert) -> None:
        today = self.today()
        entry = self.allowlist.lookup(alert, today)
        if entry is None:
            return
        expired = entry.is_expired(today)
        alert["shellwatch.allowlist.matched"] = not expired
        alert["shellwatch.allowlist.expired"] = expired
        alert["shellwatch.allowlist.reason"] = entry.reason
        alert["shellwatch.allowlist.owner"] = entry.owner
        alert["shellwatch.allowlist.expires"] = entry.expires.isoformat()
        alert["shellwatch.allowlist.entry"] = entry.label
        alert["shellwatch.allowlist.location"] = entry.location
        if not expired:
            adjust_score(alert, self.score_delta, self.name)
