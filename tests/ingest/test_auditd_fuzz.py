"""Property tests: no input makes the auditd or AUOMS readers raise; bad lines become counted errors."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shellwatch.ingest.auditd import AuditdReader
from shellwatch.ingest.auoms import AuomsReader
from shellwatch.ingest.base import ReadContext, Reader
from shellwatch.schema import unknown_fields

VALID = [
    "type=SYSCALL msg=audit(1700000000.500:7): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 "
    "a2=3 a3=0 items=1 ppid=1 pid=2 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 "
    'tty=pts0 ses=3 comm="sh" exe="/bin/sh" key=(null)\x1dARCH=x86_64 SYSCALL=execve AUID="alice"',
    'type=EXECVE msg=audit(1700000000.500:7): argc=2 a0="sh" a1_len=4 a1[0]=6162 a1[1]=6364',
    "type=CWD msg=audit(1700000000.500:7): cwd=2F746D70",
    'type=PATH msg=audit(1700000000.500:7): item=0 name="/bin/sh" mode=0100755 nametype=NORMAL',
    "type=PROCTITLE msg=audit(1700000000.500:7): proctitle=7368002D63",
    "type=SOCKADDR msg=audit(1700000000.500:7): saddr=0200115CCB0071090000000000000000",
    "type=EOE msg=audit(1700000000.500:7): ",
    "node=h type=USER_LOGIN msg=audit(1700000001.000:8): pid=1 uid=0 auid=1000 ses=1 msg='op=login "
    'acct="alice" exe="/usr/sbin/sshd" hostname=? addr=203.0.113.9 terminal=ssh res=failed\'',
    "type=AUOMS_EXECVE audit(1652292621.990:84143): node=h arch=x86_64 syscall=execve success=yes "
    'exit=0 ppid=1 pid=2 auid=4294967295 uid=1 comm="bash" exe="/bin/bash" cwd="/" '
    'path_name=["/bin/bash"] argc=2 cmdline="bash "-c x"" redactors= containerid=',
]


def run(reader: Reader, data: bytes) -> ReadContext:
    ctx = ReadContext("fuzz", reader.name)
    for event in reader.read(io.BytesIO(data), ctx):
        assert unknown_fields(event) == []
    return ctx


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    for reader in (AuditdReader(), AuomsReader()):
        ctx = run(reader, data)
        assert ctx.errors <= data.count(b"\n") + 1


@st.composite
def mutated_lines(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.sampled_from(VALID), min_size=1, max_size=12))
    out = []
    for line in lines:
        raw = line.encode()
        action = draw(st.sampled_from(["keep", "cut", "insert", "delete", "replace", "swap"]))
        if action != "keep" and raw:
            at = draw(st.integers(0, len(raw) - 1))
            if action == "cut":
                raw = raw[:at]
            elif action == "insert":
                raw = raw[:at] + draw(st.binary(min_size=1, max_size=8)) + raw[at:]
            elif action == "delete":
                raw = raw[:at] + raw[at + draw(st.integers(1, 8)) :]
            elif action == "replace":
                raw = (
                    raw[:at]
                    + draw(
                        st.sampled_from([b"=", b'"', b"'", b"{", b"[", b"\x1d", b" ", b"\x00", b"\xff", b"G"])
                    )
                    + raw[at + 1 :]
                )
            else:
                raw = raw[at:] + raw[:at]
        out.append(raw)
    return b"\n".join(out)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_lines())
def test_mutated_records_never_raise(data: bytes) -> None:
    lines = [line for line in data.split(b"\n") if line.strip() and not line.strip().startswith(b"#")]
    for reader in (AuditdReader(), AuomsReader()):
        ctx = run(reader, data)
        if reader.name == "auditd":
            assert ctx.errors <= len(lines)
            assert ctx.records + ctx.errors >= len(lines)
