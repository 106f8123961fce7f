"""Linux auditd logs: raw ``audit.log`` (RAW and ENRICHED formats, with or without ``node=``, with or
without EOE records) to ECS events, one per audit event.

Records are grouped by (node, time, serial) into events (see :class:`~._audit_records.Assembler`): an
event is complete at its EOE record, or once later serials have moved on, or at the end of the file; user
space messages (USER_*, CRED_*, DAEMON_*, ...) are complete at once. execve becomes a ``process`` /
``start`` event, connect/accept/bind with a SOCKADDR a ``network`` event, PAM and account records
``authentication`` / ``session`` / ``iam`` events, and every other record type an event of its own
(``event.action`` = the type in lower case, its fields under ``auditd.data.*``).

Lines starting with ``#`` are comments (test corpora annotate traces with them): they are skipped, not
counted as records and not errors. Blank lines are skipped too. Any other line that is not an audit
record is reported as an error (with line number, offset and text) and reading goes on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO, Final

from shellwatch.events import Event
from shellwatch.ingest._audit_ecs import build_event
from shellwatch.ingest._audit_records import Assembler, NotARecord, Record, parse_records
from shellwatch.ingest.base import ReadContext, Reader
from shellwatch.ingest.registry import register

_SNIFF: Final = re.compile(rb"^(?:node=\S+ )?type=(?!AUOMS_)[A-Z0-9_]+(?:\[\d+\])? msg=(?:audit\(\d|\?)")
_SNIFF_LINES: Final = 64


@register
class AuditdReader(Reader):
    name = "auditd"
    description = "Linux auditd audit.log (raw or ENRICHED, node= prefixes, EOE or not), grouped into events"
    priority = 20

    @classmethod
    def sniff(cls, head: bytes, path: str) -> bool:
        seen = 0
        for raw in head.splitlines()[:_SNIFF_LINES]:
            line = raw.strip()
            if not line or line.startswith(b"#"):
                continue
            seen += 1
            if _SNIFF.match(line):
                return True
            if seen >= 3:
                return False
        return False

    def read(self, stream: BinaryIO, ctx: ReadContext) -> Iterator[Event]:
        assembler = Assembler()
        host = self.options.host
        offset = 0
        for number, raw in enumerate(stream, start=1):
            line_offset = offset
            offset += len(raw)
            text = raw.rstrip(b"\r\n").decode("utf-8", "backslashreplace")
            stripped = text.strip()
            if not stripped or stripped[0] == "#":
                continue
            try:
                records = parse_records(stripped, number, line_offset)
            except NotARecord as exc:
                ctx.error(str(exc), line=number, offset=line_offset, raw=text)
                continue
            ctx.record(len(records))
            for record in records:
                for group in assembler.add(record):
                    yield build_event(group, host)
        for group in assembler.finish():
            yield build_event(group, host)


def events_of(records: list[Record], host: str | None = None) -> list[Event]:
    """The events of records already parsed (used by tests and by readers of wrapped audit records)."""
    assembler = Assembler()
    events = [build_event(group, host) for record in records for group in assembler.add(record)]
    events.extend(build_event(group, host) for group in assembler.finish())
    return events
