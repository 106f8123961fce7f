"""Linux audit records: one line (or part of one) to a :class:`Record`, and records to whole events.

A record is ``[node=N ]type=T msg=audit(SECONDS.MILLIS:SERIAL): key=value ...``, optionally followed by
``\\x1d`` and the interpreted (ENRICHED format) fields. Values stay as written (quotes included) and are
decoded on demand by :func:`decode_value`, so nothing is parsed twice and hex decoding depends on the
field. :class:`Assembler` groups records into events by (node, time, serial).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from shellwatch.events import decode_bytes

# The header; a syslog prefix ("... audispd: ") is allowed before it. AUOMS writes "audit(" without "msg=".
_HEADER: Final = re.compile(
    r"(?:node=(?P<node>\S+) )?type=(?P<type>[A-Za-z0-9_\[\]]+) "
    r"(?:(?:msg=)?audit\((?P<sec>\d{1,11})(?:\.(?P<frac>\d{1,9}))?:(?P<serial>\d{1,20})\):?|msg=\?)"
)
# key=value with "double", 'single' (msg='...', possibly cut short), { enriched SADDR }, [ AUOMS list ]
# or bare values.
_TOKEN: Final = re.compile(r"""([\w.\-\[\]]+)=("[^"]*"|'[^']*(?:'|$)|\{[^}]*\}?|\[[^\]]*\]|\S*)""")
# Wazuh and some forwarders join the records of one event on one line.
_NEXT_RECORD: Final = re.compile(r" (?=(?:node=\S+ )?type=[A-Z0-9_]+ msg=audit\(\d)")
_ESCAPED_SEPARATOR: Final = re.compile(r"\\u001[dD]|\\x1[dD]")
_HEX: Final = re.compile(r"(?:[0-9A-Fa-f]{2})+")
_SYSLOG_PREFIX_END = ": "

ENRICHED_SEPARATOR: Final = "\x1d"

ENCODABLE: Final[frozenset[str]] = frozenset(
    {
        "proctitle", "cwd", "name", "comm", "exe", "cmd", "acct", "data", "key", "path", "ocomm",
        "dir", "file", "watch", "old", "new", "root_dir", "vm", "cgroup", "grp", "new_group",
        "old_group", "new-disk", "old-disk", "new-fs", "old-fs", "new-chardev", "old-chardev",
    }
)  # fmt: skip
"""Fields the kernel and libaudit hex-encode when the text holds a space, a quote or a control byte."""

STANDALONE_PREFIXES: Final = (
    "USER_", "CRED_", "DAEMON_", "ACCT_", "ADD_", "DEL_", "GRP_", "ROLE_", "CRYPTO_", "SERVICE_",
    "SYSTEM_", "USYS_", "VIRT_", "RESP_", "LABEL_", "DEV_", "ANOM_LOGIN", "ANOM_ADD", "ANOM_DEL",
    "ANOM_MOD", "ANOM_ROOT", "ANOM_RBAC", "ANOM_AMTU", "ANOM_CRYPTO", "ANOM_MAX", "ANOM_ORIGIN",
    "ANOM_SESSION", "ANOM_EXEC", "ANOM_MK_EXEC", "ANOM_ACCESS_FS", "TRUSTED_APP", "CHUSER_ID",
    "CHGRP_ID", "MAC_CHECK", "DAC_CHECK", "SOFTWARE_UPDATE", "AUOMS_",
)  # fmt: skip
"""User-space message types (1100-1299, 2100-2999): one record each, complete as soon as it is read."""

UNSET: Final = frozenset({"4294967295", "-1", "unset"})
EMPTY: Final = frozenset({"", "?", "(null)", "(none)", "(unknown)"})


@dataclass(slots=True)
class Record:
    """One audit record; ``fields`` and ``enriched`` hold values exactly as written."""

    type: str
    node: str | None
    stamp: str | None
    """``SECONDS.MILLIS`` as written (``None`` for the odd ``msg=?`` record)."""
    serial: int | None
    fields: dict[str, str]
    enriched: dict[str, str] = field(default_factory=dict)
    line: int = 0
    offset: int = 0

    @property
    def epoch(self) -> float | None:
        return float(self.stamp) if self.stamp is not None else None

    def get(self, key: str) -> str | None:
        """The decoded value of ``key`` (quotes removed, hex decoded where the field may be encoded)."""
        raw = self.fields.get(key)
        return None if raw is None else decode_value(raw, key in ENCODABLE)

    def name(self, key: str) -> str | None:
        """The interpreted (ENRICHED) value of ``key``, such as ``AUID`` → ``alice``."""
        raw = self.enriched.get(key)
        return None if raw is None else decode_value(raw, key.endswith("ID"))


def unquote(raw: str) -> str | None:
    """The text inside "..." or '...', or ``None`` when ``raw`` is not quoted."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1]
    return None


def is_hex(raw: str) -> bool:
    return _HEX.fullmatch(raw) is not None


def hex_bytes(raw: str) -> bytes:
    return bytes.fromhex(raw)


def decode_value(raw: str, encodable: bool) -> str:
    """Remove quotes; hex-decode an unquoted value of an encodable field; keep ``(null)`` and the like."""
    inner = unquote(raw)
    if inner is not None:
        return inner
    if encodable and is_hex(raw):
        return decode_bytes(bytes.fromhex(raw))
    return raw


def decode_argv(raw: str) -> list[str]:
    """A PROCTITLE value as its arguments: hex with NUL separators, or one quoted string."""
    inner = unquote(raw)
    if inner is not None:
        return [inner]
    if not is_hex(raw):
        return [raw]
    parts = bytes.fromhex(raw).split(b"\x00")
    while parts and not parts[-1]:
        parts.pop()
    return [decode_bytes(part) for part in parts]


def tokenize(text: str) -> dict[str, str]:
    """``key=value`` pairs of a record body; the PAM ``msg='...'`` payload is merged in."""
    fields = dict(_TOKEN.findall(text))
    payload = fields.get("msg")
    if payload is not None and payload.startswith("'"):
        del fields["msg"]
        inner = payload[1:-1] if payload.endswith("'") and len(payload) > 1 else payload[1:]
        for key, raw in _TOKEN.findall(inner):
            value = raw.rstrip(",)") if raw and raw[0] not in "\"'{[" else raw
            fields.setdefault(key, value)
    return fields


class NotARecord(ValueError):
    """The text is not an audit record."""


def _split_enriched(body: str) -> tuple[str, str | None]:
    cut = body.find(ENRICHED_SEPARATOR)
    if cut >= 0:
        return body[:cut], body[cut + 1 :]
    if "\\" in body:
        match = _ESCAPED_SEPARATOR.search(body)
        if match:
            return body[: match.start()], body[match.end() :]
    return body, None


def parse_records(text: str, line: int = 0, offset: int = 0) -> list[Record]:
    """The records of one line (usually one; several when a forwarder joined them). Raises NotARecord."""
    match = _HEADER.match(text)
    if match is None:
        match = _HEADER.search(text)
        if match is None or not text[: match.start()].endswith(_SYSLOG_PREFIX_END):
            raise NotARecord("not an audit record (no type=... msg=audit(...))")
    body = text[match.end() :]
    following: list[Record] = []
    if "msg=audit(" in body:
        pieces = _NEXT_RECORD.split(body, maxsplit=1)
        if len(pieces) == 2:
            body = pieces[0]
            following = parse_records(pieces[1], line, offset)
    main, enriched = _split_enriched(body)
    serial = match.group("serial")
    stamp = None
    if match.group("sec") is not None:
        stamp = match.group("sec") + "." + (match.group("frac") or "0")
    record = Record(
        type=match.group("type"),
        node=match.group("node"),
        stamp=stamp,
        serial=int(serial) if serial is not None else None,
        fields=tokenize(main),
        enriched=dict(_TOKEN.findall(enriched)) if enriched else {},
        line=line,
        offset=offset,
    )
    return [record, *following]


def is_standalone(record_type: str) -> bool:
    return record_type.startswith(STANDALONE_PREFIXES)


Key = tuple[str | None, str | None, int]

SERIAL_WINDOW: Final = 32
"""An open event is complete once a record of the same node with a serial this far away is read."""
MAX_OPEN: Final = 256
"""At most this many events are kept open; the oldest is completed first when there are more."""


_COMPLETING: Final = frozenset({"SYSCALL", "PROCTITLE", "PATH"})


def looks_complete(records: list[Record]) -> bool:
    """Whether a syscall event has everything the kernel writes before EOE: its SYSCALL, as many PATH
    records as ``items`` says, and the PROCTITLE (always the last record in kernel order)."""
    syscall: Record | None = None
    proctitle = False
    paths = 0
    for record in records:
        if record.type == "SYSCALL":
            syscall = record
        elif record.type == "PROCTITLE":
            proctitle = True
        elif record.type == "PATH":
            paths += 1
    if syscall is None or not proctitle:
        return False
    items = syscall.fields.get("items", "0")
    return items.isdigit() and paths >= int(items)


class Assembler:
    """Groups records into events by (node, time, serial).

    An event is complete at its EOE record, or as soon as it :func:`looks_complete`. Since auditd's own
    audit.log has no EOE and records of different events can interleave, an event is also complete once
    a record of a serial more than :data:`SERIAL_WINDOW` away arrives from the same node, or when more
    than :data:`MAX_OPEN` are open.
    User-space messages (USER_*, CRED_*, DAEMON_*, ...) are complete at once. :meth:`finish` completes the
    rest at the end of the file. Completed events come out in the order they completed.
    """

    def __init__(self, window: int = SERIAL_WINDOW, max_open: int = MAX_OPEN) -> None:
        self.window = window
        self.max_open = max_open
        self._open: dict[Key, list[Record]] = {}

    def add(self, record: Record) -> Iterator[list[Record]]:
        if record.serial is None:
            yield [record]
            return
        key: Key = (record.node, record.stamp, record.serial)
        pending = self._open.get(key)
        if record.type == "EOE":
            if pending is not None:
                del self._open[key]
                yield pending
            return
        if pending is not None:
            pending.append(record)
            if record.type in _COMPLETING and looks_complete(pending):
                del self._open[key]
                yield pending
            return
        yield from self._expire(record.node, record.serial)
        if is_standalone(record.type):
            yield [record]
            return
        self._open[key] = [record]
        while len(self._open) > self.max_open:
            oldest = next(iter(self._open))
            yield self._open.pop(oldest)

    def _expire(self, node: str | None, serial: int) -> Iterator[list[Record]]:
        window = self.window
        stale = [
            key
            for key in self._open
            if key[0] == node and (key[2] < serial - window or key[2] > serial + window)
        ]
        for key in stale:
            yield self._open.pop(key)

    def finish(self) -> Iterator[list[Record]]:
        while self._open:
            yield self._open.pop(next(iter(self._open)))
