# ruff: noqa: E501  (log lines are long)
"""Property tests: arbitrary bytes and mutated syslog lines never raise out of the syslog or journald reader."""

from __future__ import annotations

import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shellwatch.events import Event
from shellwatch.ingest._auth_messages import normalize
from shellwatch.ingest.base import ReadContext, ReaderOptions
from shellwatch.ingest.journald import JournaldReader
from shellwatch.ingest.syslog import SyslogReader
from shellwatch.schema import unknown_fields

VALID = [
    b"Jan  5 10:00:03 web01 sshd[4100]: Failed password for invalid user admin from 203.0.113.50 port 40100 ssh2",
    b"Jan  5 10:01:02 web01 sshd[4110]: Accepted publickey for alice from 2001:db8::1 port 1 ssh2: RSA SHA256:x",
    b"Jan  5 10:01:30 web01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash -c id",
    b"Jan  5 10:02:00 web01 su[4200]: pam_unix(su:session): session opened for user root by alice(uid=1000)",
    b'Jan  5 10:05:01 web01 CRON[4400]: (root) CMD (/bin/sh -c \'echo "x")',
    b"Jan  5 10:00:15 web01 sshd[4102]: message repeated 2 times: [ Failed password for root from 203.0.113.50 port 1 ssh2]",
    b'<86>1 2024-01-05T10:11:13Z web02 sudo - AUTH [origin ip="198.51.100.1"][m a="\\]"] bob : USER=root ; COMMAND=/x',
    b"2024-01-05T10:11:12.123456+01:00 web02 sshd[1]: Invalid user x from 203.0.113.1 port 2",
    b"Nov 18 01:15:43: --- last message repeated 5 times ---",
]


def _read_syslog(data: bytes) -> int:
    ctx = ReadContext("fuzz", "syslog", ReaderOptions(), None, 1_700_000_000.0)
    events = list(SyslogReader(ReaderOptions()).read(io.BytesIO(data), ctx))
    for event in events:
        assert unknown_fields(event) == []
    return len(events)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    _read_syslog(data)
    ctx = ReadContext("fuzz", "journald")
    list(JournaldReader().read(io.BytesIO(data), ctx))


@st.composite
def mutated_lines(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.sampled_from(VALID), min_size=1, max_size=6))
    out = []
    for line in lines:
        buffer = bytearray(line)
        for _ in range(draw(st.integers(0, 4))):
            position = draw(st.integers(0, len(buffer)))
            action = draw(st.sampled_from(["insert", "delete", "replace", "truncate"]))
            byte = draw(st.integers(0, 255))
            if action == "insert":
                buffer.insert(position, byte)
            elif action == "truncate":
                del buffer[position:]
            elif position < len(buffer):
                if action == "delete":
                    del buffer[position]
                else:
                    buffer[position] = byte
        out.append(bytes(buffer))
    return b"\n".join(out) + b"\n"


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_lines())
def test_mutated_lines_never_raise(data: bytes) -> None:
    _read_syslog(data)


@settings(max_examples=300)
@given(
    st.sampled_from(["sshd", "sudo", "su", "CRON", "useradd", "login", "systemd-logind", "x(pam_unix)"]),
    st.text(),
)
def test_normalize_never_raises(program: str, message: str) -> None:
    event: Event = {}
    assert normalize(event, program, message) >= 1


@settings(max_examples=200)
@given(
    st.dictionaries(
        st.sampled_from(
            ["MESSAGE", "__REALTIME_TIMESTAMP", "_PID", "SYSLOG_IDENTIFIER", "PRIORITY", "_HOSTNAME"]
        ),
        st.one_of(st.text(), st.integers(), st.lists(st.integers(-5, 300)), st.none(), st.lists(st.text())),
    )
)
def test_journald_odd_values_never_raise(record: dict[str, object]) -> None:
    ctx = ReadContext("fuzz", "journald")
    events = list(JournaldReader().read(io.BytesIO(json.dumps(record).encode() + b"\n"), ctx))
    assert len(events) >= 1
    for event in events:
        assert unknown_fields(event) == []
