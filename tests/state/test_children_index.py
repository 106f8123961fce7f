"""The children index of the process table: kept exact through inserts, adoption, eviction and state."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from shellwatch.enrich.context import ContextEnricher
from shellwatch.events import Alert, Event
from shellwatch.state.processes import HostProcesses, ProcessTable, TableSettings
from shellwatch.state.stage import ContextStage
from tests.state.test_processes import END, exec_event


def scanned_index(host: HostProcesses) -> dict[str, list[str]]:
    """What the index must hold: every process of the table with a parent, under that parent."""
    found: dict[str, list[str]] = {}
    for eid, proc in host.procs.items():
        if proc.parent is not None:
            found.setdefault(proc.parent, []).append(eid)
    return found


def assert_index_exact(host: HostProcesses) -> None:
    index = {parent: sorted(children) for parent, children in host.children_of.items()}
    assert index == {parent: sorted(children) for parent, children in scanned_index(host).items()}
    assert all(host.children_of.values()), "no empty entries"


def end_event(host: str, second: int, pid: int) -> Event:
    stamp = f"2026-11-20T02:{second // 60:02d}:{second % 60:02d}.000000Z"
    return {**END, "@timestamp": stamp, "host.name": host, "process.pid": pid}


def test_children_are_found_in_the_order_they_started() -> None:
    table = ProcessTable()
    table.observe(exec_event("h", 0, 10, 1, "/usr/sbin/sshd"))
    table.observe(exec_event("h", 1, 11, 10, "/bin/bash"))
    table.observe(exec_event("h", 2, 12, 11, "/usr/bin/id"))
    table.observe(exec_event("h", 3, 13, 11, "/usr/bin/curl"))
    table.observe({"@timestamp": "2026-11-20T02:00:04.000000Z", "host.name": "h", "process.pid": 12})  # touch
    host = table.host("h")
    bash = host.get(host.by_pid[11])
    assert bash is not None
    assert [proc.executable for proc in host.children(bash.entity_id)] == ["/usr/bin/id", "/usr/bin/curl"]
    assert_index_exact(host)


def test_eviction_removes_the_evicted_processes_from_the_index() -> None:
    table = ProcessTable(TableSettings(horizon=3600, ended_horizon=10, max_processes=5))
    table.observe(exec_event("h", 0, 100, 1, "/bin/bash"))
    bash = table.host("h").by_pid[100]
    started = []
    for number in range(20):
        table.observe(exec_event("h", 1 + number, 200 + number, 100, "/bin/true"))
        started.append(table.host("h").by_pid[200 + number])
    host = table.host("h")
    assert len(host.procs) == 5
    assert bash in host.procs  # init and the shell stay: their descendants keep starting
    assert list(host.children_of[bash]) == started[-3:]  # the 17 evicted ones are gone from the index
    assert_index_exact(host)


def test_ended_children_leave_the_index_after_the_ended_horizon() -> None:
    table = ProcessTable(TableSettings(horizon=3600, ended_horizon=10, max_processes=100))
    table.observe(exec_event("h", 0, 100, 1, "/bin/bash"))
    for pid in (101, 102, 103):
        table.observe(exec_event("h", 1, pid, 100, "/bin/true"))
        table.observe(end_event("h", 2, pid))
    host = table.host("h")
    bash_eid = host.by_pid[100]
    assert len(host.children(bash_eid)) == 3
    table.observe(exec_event("h", 30, 104, 100, "/usr/bin/id"))  # 28 s after they ended
    assert [proc.pid for proc in host.children(bash_eid)] == [104]
    assert_index_exact(host)


def test_an_evicted_parent_keeps_its_entry_while_a_child_remains() -> None:
    table = ProcessTable(TableSettings(horizon=3600, ended_horizon=10, max_processes=100))
    table.observe(exec_event("h", 0, 100, 1, "/bin/bash"))
    table.observe(exec_event("h", 1, 101, 100, "/usr/bin/sleep", "sleep 3600"))
    table.observe(end_event("h", 2, 100))  # the shell exits, its child runs on
    table.observe(exec_event("h", 30, 300, 1, "/bin/true"))
    host = table.host("h")
    assert 100 not in host.by_pid
    sleeper = host.get(host.by_pid[101])
    assert sleeper is not None and sleeper.parent is not None
    assert host.get(sleeper.parent) is None
    assert list(host.children_of[sleeper.parent]) == [sleeper.entity_id]
    table.observe(end_event("h", 40, 101))
    table.observe(exec_event("h", 60, 301, 1, "/bin/true"))
    assert sleeper.parent not in host.children_of
    assert_index_exact(host)


def test_adoption_moves_the_children_to_the_late_parent() -> None:
    table = ProcessTable()
    table.observe(exec_event("h", 5, 3001, 3000, "/usr/bin/curl"))
    table.observe(exec_event("h", 6, 3002, 3000, "/usr/bin/wget"))
    host = table.host("h")
    placeholder = host.by_pid[3000]
    assert [proc.pid for proc in host.children(placeholder)] == [3001, 3002]
    table.observe(exec_event("h", 4, 3000, 700, "/bin/bash", "bash -i"))  # earlier in time, later in the file
    bash = host.by_pid[3000]
    assert bash != placeholder
    assert placeholder not in host.procs
    assert placeholder not in host.children_of
    assert [proc.pid for proc in host.children(bash)] == [3001, 3002]
    assert_index_exact(host)


def test_the_index_is_rebuilt_from_saved_state() -> None:
    table = ProcessTable()
    table.observe(exec_event("h", 0, 10, 1, "/usr/sbin/sshd"))
    table.observe(exec_event("h", 1, 11, 10, "/bin/bash"))
    table.observe(exec_event("h", 2, 12, 11, "/usr/bin/id"))
    table.observe(exec_event("h", 3, 13, 11, "/usr/bin/sleep"))
    table.observe(end_event("h", 4, 12))
    restored = ProcessTable.from_state(json.loads(json.dumps(table.state())))
    before, after = table.host("h"), restored.host("h")
    assert after.children_of == before.children_of
    assert after.by_pid == before.by_pid
    assert list(after.ended) == list(before.ended)
    assert_index_exact(after)
    later = exec_event("h", 5, 14, 11, "/usr/bin/whoami")
    restored.observe(later)
    assert [proc.pid for proc in after.children(after.by_pid[11])] == [12, 13, 14]


def test_saved_state_without_pids_still_loads() -> None:
    table = ProcessTable()
    table.observe(exec_event("h", 0, 10, 1, "/usr/sbin/sshd"))
    table.observe(exec_event("h", 1, 11, 10, "/bin/bash"))
    state = table.state()
    for host in state["hosts"].values():
        del host["pids"]  # state saved before the pid map was kept
    restored = ProcessTable.from_state(state)
    assert restored.host("h").by_pid == table.host("h").by_pid
    assert_index_exact(restored.host("h"))


def test_the_enricher_lists_descendants_from_the_index() -> None:
    stage = ContextStage()
    for event in (
        exec_event("web", 0, 800, 1, "/usr/sbin/nginx"),
        exec_event("web", 1, 900, 800, "/usr/bin/php-fpm"),
        exec_event("web", 2, 1000, 900, "/bin/sh", "sh -c 'id; curl x | sh'"),
        exec_event("web", 3, 1001, 1000, "/usr/bin/id"),
        exec_event("web", 4, 1002, 1000, "/usr/bin/curl"),
        exec_event("web", 5, 1003, 1000, "/bin/sh"),
        exec_event("web", 6, 1004, 1003, "/usr/bin/nc"),
        exec_event("web", 7, 1100, 800, "/usr/bin/php-fpm"),  # a sibling of the alert's process
    ):
        stage.process(event)
    alert: Alert = {"host.name": "web", "process.pid": 1000, "@timestamp": "2026-11-20T02:00:02.000000Z"}
    ContextEnricher(stage).enrich(alert)
    assert alert["shellwatch.process.children.executable"] == [
        "/usr/bin/id",
        "/usr/bin/curl",
        "/bin/sh",
        "/usr/bin/nc",
    ]
    assert alert["shellwatch.process.children.pid"] == [1001, 1002, 1003, 1004]
    assert alert["shellwatch.process.children.depth"] == [1, 1, 1, 2]


_OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["start", "end", "other", "fork"]),
        st.integers(min_value=0, max_value=40),  # second
        st.integers(min_value=1, max_value=12),  # pid
        st.integers(min_value=1, max_value=12),  # ppid
    ),
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(_OPERATIONS, st.integers(min_value=2, max_value=12))
def test_the_index_mirrors_the_parents_whatever_happens(
    operations: list[tuple[str, int, int, int]], limit: int
) -> None:
    """Starts, ends, forks and other events, out of order, with pids used again and a small table."""
    table = ProcessTable(TableSettings(horizon=20, ended_horizon=5, max_processes=limit))
    for kind, second, pid, ppid in operations:
        if kind == "start":
            table.observe(exec_event("h", second, pid, ppid, f"/bin/p{pid}"))
        elif kind == "end":
            table.observe(end_event("h", second, pid))
        elif kind == "fork":
            fork = exec_event("h", second, ppid, 1, f"/bin/p{ppid}")
            fork.update(
                {"event.type": ["info"], "auditd.data.syscall": "clone", "auditd.data.exit": str(pid)}
            )
            table.observe(fork)
        else:
            table.observe({"@timestamp": exec_event("h", second, 0, 0, "")["@timestamp"], "host.name": "h",
                           "process.pid": pid, "event.category": ["network"]})  # fmt: skip
        host = table.host("h")
        assert_index_exact(host)
        assert len(host.procs) <= limit
    restored = ProcessTable.from_state(json.loads(json.dumps(table.state())))
    if "h" in table.hosts:
        assert restored.host("h").children_of == table.host("h").children_of
