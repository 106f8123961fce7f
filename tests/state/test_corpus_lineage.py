"""Process lineage rebuilt from the real public auditd samples (skipped when ../shared/corpus is absent).

Each file goes through the real reader and then, event by event in file order, through a fresh
:class:`ContextStage`, as ``shellwatch scan`` does. The expected values were read off the raw records by
hand (pid, ppid, ``exe`` and serial of each SYSCALL/AUOMS_EXECVE record); where the raw data does not say
something (the executable of a pid that has no record of its own, the login that started a tree), nothing
is asserted about it.

* laurel's ``shell-proc-trace.txt``: ``( /bin/echo foo | /bin/sed ... ) | grep`` run by a script, with the
  clone records: bash 71432 forks 71505, which execs the script (``/usr/bin/dash``) and forks 71506 (a
  subshell that never execs) and 71507 (grep); 71506 forks 71508 (echo) and 71509 (sed).
  ``shell-proc-trace-reordered.txt`` holds the same records in reverse order.
* laurel's ``shell-proc-trace-confusion.txt``: pid 2655 ran ``rm`` (serial 2588684); later csh 2542 forks a
  new 2655 (2638032), which forks 2656 (2638033), which execs ``id`` (2638035); then 2655 execs ``gawk``
  (2638036). The file's own comment gives the right parent of ``id``: the csh copy (``/bin/tcsh``, ppid 2542).
* laurel's ``fork-sleep-exec.txt`` (aarch64, records in reverse order inside each event): 1578540 forks
  1578541 (6104007) and then execs ``/usr/bin/true`` with ppid 1, its parent having exited.
* laurel's ``record-syscall-nullkey.txt``: systemd 3489504, ppid 1, execs and then writes.
* OTRF's Log4Shell AUOMS export: java 1340 → ``bash -c {echo,...}|{base64,-d}|{bash,-i}`` 17790 → ``bash -i``
  17794 and ``base64 -d`` 17793; 17794 → ``bash -i`` 17806 → ``whoami`` 17832; and, out of order in the
  export, ``man`` 17833 (serial 84196, .150) after its child ``whatis`` 17834 (84197, .158).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from shellwatch.events import Event, timestamp_micros
from shellwatch.ingest._audit_records import parse_records
from shellwatch.ingest.auditd import events_of
from shellwatch.state.processes import MAX_DEPTH, HostProcesses, Proc, host_of
from shellwatch.state.stage import ContextStage
from tests.conftest import ReadEvents
from tests.state.test_children_index import assert_index_exact

pytestmark = pytest.mark.corpus

RAW_LOGS = (
    "auditd/audit-userspace/*.log",
    "auditd/go-libaudit/*.log",
    "auditd/laurel/*.txt",
    "auditd/otrf/*.log",
    "auditd/otrf/syslog_auoms_*.json",
    "auditd/plaso/audit_enriched.log",
)
LOG4SHELL = "auditd/otrf/syslog_auoms_auditd_log4shell_cve2021_44228_jndi_reference_2022-05-11181020.json"


def _raw_logs(corpus: Path) -> list[Path]:
    return sorted(path for pattern in RAW_LOGS for path in corpus.glob(pattern))


def _through_stage(events: list[Event]) -> ContextStage:
    stage = ContextStage()
    for event in events:
        stage.process(event)
    return stage


def _scan(corpus: Path, read: ReadEvents, name: str) -> tuple[list[Event], ContextStage]:
    events, issues, _ = read(corpus / name)
    assert issues == []
    return events, _through_stage(events)


def _by_serial(events: list[Event]) -> dict[int, Event]:
    return {int(str(event["event.sequence"])): event for event in events}


def _host(stage: ContextStage, event: Event) -> HostProcesses:
    return stage.processes.hosts[host_of(event)]


def _proc(stage: ContextStage, event: Event) -> Proc:
    proc = _host(stage, event).get(str(event["process.entity_id"]))
    assert proc is not None
    return proc


def _lineage(host: HostProcesses, proc: Proc) -> list[tuple[int | None, str | None]]:
    return [(item.pid, item.executable) for item in host.ancestors(proc)]


def _execs(events: list[Event]) -> list[Event]:
    return [
        event
        for event in events
        if event.get("event.action") == "executed" and event.get("event.outcome") == "success"
    ]


# --- laurel: a script's pipeline, with fork records ------------------------------------------------


def test_shell_trace_parents_and_ancestry(corpus: Path, read: ReadEvents) -> None:
    events, _ = _scan(corpus, read, "auditd/laurel/shell-proc-trace.txt")
    serial = _by_serial(events)
    script, grep, echo, sed = serial[29238], serial[29242], serial[29244], serial[29245]
    assert script["process.parent.pid"] == 71432
    assert script["process.parent.executable"] == "/usr/bin/bash"  # bash 71432's own clone record, 29237
    assert script["shellwatch.process.ancestry.pid"] == [71432, 3505]

    assert grep["process.parent.entity_id"] == script["process.entity_id"]
    assert grep["process.parent.executable"] == "/usr/bin/dash"
    assert grep["process.parent.command_line"] == "/bin/sh ./src/testdata/double-fork/test-script.sh"
    assert grep["process.parent.parent.pid"] == 71432
    assert grep["shellwatch.process.ancestry.pid"] == [71505, 71432, 3505]
    assert grep["shellwatch.process.ancestry.executable"][:2] == ["/usr/bin/dash", "/usr/bin/bash"]  # type: ignore[index]

    # echo and sed: children of the subshell 71506, a fork of the script that never execs (its clone
    # record 29241 says pid=71506 ppid=71505 exe=/usr/bin/dash)
    for event in (echo, sed):
        assert event["process.parent.pid"] == 71506
        assert event["process.parent.executable"] == "/usr/bin/dash"
        assert event["process.parent.parent.entity_id"] == script["process.entity_id"]
        assert event["shellwatch.process.ancestry.pid"] == [71506, 71505, 71432, 3505]
    assert echo["process.parent.entity_id"] == sed["process.parent.entity_id"]
    assert echo["process.parent.entity_id"] not in (script["process.entity_id"], grep["process.entity_id"])
    # No ancestor the trace shows (bash, dash) starts sessions: no entry leader is made up.
    assert not any("process.entry_leader.pid" in event for event in events)


def test_shell_trace_records_in_reverse_order_rebuild_the_same_tree(corpus: Path, read: ReadEvents) -> None:
    ordered, forward = _scan(corpus, read, "auditd/laurel/shell-proc-trace.txt")
    reordered, backward = _scan(corpus, read, "auditd/laurel/shell-proc-trace-reordered.txt")
    assert [int(str(event["event.sequence"])) for event in reordered] == list(range(29245, 29236, -1))
    checked = 0
    for event in _execs(ordered):
        expected = _lineage(_host(forward, event), _proc(forward, event))
        got = _lineage(_host(backward, event), _proc(backward, event))
        # Up to bash 71432: what lies above it (3505) only the first clone record tells, read last here.
        expected = expected[: [pid for pid, _ in expected].index(71432) + 1]
        assert got[: len(expected)] == expected, event["process.pid"]
        checked += 1
    assert checked == 4
    host = _host(backward, reordered[0])
    assert_index_exact(host)
    script = next(proc for proc in host.procs.values() if proc.pid == 71505 and not proc.forked)
    assert sorted(proc.pid for proc in host.children(script.entity_id)) == [71506, 71507]


# --- laurel: a pid used again (the "confusion" trace) ----------------------------------------------


def test_confusion_trace_parent_is_the_csh_copy_not_the_old_rm(corpus: Path, read: ReadEvents) -> None:
    events, stage = _scan(corpus, read, "auditd/laurel/shell-proc-trace-confusion.txt")
    serial = _by_serial(events)
    rm, csh, hostname, ident, gawk = (serial[key] for key in (2588684, 2637841, 2638014, 2638035, 2638036))
    assert rm["process.pid"] == gawk["process.pid"] == 2655
    assert rm["process.entity_id"] != gawk["process.entity_id"]

    assert ident["process.parent.pid"] == 2655
    assert ident["process.parent.executable"] == "/bin/tcsh"
    assert ident["process.parent.parent.pid"] == 2542
    assert ident["process.parent.parent.entity_id"] == csh["process.entity_id"]
    assert ident["shellwatch.process.ancestry.pid"] == [2655, 2542, 2532]
    assert ident["process.parent.entity_id"] not in (rm["process.entity_id"], gawk["process.entity_id"])

    assert gawk["process.parent.entity_id"] == csh["process.entity_id"]
    assert hostname["process.parent.entity_id"] == csh["process.entity_id"]
    # rm's parent was an earlier process with pid 2643, not hostname (2643 again, 0.8 s later)
    assert rm["process.parent.pid"] == 2643
    assert rm["process.parent.entity_id"] != hostname["process.entity_id"]

    host = _host(stage, ident)
    copy = host.get(str(ident["process.parent.entity_id"]))
    assert copy is not None and copy.forked
    # the copy forked 2656 (2638033, which execs id) and 2657 (2638034, no exec in the file)
    assert sorted(proc.pid for proc in host.children(copy.entity_id)) == [2656, 2657]
    assert_index_exact(host)


# --- laurel: init as parent ------------------------------------------------------------------------


def test_orphan_exec_under_init_and_its_earlier_fork(corpus: Path, read: ReadEvents) -> None:
    events, stage = _scan(corpus, read, "auditd/laurel/fork-sleep-exec.txt")
    serial = _by_serial(events)
    parent, true = serial[6104005], serial[6104008]
    assert true["process.parent.pid"] == 1  # the raw record: ppid=1, its parent had exited
    assert true["process.entry_leader.entity_id"] == true["process.entity_id"]
    assert true["process.entry_meta.type"] == "init"
    host = _host(stage, true)
    # 1578541 was forked (6104007) by 1578540 before it exec'd /usr/bin/true (6104008): it hangs under
    # the uncaring-parent image of 1578540, whose own parent is 1578539.
    assert host.children(str(true["process.entity_id"])) == []
    forked = next(proc for proc in host.procs.values() if proc.pid == 1578541)
    image = host.get(forked.parent)
    assert image is not None
    assert (image.pid, image.executable) == (1578540, "/home/user/bin/uncaring-parent")
    assert image.parent == parent["process.entity_id"]


def test_service_started_by_init_leads_its_own_entry(corpus: Path, read: ReadEvents) -> None:
    events, _ = _scan(corpus, read, "auditd/laurel/record-syscall-nullkey.txt")
    systemd, write = events[0], events[1]
    assert (systemd["event.action"], systemd["process.pid"]) == ("executed", 3489504)
    assert (write["event.action"], write["process.pid"]) == ("write", 3489504)
    for event in (systemd, write):
        assert event["process.parent.pid"] == 1
        assert event["process.entry_leader.entity_id"] == systemd["process.entity_id"]
        assert event["process.entry_leader.executable"] == "/usr/lib/systemd/systemd"
        assert event["process.entry_meta.type"] == "init"


# --- OTRF Log4Shell (AUOMS) ------------------------------------------------------------------------


def test_log4shell_reverse_shell_lineage(corpus: Path, read: ReadEvents) -> None:
    events, stage = _scan(corpus, read, LOG4SHELL)
    serial = _by_serial(events)
    bash_c, bash_i, base64, inner, whoami = (serial[key] for key in (84143, 84144, 84145, 84166, 84192))
    assert "{base64,-d}" in str(bash_c["process.command_line"])
    assert bash_c["process.parent.pid"] == 1340
    for child in (bash_i, base64):
        assert child["process.parent.pid"] == 17790
        assert child["process.parent.entity_id"] == bash_c["process.entity_id"]
        assert child["process.parent.executable"] == "/bin/bash"
        assert child["process.parent.command_line"] == bash_c["process.command_line"]
        assert child["shellwatch.process.ancestry.pid"] == [17790, 1340]
    assert inner["process.parent.entity_id"] == bash_i["process.entity_id"]
    assert whoami["process.parent.pid"] == 17806
    assert whoami["process.parent.parent.pid"] == 17794
    assert whoami["shellwatch.process.ancestry.pid"] == [17806, 17794, 17790, 1340]
    assert whoami["shellwatch.process.ancestry.entity_id"][:3] == [  # type: ignore[index]
        inner["process.entity_id"],
        bash_i["process.entity_id"],
        bash_c["process.entity_id"],
    ]
    assert whoami["shellwatch.process.ancestry.command_line"][:3] == [  # type: ignore[index]
        "bash -i",
        "bash -i",
        bash_c["process.command_line"],
    ]
    # The five failed execve calls (ENOENT) by 17790 before it ran bash start no process.
    assert sum(1 for proc in _host(stage, bash_c).procs.values() if proc.pid == 17790) == 1


def test_log4shell_records_out_of_order(corpus: Path, read: ReadEvents) -> None:
    events, stage = _scan(corpus, read, LOG4SHELL)
    serial = _by_serial(events)
    host = _host(stage, serial[84196])
    # whatis (84197, .158, ppid 17833) comes before man (84196, .150, pid 17833) in the export; once man
    # arrives, the table puts whatis under it.
    whatis, man = _proc(stage, serial[84197]), _proc(stage, serial[84196])
    assert whatis.parent == man.entity_id
    assert [proc.pid for proc in host.children(man.entity_id)] == [17834]
    # dpkg (84161, .142) arrives after dpkg-query (84165, .146), both pid 17809: the pid stays with the later
    assert serial[84161]["process.entity_id"] != serial[84165]["process.entity_id"]
    assert host.by_pid[17809] == serial[84165]["process.entity_id"]
    assert_index_exact(host)


# --- invariants over every file --------------------------------------------------------------------


def _yaml_streams(corpus: Path) -> Iterator[tuple[str, list[Event]]]:
    """go-libaudit's aucoalesce cases, each file's cases as one stream (through the auditd reader)."""
    for path in sorted((corpus / "auditd/go-libaudit").glob("aucoalesce-*.yaml")):
        cases: dict[str, Any] = yaml.safe_load(path.read_text())["tests"]
        events: list[Event] = []
        for text in cases.values():
            records = [record for line in text.splitlines() if line.strip() for record in parse_records(line)]
            events.extend(events_of(records))
        yield path.name, events


def _check_invariants(name: str, events: list[Event], stage: ContextStage) -> int:
    """Every event as the stage left it, and the tables after the whole stream; returns the starts checked."""
    starts = 0
    entity_of: dict[tuple[str, object, object], str] = {}
    for event in events:
        eid = event.get("process.entity_id")
        ancestry = event.get("shellwatch.process.ancestry.entity_id")
        if isinstance(ancestry, list):
            lengths = {
                len(value)
                for key in ("entity_id", "pid", "executable", "command_line")
                if isinstance(value := event[f"shellwatch.process.ancestry.{key}"], list)
            }
            assert len(lengths) == 1, name
            assert len(ancestry) <= MAX_DEPTH, name
            assert len(set(ancestry)) == len(ancestry), (name, "cycle", ancestry)
            assert eid not in ancestry, (name, "own ancestor", eid)
            assert ancestry[0] == event["process.parent.entity_id"], name
        if event.get("event.action") != "executed" or event.get("event.outcome") != "success":
            continue
        starts += 1
        ppid = event.get("process.parent.pid")
        pids = event.get("shellwatch.process.ancestry.pid")
        if ppid is not None and isinstance(pids, list):
            assert pids[0] == ppid, (name, "linked to another pid", event.get("event.sequence"))
        key = (host_of(event), event["process.pid"], event["@timestamp"])
        assert isinstance(eid, str), name
        entity_of.setdefault(key, eid)
    # Entity ids: one per (host, pid, start); a pid used again at another time gets another one.
    by_pid: dict[tuple[str, object], set[str]] = {}
    for (host, pid, _), eid in entity_of.items():
        by_pid.setdefault((host, pid), set()).add(eid)
    for (host, pid), eids in by_pid.items():
        starts_of_pid = [key for key in entity_of if key[:2] == (host, pid)]
        assert len(eids) == len(starts_of_pid), (name, pid)
    for host in stage.processes.hosts.values():
        assert_index_exact(host)
        for pid, eid in host.by_pid.items():
            assert host.procs[eid].pid == pid, name
        for proc in host.procs.values():
            parent = host.get(proc.parent)
            if parent is None or parent.start is None or proc.start is None:
                continue
            # a parent never started after its child
            parent_start, child_start = timestamp_micros(parent.start), timestamp_micros(proc.start)
            assert parent_start is not None and child_start is not None
            assert parent_start <= child_start, (name, parent.pid, proc.pid)
    return starts


def test_invariants_over_every_raw_log(corpus: Path, read: ReadEvents) -> None:
    paths = _raw_logs(corpus)
    assert len(paths) == 28
    starts = 0
    for path in paths:
        events, issues, _ = read(path)
        assert issues == [], path.name
        starts += _check_invariants(path.name, events, _through_stage(events))
    assert starts == 56


def test_invariants_over_the_coalesced_cases(corpus: Path) -> None:
    streams = list(_yaml_streams(corpus))
    assert len(streams) == 5
    for name, events in streams:
        assert events, name
        _check_invariants(name, events, _through_stage(events))
