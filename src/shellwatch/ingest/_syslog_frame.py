"""Syslog framing: split one line into timestamp, host, program, pid and message (RFC 3164 and RFC 5424).

Timestamps:

* RFC 3164 (``Jan  5 10:11:12``, optionally ``.123``) has no year and no zone. The year comes from
  :class:`YearGuess`: ``ReaderOptions.year`` if given (every line gets it), else the file's modification
  time with the rollover rule (a line dated after the mtime, allowing one day of clock skew, belongs to the
  previous year: a December line in a file modified in January). ``Feb 29`` in a year that is not a leap
  year goes to the latest leap year before it. The zone is assumed to be UTC.
* ISO 8601 (rsyslog's high-precision format ``2024-01-05T10:11:12.123456+01:00``, and the ``2020-03-23
  06:47:42.801612-0700`` variant) and RFC 5424 timestamps carry their offset; without one, UTC.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from shellwatch.events import format_timestamp

MONTHS: Final = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1
    )
}
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_ISO = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?"
_HOST = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_TAG = r"[^\s:\[\]]+"

RFC3164: Final = re.compile(
    r"(?:<(?P<pri>\d{1,3})>)?"
    rf"(?:(?P<year1>\d{{4}}) )?(?P<mon>{_MONTH}) +(?P<day>\d{{1,2}})(?: (?P<year2>\d{{4}}))?"
    r" (?P<time>\d\d:\d\d:\d\d)(?P<frac>\.\d{1,9})?"
    r"(?::? +|:?$)"
    rf"(?:(?P<host>{_HOST}) +)?"
    rf"(?:(?P<tag>{_TAG})(?:\[(?P<pid>\d+)\])?: ?)?"
    r"(?P<msg>.*)$",
    re.DOTALL,
)
ISO_LINE: Final = re.compile(
    r"(?:<(?P<pri>\d{1,3})>)?"
    rf"(?P<iso>{_ISO}) +"
    rf"(?:(?P<host>{_HOST}) +)?"
    rf"(?:(?P<tag>{_TAG})(?:\[(?P<pid>\d+)\])?: ?)?"
    r"(?P<msg>.*)$",
    re.DOTALL,
)
_SD_ELEMENT = r"\[(?:[^\]\"\\]|\\.|\"(?:[^\"\\]|\\.)*\")*\]"
RFC5424: Final = re.compile(
    r"<(?P<pri>\d{1,3})>(?P<version>\d{1,2}) (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+)"
    rf" (?P<msgid>\S+) (?P<sd>-|(?:{_SD_ELEMENT})+)(?: (?P<msg>.*))?$",
    re.DOTALL,
)
_SD_ID = re.compile(r"\[(?P<id>[^\s\]=\"]+)(?P<params>(?:[^\]\"\\]|\\.|\"(?:[^\"\\]|\\.)*\")*)\]")
_SD_PARAM = re.compile(r"(?P<name>[^\s=\]\"]+)=\"(?P<value>(?:[^\"\\]|\\.)*)\"")
_SD_ESCAPE = re.compile(r"\\([\"\\\]])")

SNIFF: Final = re.compile(
    rb"(?:<\d{1,3}>)?(?:"
    rb"\d \S+ \S+ \S+ \S+ \S+ (?:-|\[)"  # RFC 5424
    rb"|(?:\d{4} )?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2}(?: \d{4})? \d\d:\d\d:\d\d"
    rb"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)? +"
    rb"(?:[A-Za-z0-9][A-Za-z0-9._-]* +)?[^\s:\[\]]+(?:\[\d+\])?: "
    rb")"
)


@dataclass(slots=True)
class Frame:
    """One syslog line, split."""

    timestamp: str | None
    host: str | None
    program: str | None
    pid: int | None
    message: str
    priority: int | None = None
    extra: dict[str, str] = field(default_factory=dict)
    """RFC 5424 fields: version, procid, msgid, structured_data.<id>.<param>."""


class BadTimestamp(ValueError):
    """The line is framed like syslog but its date does not exist."""


@dataclass(slots=True)
class YearGuess:
    """The year of RFC 3164 timestamps (see the module docstring)."""

    fixed: int | None = None
    mtime: float | None = None
    _reference: datetime = field(init=False)
    _cache: dict[tuple[str, str, str, str, str | None], str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        seconds = self.mtime if self.mtime is not None else time.time()
        self._reference = datetime.fromtimestamp(seconds, tz=UTC) + timedelta(days=1)

    def year(self, month: int, day: int) -> int:
        if self.fixed is not None:
            return self.fixed
        ref = self._reference
        return ref.year - 1 if (month, day) > (ref.month, ref.day) else ref.year

    def timestamp(self, mon: str, day: str, clock: str, frac: str | None, year: str | None) -> str:
        key = (mon, day, clock, frac or "", year)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        month, day_number = MONTHS[mon], int(day)
        number = int(year) if year else self.year(month, day_number)
        if month == 2 and day_number == 29 and not year:
            while not _leap(number):
                number -= 1
        hour, minute, second = (int(part) for part in clock.split(":"))
        micro = int((frac[1:] + "000000")[:6]) if frac else 0
        try:
            moment = datetime(number, month, day_number, hour, minute, second, micro, tzinfo=UTC)
        except ValueError as exc:
            raise BadTimestamp(str(exc)) from None
        if len(self._cache) > 4096:
            self._cache.clear()
        text = self._cache[key] = format_timestamp(moment)
        return text


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def iso_timestamp(text: str) -> str:
    """``@timestamp`` text for an ISO 8601 / RFC 3339 timestamp; UTC when it has no offset."""
    if "." in text:
        # Python keeps microseconds: cut nanoseconds before parsing.
        head, _, tail = text.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = f"{head}.{tail[: min(digits, 6)]}{tail[digits:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadTimestamp(str(exc)) from None
    return format_timestamp(moment)


def parse_line(text: str, years: YearGuess) -> Frame | None:
    """The frame of one line, or ``None`` when it is not framed like syslog (a continuation, or garbage).

    Raises :class:`BadTimestamp` when the framing fits but the date is impossible.
    """
    first = text[:1]
    if first == "<" and (match := RFC5424.match(text)):
        return _rfc5424(match)
    if first.isdigit() or first == "<":
        iso = ISO_LINE.match(text)
        if iso:
            return _frame(iso, iso_timestamp(iso["iso"]))
    match = RFC3164.match(text)
    if match is None:
        return None
    stamp = years.timestamp(
        match["mon"], match["day"], match["time"], match["frac"], match["year1"] or match["year2"]
    )
    return _frame(match, stamp)


def _frame(match: re.Match[str], stamp: str) -> Frame:
    pid = match["pid"]
    pri = match["pri"]
    return Frame(
        timestamp=stamp,
        host=match["host"],
        program=match["tag"],
        pid=int(pid) if pid else None,
        message=match["msg"].strip(),
        priority=int(pri) if pri else None,
    )


def _rfc5424(match: re.Match[str]) -> Frame:
    stamp = match["ts"]
    extra = {"version": match["version"]}
    procid, msgid = match["procid"], match["msgid"]
    if procid != "-":
        extra["procid"] = procid
    if msgid != "-":
        extra["msgid"] = msgid
    if match["sd"] != "-":
        extra.update(structured_data(match["sd"]))
    host, app = match["host"], match["app"]
    message = (match["msg"] or "").removeprefix("\ufeff").strip()
    return Frame(
        timestamp=None if stamp == "-" else iso_timestamp(stamp),
        host=None if host == "-" else host,
        program=None if app == "-" else app,
        pid=int(procid) if procid.isdecimal() else None,
        message=message,
        priority=int(match["pri"]),
        extra=extra,
    )


def structured_data(text: str) -> dict[str, str]:
    """``{"structured_data.<sd-id>.<param>": value}`` for RFC 5424 STRUCTURED-DATA (escapes undone)."""
    fields: dict[str, str] = {}
    for element in _SD_ID.finditer(text):
        sd_id = element["id"]
        for param in _SD_PARAM.finditer(element["params"]):
            value = _SD_ESCAPE.sub(r"\1", param["value"])
            fields[f"structured_data.{sd_id}.{param['name']}"] = value
    return fields
