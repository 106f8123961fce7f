"""The data that flows between stages: events and alerts as flat ECS documents.

An event is a plain ``dict`` whose keys are flat, dotted Elastic Common Schema field names
(``process.command_line``, ``user.name``) and whose values are scalars or lists of scalars. Nothing nested,
nothing that is not JSON. Field names, types and allowed values are declared once, in
:mod:`shellwatch.schema`.

Odd bytes: text is always ``str``. Readers decode UTF-8 with ``errors="surrogateescape"`` where the source
is bytes, and :func:`clean_text` then turns any undecodable byte into ``\\xNN`` so that every event is valid
JSON and no byte is silently lost.
"""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Final

Scalar = str | int | float | bool | None
Value = Scalar | list[str] | list[int] | list[str | int]
Event = dict[str, Value]
"""A normalized event: flat ECS keys to scalars or lists of scalars."""

Alert = dict[str, Value]
"""An alert: an ECS document with ``rule.*``, ``threat.*`` and the matched event's fields."""

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def format_timestamp(moment: datetime) -> str:
    """ECS ``@timestamp`` text: UTC, microseconds, ``Z`` suffix; sorts lexicographically."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def timestamp_from_epoch(seconds: float) -> str:
    """``@timestamp`` text for seconds since the Unix epoch (UTC)."""
    return format_timestamp(datetime.fromtimestamp(seconds, tz=UTC))


def entity_id(*parts: object) -> str:
    """A stable process identifier from the parts that make a process unique (host, pid, start time).

    Sources without a native id (auditd, 4688, eslogger) hash these parts so that later stages never mix
    up two processes that reused one pid.
    """
    text = "\x1f".join(str(part) for part in parts)
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=12).hexdigest()


def clean_text(text: str) -> str:
    """Replace lone surrogates (undecodable bytes) by a visible ``\\xNN`` escape."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text


def decode_bytes(raw: bytes) -> str:
    """Decode bytes from a log as UTF-8, keeping undecodable bytes visible as ``\\xNN``."""
    return raw.decode("utf-8", "backslashreplace")


def basename(path: str) -> str:
    """The file name of a Windows or POSIX path (``process.name`` from ``process.executable``)."""
    cut = max(path.rfind("/"), path.rfind("\\"))
    return path[cut + 1 :] if cut >= 0 else path


@lru_cache(maxsize=8192)
def canonical_ip(text: str) -> str | None:
    """``text`` as a canonical IPv4 or IPv6 address (``2001:db8::1``), or None when it is not an address."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def timestamp_micros(value: object) -> int | None:
    """``@timestamp`` text as microseconds since the epoch; ``None`` when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(microseconds=1)
