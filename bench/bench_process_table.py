"""Memory of the process table under a long stream: does it stay flat once the horizons are reached?

    .venv/bin/python bench/bench_process_table.py [--events 10000000] [--hosts 1000] [--every 1000000]
        [--step 1.0] [--lost-ends 0.0] [--table-only] [--tracemalloc]

Synthetic process events go through :class:`ContextStage` (or, with ``--table-only``, straight into
:class:`ProcessTable`) with the default :class:`TableSettings`. Every ``--every`` events the script prints the
table sizes (processes, pids, children index, ended queue), the peak and current RSS and the event rate,
and at the end a Markdown table for docs/benchmarks.md. ``--tracemalloc`` adds the bytes Python has
allocated (and slows the run about threefold): it tells growth of live objects from the allocator's.

The events are shaped like the auditd reader's ``execve`` events (``_audit_ecs.build_event``): host, pid,
ppid, executable, name, argv, command line, working directory, user and session ids, tty, a 24-hex-digit
entity id, ``event.category: [process]``, ``event.type: [start]``. Ends are process-exit records of the same
process (``event.type: [end]``, pid and entity id), as Sysmon 5, eslogger ``exit`` or an auditd
``exit_group`` rule give them. Each host has an sshd started by init and three login sessions (sshd →
bash) that are replaced every ``SESSION_LIFE`` of its events; the shells run commands, a fifth of them
pipelines under ``sh -c``. A command ends ``LAG`` of the host's events after it started, except a
``--lost-ends`` fraction whose end never comes (a source without exit records is ``--lost-ends 1``). The
hosts take turns, and each host's clock advances ``--step`` seconds per event of its own.

Strings a reader makes fresh for every event (executable, arguments, command line, ids, timestamps) are
fresh here too, so the table's memory per process is what a real stream costs; only the fixed values
(host name, user, category lists) are shared.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import resource
import time
import tracemalloc
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shellwatch.events import Event
from shellwatch.state.processes import ProcessTable, TableSettings
from shellwatch.state.stage import ContextStage

EPOCH_START = 1_795_132_800  # 2026-11-20T00:00:00Z
PID_MAX = 32_768
"""Linux's default ``kernel.pid_max``: pids wrap and are used again."""
SESSIONS = 3
SESSION_LIFE = 2_000
"""A login session is replaced after this many of its host's events."""
LAG = 12
"""A command ends this many of its host's events after it started."""
PIPELINE_SHARE = 0.2

COMMANDS: list[tuple[bytes, list[bytes]]] = [
    (b"/usr/bin/ls", [b"ls", b"-la", b"/var/log"]),
    (b"/usr/bin/grep", [b"grep", b"-c", b"error", b"/var/log/syslog"]),
    (b"/usr/bin/cat", [b"cat", b"/etc/os-release"]),
    (b"/usr/bin/ps", [b"ps", b"aux"]),
    (b"/usr/bin/curl", [b"curl", b"-s", b"http://169.254.169.254/latest/meta-data/"]),
    (b"/usr/bin/python3", [b"python3", b"/opt/app/healthcheck.py", b"--quiet"]),
    (b"/usr/bin/id", [b"id"]),
    (b"/usr/bin/uname", [b"uname", b"-a"]),
    (b"/usr/bin/df", [b"df", b"-h"]),
    (b"/usr/bin/find", [b"find", b"/tmp", b"-mtime", b"+7", b"-type", b"f"]),
    (b"/usr/bin/tar", [b"tar", b"czf", b"/backup/etc.tgz", b"/etc"]),
    (b"/usr/bin/git", [b"git", b"-C", b"/srv/app", b"pull", b"--ff-only"]),
    (b"/usr/bin/sudo", [b"sudo", b"systemctl", b"status", b"nginx"]),
    (b"/usr/bin/date", [b"date", b"+%s"]),
    (b"/usr/bin/sleep", [b"sleep", b"1"]),
    (b"/usr/bin/ssh", [b"ssh", b"backup01", b"uptime"]),
    (b"/usr/bin/vim.basic", [b"vim", b"/etc/nginx/nginx.conf"]),
    (b"/usr/bin/journalctl", [b"journalctl", b"-u", b"nginx", b"--since", b"-1h"]),
]
PIPES: list[tuple[tuple[bytes, list[bytes]], tuple[bytes, list[bytes]]]] = [
    ((b"/usr/bin/ps", [b"ps", b"aux"]), (b"/usr/bin/grep", [b"grep", b"nginx"])),
    ((b"/usr/bin/cat", [b"cat", b"/var/log/auth.log"]), (b"/usr/bin/wc", [b"wc", b"-l"])),
    ((b"/usr/bin/du", [b"du", b"-sh", b"/var"]), (b"/usr/bin/sort", [b"sort", b"-h"])),
]
SH = (b"/usr/bin/dash", [b"sh", b"-c"])
SSHD = (b"/usr/sbin/sshd", [b"/usr/sbin/sshd", b"-D"])
SSHD_SESSION = (b"/usr/sbin/sshd", [b"sshd:", b"deploy", b"[priv]"])
BASH = (b"/usr/bin/bash", [b"-bash"])

Image = tuple[bytes, list[bytes]]
Planned = tuple[str, int, int, Image | None, str]
"""(``start`` or ``end``, pid, ppid, image, audit session id) of one event to come."""


@dataclass
class Host:
    name: str
    number: int
    pid: int = 1_000
    visits: int = 0
    rotate_at: int = SESSION_LIFE
    sessions: list[tuple[int, int]] = field(default_factory=list)
    """(sshd session pid, login shell pid) of each open login."""
    sshd: int = 0
    plan: deque[Planned] = field(default_factory=deque)
    pending: deque[int] = field(default_factory=deque)
    """Pids of running commands, oldest first, whose exit record will come."""
    entity: dict[int, str] = field(default_factory=dict)
    """pid → entity id of its current process (what an exit record of the pid names)."""
    serial: int = 0


class Generator:
    """Cheap synthetic events (see the module docstring)."""

    def __init__(self, hosts: int, step: float, lost_ends: float, seed: int) -> None:
        self.hosts = [Host(f"srv-{number:04d}.prod.example.net", number) for number in range(hosts)]
        self.step_us = step * 1_000_000 / hosts
        self.lost_ends = lost_ends
        self.random = random.Random(seed)
        self.count = 0
        self._second = -1
        self._prefix = ""
        self._start_template: Event = {
            "event.kind": "event",
            "event.module": "auditd",
            "event.dataset": "auditd.log",
            "host.os.type": "linux",
            "event.code": "SYSCALL",
            "auditd.record_types": ["SYSCALL", "EXECVE", "CWD", "PATH", "PATH", "PROCTITLE"],
            "user.id": "1001",
            "user.name": "deploy",
            "user.effective.id": "1001",
            "process.real_user.id": "1001",
            "event.outcome": "success",
            "auditd.data.syscall": "execve",
            "auditd.data.arch": "x86_64",
            "event.action": "executed",
            "event.category": ["process"],
            "event.type": ["start"],
            "shellwatch.log.format": "auditd",
        }
        self._end_template: Event = {
            "event.kind": "event",
            "host.os.type": "linux",
            "event.action": "exited",
            "event.outcome": "success",
            "event.category": ["process"],
            "event.type": ["end"],
        }

    def _timestamp(self) -> str:
        micros = int(self.count * self.step_us)
        second, fraction = divmod(micros, 1_000_000)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(EPOCH_START + second))
        return f"{self._prefix}.{fraction // 1000 * 1000:06d}Z"

    def next(self) -> Event:
        host = self.hosts[self.count % len(self.hosts)]
        host.visits += 1
        if not host.plan:
            self._plan(host)
        kind, pid, ppid, image, session = host.plan.popleft()
        stamp = self._timestamp()
        self.count += 1
        host.serial += 1
        if kind == "end":
            event = self._end_template.copy()
            event["@timestamp"] = stamp
            event["host.name"] = host.name
            event["process.pid"] = pid
            event["process.entity_id"] = host.entity.pop(pid, f"{host.number:04x}{pid:08x}{0:012x}")
            return event
        assert image is not None
        executable, argv = image
        args = [item.decode() for item in argv]
        eid = f"{host.number:04x}{pid:08x}{host.serial:012x}"
        host.entity[pid] = eid
        event = self._start_template.copy()
        event["@timestamp"] = stamp
        event["event.sequence"] = host.serial
        event["host.name"] = host.name
        event["process.pid"] = pid
        event["process.parent.pid"] = ppid
        event["process.executable"] = exe = executable.decode()
        event["process.name"] = exe.rsplit("/", 1)[-1]
        event["process.args"] = args
        event["process.args_count"] = len(args)
        event["process.command_line"] = " ".join(args)
        event["process.title"] = event["process.command_line"]
        event["process.working_directory"] = "/home/deploy"
        event["auditd.session"] = session
        if session != "4294967295":
            event["process.tty.name"] = "pts0"
            event["process.interactive"] = True
        event["process.entity_id"] = eid
        return event

    def _new_pid(self, host: Host) -> int:
        host.pid += 1 + int(self.random.random() * 3)
        if host.pid >= PID_MAX:
            host.pid = 300 + host.pid - PID_MAX
        return host.pid

    def _plan(self, host: Host) -> None:
        """The host's next events: boot, a session change, an end that is due, or a command."""
        plan, pending = host.plan, host.pending
        if host.sshd == 0:
            host.sshd = self._new_pid(host)
            plan.append(("start", host.sshd, 1, SSHD, "4294967295"))
            for _ in range(SESSIONS):
                self._session(host)
            return
        if host.visits >= host.rotate_at:
            host.rotate_at += SESSION_LIFE
            session_pid, shell = host.sessions.pop(0)
            plan.append(("end", shell, 0, None, ""))
            plan.append(("end", session_pid, 0, None, ""))
            self._session(host)
            return
        if len(pending) >= LAG:
            plan.append(("end", pending.popleft(), 0, None, ""))
            return
        shell = host.sessions[host.visits % len(host.sessions)][1]
        session = str(1000 + shell % 97)
        if self.random.random() < PIPELINE_SHARE:
            left, right = PIPES[int(self.random.random() * len(PIPES))]
            sh = self._new_pid(host)
            line = b" ".join(left[1]) + b" | " + b" ".join(right[1])
            self._command(host, ("start", sh, shell, (SH[0], [*SH[1], line]), session))
            self._command(host, ("start", self._new_pid(host), sh, left, session))
            self._command(host, ("start", self._new_pid(host), sh, right, session))
        else:
            image = COMMANDS[int(self.random.random() * len(COMMANDS))]
            self._command(host, ("start", self._new_pid(host), shell, image, session))

    def _command(self, host: Host, planned: Planned) -> None:
        host.plan.append(planned)
        if self.random.random() >= self.lost_ends:
            host.pending.append(planned[1])

    def _session(self, host: Host) -> None:
        session_pid = self._new_pid(host)
        shell = self._new_pid(host)
        session = str(1000 + shell % 97)
        host.plan.append(("start", session_pid, host.sshd, SSHD_SESSION, session))
        host.plan.append(("start", shell, session_pid, BASH, session))
        host.sessions.append((session_pid, shell))


def _rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        resident = int(handle.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _sizes(table: ProcessTable) -> tuple[int, int, int, int]:
    hosts = table.hosts.values()
    return (
        sum(len(host.procs) for host in hosts),
        sum(len(host.by_pid) for host in hosts),
        sum(len(children) for host in hosts for children in host.children_of.values()),
        sum(len(host.ended) for host in hosts),
    )


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    generator = Generator(args.hosts, args.step, args.lost_ends, args.seed)
    stage = ContextStage()
    table = stage.processes
    feed: Callable[[Event], object] = table.observe if args.table_only else stage.process
    settings = TableSettings()
    print(
        f"{args.events:,} events, {args.hosts:,} hosts, step {args.step} s, lost ends {args.lost_ends}, "
        f"{'ProcessTable.observe' if args.table_only else 'ContextStage.process'}; "
        f"horizon {settings.horizon:.0f} s, ended_horizon {settings.ended_horizon:.0f} s, "
        f"max_processes {settings.max_processes:,}"
    )
    rows: list[dict[str, Any]] = []
    started = last = time.perf_counter()
    done = 0
    while done < args.events:
        chunk = min(args.every, args.events - done)
        for _ in range(chunk):
            feed(generator.next())
        done += chunk
        now = time.perf_counter()
        procs, pids, children, ended = _sizes(table)
        row = {
            "events": done,
            "event_time_h": generator.count * generator.step_us / 3.6e9,
            "procs": procs,
            "pids": pids,
            "children": children,
            "ended": ended,
            "peak_mib": _peak_mib(),
            "rss_mib": _rss_mib(),
            "rate": chunk / (now - last),
            "traced_mib": tracemalloc.get_traced_memory()[0] / 2**20 if tracemalloc.is_tracing() else None,
        }
        rows.append(row)
        print(
            f"{done:>11,} events  {row['event_time_h']:6.2f} h  procs {procs:>9,}  pids {pids:>9,}  "
            f"children {children:>9,}  ended {ended:>8,}  peak {row['peak_mib']:8.1f} MiB  "
            f"rss {row['rss_mib']:8.1f} MiB  {row['rate']:9,.0f} ev/s"
            + (f"  traced {row['traced_mib']:8.1f} MiB" if row["traced_mib"] is not None else ""),
            flush=True,
        )
        last = now
    total = time.perf_counter() - started
    print(f"\n{args.events:,} events in {total:.1f} s: {args.events / total:,.0f} events/s overall\n")
    return rows


def measure_generator(hosts: int, count: int) -> float:
    """Seconds per event the generator alone takes (included in the rates; printed for reference)."""
    generator = Generator(hosts, 1.0, 0.0, 1)
    start = time.perf_counter()
    for _ in range(count):
        generator.next()
    return (time.perf_counter() - start) / count


def markdown(rows: list[dict[str, Any]]) -> str:
    traced = bool(rows) and rows[0]["traced_mib"] is not None
    lines = [
        "| events | event time | processes | pids | children index | ended queue | peak RSS | RSS "
        + ("| traced " if traced else "")
        + "| events/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if traced else ""),
    ]
    for row in rows:
        lines.append(
            f"| {row['events']:,} | {row['event_time_h']:.1f} h | {row['procs']:,} | {row['pids']:,} "
            f"| {row['children']:,} | {row['ended']:,} | {row['peak_mib']:.0f} MiB "
            f"| {row['rss_mib']:.0f} MiB "
            + (f"| {row['traced_mib']:.0f} MiB " if traced else "")
            + f"| {row['rate']:,.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--hosts", type=int, default=1_000)
    parser.add_argument("--every", type=int, default=1_000_000, help="report every N events")
    parser.add_argument("--step", type=float, default=1.0, help="seconds of a host's clock per event of it")
    parser.add_argument("--lost-ends", type=float, default=0.0, help="share of commands that never end")
    parser.add_argument("--table-only", action="store_true", help="ProcessTable.observe, not ContextStage")
    parser.add_argument("--tracemalloc", action="store_true", help="also report the bytes Python allocated")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    per_event = measure_generator(args.hosts, 100_000)
    print(f"generator alone: {per_event * 1e6:.2f} µs/event (included in the rates below)")
    gc.collect()
    if args.tracemalloc:
        tracemalloc.start()
    rows = run(args)
    print(markdown(rows))


if __name__ == "__main__":
    main()
