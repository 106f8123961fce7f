"""Hash reputation: what a local hash database, then VirusTotal, say about the files an alert names.

Every MD5, SHA-1 and SHA-256 on the alert (``process.hash.*``, ``process.parent.hash.*``, ``file.hash.*``,
``dll.hash.*``, any ``*.hash.*``) is looked up in this order:

1. the **local hash database**, a SQLite file filled from MalwareBazaar exports and from the team's own
   lists (:meth:`HashDatabase.import_csv`); a hit there needs no network at all;
2. the **VirusTotal cache** in the same file: answers (including "not on VirusTotal") younger than the TTL;
3. **VirusTotal** itself (v3 API through the official ``vt-py`` client), within the free-tier budget.

The hashes under one owner (``process.hash.md5`` and ``process.hash.sha256``) describe one file, so an
answer for one of them answers for all, and VirusTotal is asked once per file, with the strongest hash.

VirusTotal's free tier allows 4 lookups a minute and 500 a day. Every lookup made is recorded in the
database, so forked workers and later runs sharing the file share the budget; when it is spent, lookups
are skipped and the alert says ``deferred``. A 429 (quota exceeded) or an unreachable service pauses the
lookups for a minute, a refused API key for the rest of the run; the enricher never raises for them and
says why in ``shellwatch.reputation.vt_status``:

- ``ok``: VirusTotal answered now (for at least one file of the alert);
- ``cached``: every VirusTotal answer came from the cache;
- ``deferred``: the free-tier budget was spent, nothing was asked;
- ``rate-limited``: VirusTotal answered 429 (QuotaExceededError), now or less than a minute ago;
- ``unavailable``: the service could not be reached, timed out or failed (5xx, unreadable answer);
- ``unauthorized``: the API key was refused (401/403); VirusTotal is not asked again in this run.

When the files of one alert got different statuses, the alert shows the first of: unauthorized,
rate-limited, unavailable, deferred, ok, cached (a problem before a success).

Keys written: parallel lists, one item per hash, under ``shellwatch.reputation.hash.*``: ``value`` (the
hash), ``field`` (the alert key it came from), ``verdict`` (``malicious``/``suspicious``/``harmless``/
``unknown``), ``source`` (``local:<source>``, ``virustotal``, or ``""`` when nothing answered), ``name``
(malware family or file name), ``ratio`` (VirusTotal detections like ``12/70``), ``link`` (VirusTotal
permalink); and two scalars: ``shellwatch.reputation.verdict`` (the worst verdict of the alert, where an
unknown file counts as worse than a harmless one) and ``shellwatch.reputation.vt_status`` (when VirusTotal
was consulted). A malicious verdict raises the score by 20; an alert whose files are all harmless, one of
them by a trusted local source, has its score lowered by 10.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import math
import os
import re
import sqlite3
import time
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, Literal, Protocol

from shellwatch.enrich.base import adjust_score
from shellwatch.errors import InputError, ShellwatchError, StoreError
from shellwatch.events import Alert, timestamp_from_epoch
from shellwatch.paths import cache_dir

log = logging.getLogger(__name__)

Verdict = Literal["malicious", "suspicious", "harmless", "unknown"]
VTStatus = Literal["ok", "cached", "deferred", "rate-limited", "unavailable", "unauthorized"]
CsvFormat = Literal["auto", "malwarebazaar", "generic"]

PREFIX: Final = "shellwatch.reputation"
MALICIOUS_DELTA: Final = 20
TRUSTED_HARMLESS_DELTA: Final = -10
MAX_HASHES: Final = 64
"""Hashes looked up per alert at most (an alert listing many children must not eat the VT budget)."""
DEFAULT_DB_NAME: Final = "reputation.db"
VT_GUI: Final = "https://www.virustotal.com/gui/file/"
MALWAREBAZAAR_COLUMNS: Final = (
    "first_seen_utc",
    "sha256_hash",
    "md5_hash",
    "sha1_hash",
    "reporter",
    "file_name",
    "file_type_guess",
    "mime_type",
    "signature",
    "clamav",
    "vtpercent",
    "imphash",
    "ssdeep",
    "tlsh",
)
"""The columns of a MalwareBazaar CSV export, for files whose commented header line was cut off."""
MAX_ISSUES: Final = 1000
"""Bad rows reported one by one per import; further ones are only counted."""

_SEVERITY: Final[Mapping[str, int]] = {"harmless": 0, "unknown": 1, "suspicious": 2, "malicious": 3}
_STATUS_ORDER: Final[tuple[VTStatus, ...]] = (
    "unauthorized",
    "rate-limited",
    "unavailable",
    "deferred",
    "ok",
    "cached",
)
_HASH_KINDS: Final = {32: "md5", 40: "sha1", 64: "sha256"}
_HEX: Final = re.compile(r"[0-9a-f]+")
_HASH_KEY: Final = re.compile(r"(?:(?P<owner>.+)\.)?hash\.(?P<kind>md5|sha1|sha256)")
_OWNER_ORDER: Final = ("process", "file", "dll", "process.parent")
_IMPORT_VERDICTS: Final[Mapping[str, Verdict]] = {
    "malicious": "malicious",
    "suspicious": "suspicious",
    "harmless": "harmless",
}
_GENERIC_HASH_COLUMNS: Final = {"hash": None, "sha256": "sha256", "sha1": "sha1", "md5": "md5"}
_RATE_LIMIT_CODES: Final = frozenset({"QuotaExceededError", "TooManyRequestsError"})
_AUTH_CODES: Final = frozenset(
    {"WrongCredentialsError", "AuthenticationRequiredError", "ForbiddenError", "UserNotActiveError"}
)
_MINUTE: Final = 60.0
_DAY: Final = 86400.0

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS hashes (
    hash TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('md5', 'sha1', 'sha256')),
    verdict TEXT NOT NULL CHECK (verdict IN ('malicious', 'suspicious', 'harmless', 'unknown')),
    source TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    first_seen TEXT NOT NULL DEFAULT '',
    imported_at TEXT NOT NULL,
    PRIMARY KEY (hash, source)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS vt_cache (
    hash TEXT PRIMARY KEY,
    verdict TEXT NOT NULL,
    name TEXT NOT NULL,
    ratio TEXT NOT NULL,
    link TEXT NOT NULL,
    fetched_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS vt_requests (at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS vt_requests_at ON vt_requests (at);
"""


class LookupFailed(ShellwatchError):
    """A reputation service gave no answer; ``status`` says why (the ``vt_status`` the alert gets)."""

    def __init__(self, status: VTStatus, message: str) -> None:
        super().__init__(message)
        self.status: VTStatus = status


# Hashes and verdicts


def normalize_hash(text: str, kind: str | None = None) -> str | None:
    """``text`` as lower-case hex when it is an MD5, SHA-1 or SHA-256 digest (of ``kind`` when given)."""
    digest = text.strip().lower()
    found = _HASH_KINDS.get(len(digest))
    if found is None or _HEX.fullmatch(digest) is None or kind not in (None, found):
        return None
    return digest


def worst_verdict(verdicts: Iterable[Verdict]) -> Verdict:
    """The most alarming verdict; an unknown file counts as worse than a harmless one."""
    return max(verdicts, key=_SEVERITY.__getitem__, default="unknown")


def _count(stats: Mapping[str, object], name: str) -> int:
    value = stats.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def verdict_from_stats(stats: Mapping[str, object]) -> Verdict:
    """VirusTotal's ``last_analysis_stats`` as a verdict.

    Malicious from 3 engines on (one or two detections are often false positives of small engines),
    suspicious from 1 malicious or 3 suspicious, harmless when engines looked and none found it malicious.
    """
    malicious, suspicious = _count(stats, "malicious"), _count(stats, "suspicious")
    if malicious >= 3:
        return "malicious"
    if malicious >= 1 or suspicious >= 3:
        return "suspicious"
    if _count(stats, "harmless") + _count(stats, "undetected") > 0:
        return "harmless"
    return "unknown"


def ratio_from_stats(stats: Mapping[str, object]) -> str:
    """Detections over the engines that gave a result (``12/70``), as VirusTotal's page shows them."""
    engines = sum(_count(stats, name) for name in ("malicious", "suspicious", "harmless", "undetected"))
    return f"{_count(stats, 'malicious')}/{engines}"


def permalink(sha256: str) -> str:
    """The VirusTotal page of a file."""
    return VT_GUI + sha256


@dataclass(frozen=True, slots=True)
class Answer:
    """What one source says about a file."""

    verdict: Verdict
    source: str
    """``local:<source>``, ``virustotal``, or ``""`` when nothing answered."""
    name: str = ""
    ratio: str = ""
    link: str = ""

    def trusted(self, sources: Collection[str]) -> bool:
        """Whether this answer comes from one of the trusted local ``sources``."""
        return self.source.startswith("local:") and self.source.removeprefix("local:") in sources


NO_ANSWER: Final = Answer("unknown", "")
NOT_ON_VT: Final = Answer("unknown", "virustotal")


@dataclass(frozen=True, slots=True)
class VTFile:
    """VirusTotal's report on a file, reduced to what an analyst needs beside the alert."""

    sha256: str
    md5: str
    sha1: str
    verdict: Verdict
    ratio: str
    name: str

    def answer(self) -> Answer:
        return Answer(self.verdict, "virustotal", self.name, self.ratio, permalink(self.sha256))

    def digests(self) -> set[str]:
        """The file's hashes as VirusTotal knows them (the cache answers for each)."""
        return {digest for digest in (self.sha256, self.md5, self.sha1) if digest}


# The local database


@dataclass(frozen=True, slots=True)
class HashRecord:
    """One row of an imported list: the hashes of one file and what the list says of it."""

    hashes: tuple[str, ...]
    verdict: Verdict
    source: str
    name: str = ""
    first_seen: str = ""


@dataclass(frozen=True, slots=True)
class ImportIssue:
    """A row that was not imported, with where it is and why."""

    path: str
    line: int
    reason: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}: {self.detail}"


@dataclass(slots=True)
class ImportResult:
    """What an import did: rows imported (a new hash), updated (a changed one), unchanged, skipped."""

    path: str
    format: str = ""
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    """Skipped rows per reason (``bad hash``, ``bad verdict``, ``wrong column count``...)."""
    errors: list[ImportIssue] = field(default_factory=list)
    """Each skipped row with file and line (the first :data:`MAX_ISSUES`)."""

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def count(self, outcome: Literal["imported", "updated", "unchanged"]) -> None:
        if outcome == "imported":
            self.imported += 1
        elif outcome == "updated":
            self.updated += 1
        else:
            self.unchanged += 1

    def skip(self, issue: ImportIssue) -> None:
        self.skipped[issue.reason] = self.skipped.get(issue.reason, 0) + 1
        if len(self.errors) < MAX_ISSUES:
            self.errors.append(issue)


def default_db_path() -> Path:
    """``<cache dir>/reputation.db`` (``$SHELLWATCH_CACHE_DIR``, default ``~/.cache/shellwatch``)."""
    return cache_dir() / DEFAULT_DB_NAME


def _connect(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open the reputation database {path}: {exc}") from exc
    return conn


class HashDatabase:
    """The SQLite file of known hashes, VirusTotal answers and VirusTotal requests made.

    The connection opens on first use, and again in a forked worker: a SQLite connection must not cross a
    fork. The parent's connection is kept (not closed) in the child, since closing it there would drop the
    child's own file locks.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._inherited: list[sqlite3.Connection] = []

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            if self._conn is not None:
                self._inherited.append(self._conn)
            self._conn = _connect(self.path)
            self._pid = os.getpid()
        return self._conn

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken at once (``BEGIN IMMEDIATE``): processes sharing the file serialise."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def lookup(self, digest: str) -> Answer | None:
        """The local answer for ``digest``: the worst verdict any imported list gives it; None if unlisted."""
        rows = self.conn.execute(
            "SELECT verdict, source, name FROM hashes WHERE hash = ? AND verdict != 'unknown'", (digest,)
        ).fetchall()
        if not rows:
            return None
        verdict, source, name = max(rows, key=lambda row: _SEVERITY[row[0]])
        return Answer(verdict, f"local:{source}", name)

    def add(self, record: HashRecord, imported_at: str) -> Literal["imported", "updated", "unchanged"]:
        """Store ``record`` (one row per hash and source); whether a hash was new, changed, or neither."""
        outcomes = {self._add_hash(digest, record, imported_at) for digest in record.hashes}
        if "imported" in outcomes:
            return "imported"
        return "updated" if "updated" in outcomes else "unchanged"

    def _add_hash(
        self, digest: str, record: HashRecord, imported_at: str
    ) -> Literal["imported", "updated", "unchanged"]:
        values = (record.verdict, record.name, record.first_seen)
        old = self.conn.execute(
            "SELECT verdict, name, first_seen FROM hashes WHERE hash = ? AND source = ?",
            (digest, record.source),
        ).fetchone()
        if old is not None and tuple(old) == values:
            return "unchanged"
        self.conn.execute(
            "INSERT OR REPLACE INTO hashes (hash, kind, source, verdict, name, first_seen, imported_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (digest, _HASH_KINDS[len(digest)], record.source, *values, imported_at),
        )
        return "imported" if old is None else "updated"

    def import_csv(
        self, path: Path | str, fmt: CsvFormat = "auto", source: str | None = None
    ) -> ImportResult:
        """Import a MalwareBazaar CSV export (plain or ``.zip``) or a generic hash list.

        MalwareBazaar rows become ``malicious`` with their ``signature`` as name and source
        ``malwarebazaar``. A generic list has a header naming ``hash`` (any kind) or ``sha256``/``sha1``/
        ``md5``, and optionally ``verdict`` (malicious, the default, suspicious or harmless), ``source``
        (default: ``source``, else the file name without extension), ``name`` and ``first_seen``. Bad
        rows are skipped, counted and reported with file and line; the rest is imported in one
        transaction. Raises :class:`InputError` when the file cannot be read or has no usable header.
        """
        path = Path(path)
        reader = _CsvReader(path, fmt, source)
        result = ImportResult(str(path))
        with ExitStack() as stack:
            lines = stack.enter_context(_open_text(path))
            stack.enter_context(self.transaction())
            try:
                self._add_rows(reader.rows(lines), result)
            except (OSError, zipfile.BadZipFile) as exc:
                raise InputError(f"cannot read {path}: {exc}") from exc
        result.format = reader.layout.fmt if reader.layout is not None else fmt
        return result

    def _add_rows(self, rows: Iterable[HashRecord | ImportIssue], result: ImportResult) -> None:
        imported_at = timestamp_from_epoch(time.time())
        for item in rows:
            if isinstance(item, ImportIssue):
                result.skip(item)
            else:
                result.count(self.add(item, imported_at))

    def cached_answer(self, digest: str, fresh_after: float) -> Answer | None:
        """VirusTotal's cached answer for ``digest`` when fetched after ``fresh_after`` (epoch seconds)."""
        row = self.conn.execute(
            "SELECT verdict, name, ratio, link FROM vt_cache WHERE hash = ? AND fetched_at >= ?",
            (digest, fresh_after),
        ).fetchone()
        return None if row is None else Answer(row[0], "virustotal", row[1], row[2], row[3])

    def cache_answer(self, digests: Iterable[str], answer: Answer, fetched_at: float) -> None:
        """Remember VirusTotal's ``answer`` for each of ``digests``."""
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO vt_cache (hash, verdict, name, ratio, link, fetched_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(d, answer.verdict, answer.name, answer.ratio, answer.link, fetched_at) for d in digests],
            )

    def requests_after(self, moment: float) -> int:
        """VirusTotal requests recorded after ``moment`` (epoch seconds)."""
        row = self.conn.execute("SELECT COUNT(*) FROM vt_requests WHERE at > ?", (moment,)).fetchone()
        return int(row[0])

    def record_request(self, moment: float) -> None:
        """Record a VirusTotal request (and forget those older than two days)."""
        self.conn.execute("INSERT INTO vt_requests (at) VALUES (?)", (moment,))
        self.conn.execute("DELETE FROM vt_requests WHERE at < ?", (moment - 2 * _DAY,))


# CSV import


class _BadRowError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class _Layout:
    """How the rows of a file read: which format, and the name of each column."""

    fmt: Literal["malwarebazaar", "generic"]
    columns: tuple[str, ...]


def _open_text(path: Path) -> IO[str]:
    """The text of a CSV file, or of the one CSV inside a ``.zip`` (MalwareBazaar zips its full dump)."""
    try:
        if path.suffix.lower() != ".zip":
            return path.open(encoding="utf-8-sig", errors="backslashreplace", newline="")
        with zipfile.ZipFile(path) as archive:
            members = [name for name in archive.namelist() if name.lower().endswith((".csv", ".txt"))]
            if len(members) != 1:
                raise InputError(f"{path}: expected one CSV file in the archive, found {len(members)}")
            raw = archive.open(members[0])
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="backslashreplace", newline="")


def _split(text: str) -> list[str]:
    """One CSV line; MalwareBazaar separates its quoted fields with ``", "``."""
    return next(csv.reader([text], skipinitialspace=True, strict=True))


def _value(text: str | None) -> str:
    """A field's text; MalwareBazaar writes ``n/a`` for nothing."""
    value = (text or "").strip()
    return "" if value.lower() == "n/a" else value


def _hash_field(row: Mapping[str, str], column: str, kind: str | None, required: bool = False) -> str | None:
    text = _value(row.get(column))
    if not text:
        if required:
            raise _BadRowError("missing hash", f"no {column}")
        return None
    digest = normalize_hash(text, kind)
    if digest is None:
        raise _BadRowError("bad hash", f"{column} {text!r} is not {'a ' + kind if kind else 'an'} digest")
    return digest


def _malwarebazaar_record(row: Mapping[str, str], source: str | None) -> HashRecord:
    sha256 = _hash_field(row, "sha256_hash", "sha256", required=True)
    others = (_hash_field(row, "md5_hash", "md5"), _hash_field(row, "sha1_hash", "sha1"))
    hashes = tuple(digest for digest in (sha256, *others) if digest)
    name, first_seen = _value(row.get("signature")), _value(row.get("first_seen_utc"))
    return HashRecord(hashes, "malicious", source or "malwarebazaar", name, first_seen)


def _generic_record(row: Mapping[str, str], source: str) -> HashRecord:
    found = (_hash_field(row, column, kind) for column, kind in _GENERIC_HASH_COLUMNS.items())
    hashes = tuple(dict.fromkeys(digest for digest in found if digest))
    if not hashes:
        raise _BadRowError("missing hash", "the row has no hash")
    text = _value(row.get("verdict")).lower() or "malicious"
    verdict = _IMPORT_VERDICTS.get(text)
    if verdict is None:
        raise _BadRowError("bad verdict", f"{text!r} is not one of {', '.join(_IMPORT_VERDICTS)}")
    row_source = _value(row.get("source")) or source
    return HashRecord(hashes, verdict, row_source, _value(row.get("name")), _value(row.get("first_seen")))


class _CsvReader:
    """Turns the lines of a MalwareBazaar export or of a generic hash list into records or issues.

    A record is one line: both formats write one file per line. MalwareBazaar puts its column header in a
    comment (``# "first_seen_utc","sha256_hash",...``) after a block of ``#`` lines; a generic list has
    its header as the first line.
    """

    def __init__(self, path: Path, fmt: CsvFormat, source: str | None) -> None:
        self.path = path
        self.fmt = fmt
        self.source = source
        self.layout: _Layout | None = None

    def rows(self, lines: Iterable[str]) -> Iterator[HashRecord | ImportIssue]:
        for number, line in enumerate(lines, 1):
            text = line.strip()
            if not text or (text.startswith("#") and self._comment(text)):
                continue
            try:
                fields = _split(text)
                if self.layout is None and self._first_row(fields, number):
                    continue
                yield self._record(fields)
            except csv.Error as exc:
                yield ImportIssue(str(self.path), number, "csv syntax", str(exc))
            except _BadRowError as bad:
                yield ImportIssue(str(self.path), number, bad.reason, bad.detail)

    def _comment(self, text: str) -> bool:
        """Take a MalwareBazaar header from a comment line; always True (the line is consumed)."""
        body = text.lstrip("#").strip()
        if self.layout is None and self.fmt != "generic" and '"sha256_hash"' in body:
            self.layout = _Layout("malwarebazaar", _columns(_split(body)))
        return True

    def _first_row(self, fields: list[str], number: int) -> bool:
        """Decide the layout from the first row; True when that row is a header (and not data)."""
        columns = _columns(fields)
        if self.fmt != "generic" and "sha256_hash" in columns:
            self.layout = _Layout("malwarebazaar", columns)
            return True
        if self.fmt != "malwarebazaar" and any(name in _GENERIC_HASH_COLUMNS for name in columns):
            self.layout = _Layout("generic", columns)
            return True
        if self.fmt != "generic" and len(fields) > 1 and normalize_hash(fields[1], "sha256"):
            self.layout = _Layout("malwarebazaar", MALWAREBAZAAR_COLUMNS)
            return False
        raise InputError(
            f"{self.path}:{number}: no header naming a hash column (hash, sha256, sha1 or md5), "
            "and not a MalwareBazaar export"
        )

    def _record(self, fields: list[str]) -> HashRecord:
        assert self.layout is not None
        columns = self.layout.columns
        generic = self.layout.fmt == "generic"
        if len(fields) < len(columns) or (generic and len(fields) > len(columns)):
            raise _BadRowError("wrong column count", f"{len(fields)} fields, the header has {len(columns)}")
        row = dict(zip(columns, fields, strict=False))
        if generic:
            return _generic_record(row, self.source or self.path.stem)
        return _malwarebazaar_record(row, self.source)


def _columns(fields: Iterable[str]) -> tuple[str, ...]:
    return tuple(name.strip().lower() for name in fields)


# VirusTotal


@dataclass(frozen=True, slots=True)
class VTSettings:
    """How to use VirusTotal. The API key comes from the caller (the CLI reads ``$VT_API_KEY``)."""

    api_key: str = field(repr=False)
    host: str | None = None
    """``None`` for the real service; tests point it at a server on loopback."""
    per_minute: int = 4
    per_day: int = 500
    cache_ttl: float = 7 * _DAY
    """Seconds a cached answer (including "not on VirusTotal") is used before asking again."""
    timeout: int = 30
    """Seconds per request."""
    pause: float = _MINUTE
    """Seconds without requests after a 429 or when the service cannot be reached."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> VTSettings | None:
        """Settings with the key in ``$VT_API_KEY``; None (no VirusTotal) when it is unset or empty."""
        key = environ.get("VT_API_KEY", "").strip()
        return cls(key) if key else None


class FileLookup(Protocol):
    """A file reputation service: VirusTotal's v3 API by default (:class:`VirusTotalClient`)."""

    def lookup(self, digest: str) -> VTFile | None:
        """The service's report on a file; None when it does not know it. Raises :class:`LookupFailed`."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def _status_of(code: str) -> VTStatus:
    if code in _RATE_LIMIT_CODES:
        return "rate-limited"
    return "unauthorized" if code in _AUTH_CODES else "unavailable"


def _vt_file(obj: Any, digest: str) -> VTFile:
    """The parts of a vt-py file object we keep."""
    stats = obj.get("last_analysis_stats") or {}
    sha256 = str(obj.get("sha256") or obj.id or digest).lower()
    return VTFile(
        sha256=sha256,
        md5=str(obj.get("md5") or "").lower(),
        sha1=str(obj.get("sha1") or "").lower(),
        verdict=verdict_from_stats(stats),
        ratio=ratio_from_stats(stats),
        name=str(obj.get("meaningful_name") or ""),
    )


async def _new_client(settings: VTSettings) -> Any:
    """A vt-py client made inside the loop that will run it (its connector binds the running loop)."""
    import vt  # type: ignore[import-untyped]

    return vt.Client(settings.api_key, agent="shellwatch", host=settings.host, timeout=settings.timeout)


class VirusTotalClient:
    """VirusTotal's ``/files/{hash}`` through vt-py, on an event loop of its own.

    vt-py is asyncio based; its sync wrappers use (and may install) the thread's global event loop. A
    private loop keeps that state out of the caller's thread and closes cleanly in :meth:`close`. Call it
    from synchronous code (the scan pipeline), not from inside a running event loop.
    """

    def __init__(self, settings: VTSettings) -> None:
        self._loop = asyncio.new_event_loop()
        self._client = self._loop.run_until_complete(_new_client(settings))

    def lookup(self, digest: str) -> VTFile | None:
        import aiohttp
        import vt

        try:
            obj = self._loop.run_until_complete(self._client.get_object_async("/files/{}", digest))
        except vt.APIError as exc:
            if exc.code == "NotFoundError":
                return None
            raise LookupFailed(_status_of(exc.code), f"VirusTotal: {exc.code}: {exc.message}") from exc
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            raise LookupFailed("unavailable", f"VirusTotal unreachable: {type(exc).__name__}: {exc}") from exc
        return _vt_file(obj, digest)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._loop.run_until_complete(self._client.close_async())
        finally:
            self._loop.close()


class RateLimiter:
    """VirusTotal's free-tier budget: ``per_minute`` lookups in any 60 s, ``per_day`` per UTC day.

    Requests are recorded in the database, so every process and run using the same file shares the
    budget (VirusTotal counts per key, not per run). ``clock`` gives epoch seconds; tests pass their own.
    """

    def __init__(
        self,
        db: HashDatabase,
        per_minute: int = 4,
        per_day: int = 500,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.per_minute = per_minute
        self.per_day = per_day
        self.clock = clock

    def acquire(self) -> bool:
        """Take one lookup from the budget; False (nothing taken) when it is spent."""
        now = self.clock()
        with self.db.transaction():
            minute = self.db.requests_after(now - _MINUTE)
            day = self.db.requests_after(math.nextafter(now - now % _DAY, -math.inf))
            if minute >= self.per_minute or day >= self.per_day:
                return False
            self.db.record_request(now)
        return True


# The enricher


@dataclass(frozen=True, slots=True)
class _Ref:
    """One hash on the alert and the key it was found under."""

    field: str
    digest: str


@dataclass(frozen=True, slots=True)
class _Entry:
    ref: _Ref
    answer: Answer


def collect_hashes(alert: Alert) -> list[list[_Ref]]:
    """The alert's hashes grouped by the file they describe (owner key and list position), process first."""
    groups: dict[tuple[str, int], list[_Ref]] = {}
    for key, value in alert.items():
        match = _HASH_KEY.fullmatch(key)
        if match is None or key.startswith(PREFIX + "."):
            continue
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            digest = normalize_hash(item, match["kind"]) if isinstance(item, str) else None
            if digest is not None:
                groups.setdefault((match["owner"] or "", index), []).append(_Ref(key, digest))
    ordered = sorted(groups.items(), key=lambda item: _owner_rank(item[0][0]))
    return _capped([refs for _, refs in ordered])


def _owner_rank(owner: str) -> int:
    return _OWNER_ORDER.index(owner) if owner in _OWNER_ORDER else len(_OWNER_ORDER)


def _capped(groups: list[list[_Ref]]) -> list[list[_Ref]]:
    kept: list[list[_Ref]] = []
    room = MAX_HASHES
    for refs in groups:
        if room <= 0:
            break
        kept.append(refs[:room])
        room -= len(kept[-1])
    return kept


def _preferred(refs: list[_Ref]) -> str:
    """The hash to ask VirusTotal with: the longest (SHA-256, then SHA-1, then MD5)."""
    return max((ref.digest for ref in refs), key=len)


def _open_vt(settings: VTSettings) -> FileLookup:
    return VirusTotalClient(settings)


class ReputationEnricher:
    """Hash reputation from the local database and VirusTotal (see the module docstring).

    ``db``: a :class:`HashDatabase` or its path (default ``<cache dir>/reputation.db``). ``virustotal``:
    settings, None to use only the local database. ``trusted_sources``: local sources (as imported, e.g.
    ``allowlist``) whose ``harmless`` lowers the score. ``lookup_factory`` makes the VirusTotal client on
    first need (another service can be put in its place); ``clock`` gives epoch seconds.
    """

    name = "reputation"

    def __init__(
        self,
        db: HashDatabase | Path | str | None = None,
        virustotal: VTSettings | None = None,
        *,
        trusted_sources: Collection[str] = (),
        lookup_factory: Callable[[VTSettings], FileLookup] = _open_vt,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._owns_db = not isinstance(db, HashDatabase)
        self.db = db if isinstance(db, HashDatabase) else HashDatabase(db)
        self.virustotal = virustotal if virustotal is not None and virustotal.api_key else None
        self.trusted_sources = frozenset(trusted_sources)
        self.clock = clock
        self._factory = lookup_factory
        self._lookup: FileLookup | None = None
        self._lookup_pid = 0
        self._paused: tuple[float, VTStatus] | None = None
        self.limiter = (
            RateLimiter(self.db, self.virustotal.per_minute, self.virustotal.per_day, clock)
            if self.virustotal is not None
            else None
        )

    def __enter__(self) -> ReputationEnricher:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the VirusTotal client (when one was made) and the database (when opened here)."""
        if self._lookup is not None and self._lookup_pid == os.getpid():
            self._lookup.close()
        self._lookup = None
        if self._owns_db:
            self.db.close()

    def enrich(self, alert: Alert) -> None:
        if f"{PREFIX}.verdict" in alert:
            return  # enriched already: the score must not move twice
        groups = collect_hashes(alert)
        if not groups:
            return
        entries: list[_Entry] = []
        statuses: list[VTStatus] = []
        for refs in groups:
            resolved, status = self._resolve(refs)
            entries.extend(resolved)
            if status is not None:
                statuses.append(status)
        _write(alert, entries, statuses)
        self._score(alert, entries)

    def _resolve(self, refs: list[_Ref]) -> tuple[list[_Entry], VTStatus | None]:
        """Answers for the hashes of one file: each hash's own local answer, else the file's answer."""
        direct = {ref.digest: self.db.lookup(ref.digest) for ref in refs}
        known = [answer for answer in direct.values() if answer is not None]
        status: VTStatus | None = None
        if known:
            shared: Answer | None = max(known, key=lambda answer: _SEVERITY[answer.verdict])
        else:
            shared, status = self._virustotal(refs)
        return [_Entry(ref, direct[ref.digest] or shared or NO_ANSWER) for ref in refs], status

    def _virustotal(self, refs: list[_Ref]) -> tuple[Answer | None, VTStatus | None]:
        """VirusTotal's answer for one file: from the cache, else asked (budget and service allowing)."""
        if self.virustotal is None:
            return None, None
        fresh_after = self.clock() - self.virustotal.cache_ttl
        for ref in refs:
            cached = self.db.cached_answer(ref.digest, fresh_after)
            if cached is not None:
                return cached, "cached"
        return self._ask(_preferred(refs))

    def _ask(self, digest: str) -> tuple[Answer | None, VTStatus]:
        assert self.virustotal is not None and self.limiter is not None
        now = self.clock()
        if self._paused is not None and now < self._paused[0]:
            return None, self._paused[1]
        if not self.limiter.acquire():
            return None, "deferred"
        try:
            found = self._client().lookup(digest)
        except LookupFailed as exc:
            self._pause(exc, now)
            return None, exc.status
        answer = found.answer() if found is not None else NOT_ON_VT
        self.db.cache_answer({digest} | (found.digests() if found else set()), answer, now)
        return answer, "ok"

    def _pause(self, failure: LookupFailed, now: float) -> None:
        """Stop asking for a while (for the run when the key was refused), and say so once in the log."""
        assert self.virustotal is not None
        span = math.inf if failure.status == "unauthorized" else self.virustotal.pause
        self._paused = (now + span, failure.status)
        log.warning(
            "%s; no VirusTotal lookups for %s", failure, "this run" if span == math.inf else f"{span:g} s"
        )

    def _client(self) -> FileLookup:
        """The VirusTotal client of this process, made on first need (a forked worker makes its own)."""
        assert self.virustotal is not None
        if self._lookup is None or self._lookup_pid != os.getpid():
            self._lookup = self._factory(self.virustotal)
            self._lookup_pid = os.getpid()
        return self._lookup

    def _score(self, alert: Alert, entries: list[_Entry]) -> None:
        verdict = alert[f"{PREFIX}.verdict"]
        if verdict == "malicious":
            adjust_score(alert, MALICIOUS_DELTA, "reputation")
        elif verdict == "harmless" and any(e.answer.trusted(self.trusted_sources) for e in entries):
            adjust_score(alert, TRUSTED_HARMLESS_DELTA, "reputation")


def _write(alert: Alert, entries: list[_Entry], statuses: list[VTStatus]) -> None:
    alert[f"{PREFIX}.hash.value"] = [entry.ref.digest for entry in entries]
    alert[f"{PREFIX}.hash.field"] = [entry.ref.field for entry in entries]
    alert[f"{PREFIX}.hash.verdict"] = [str(entry.answer.verdict) for entry in entries]
    alert[f"{PREFIX}.hash.source"] = [entry.answer.source for entry in entries]
    alert[f"{PREFIX}.hash.name"] = [entry.answer.name for entry in entries]
    alert[f"{PREFIX}.hash.ratio"] = [entry.answer.ratio for entry in entries]
    alert[f"{PREFIX}.hash.link"] = [entry.answer.link for entry in entries]
    alert[f"{PREFIX}.verdict"] = worst_verdict(entry.answer.verdict for entry in entries)
    if statuses:
        alert[f"{PREFIX}.vt_status"] = min(statuses, key=_STATUS_ORDER.index)
