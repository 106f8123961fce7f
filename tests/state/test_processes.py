"""The process table: lineage, pid reuse, missing parents, records out of order, leaders, memory."""

from __future__ import annotations

from shellwatch.events import Event
from shellwatch.state.processes import ProcessTable, TableSettings

START = {"event.category": ["process"], "event.type": ["start"]}
END = {"event.category": ["process"], "event.type": ["end"]}


def exec_event(
    host: str, second: int, pid: int, ppid: int, exe: str, cmd: str = "", **extra: object
) -> Event:
    event: Event = {
        **START,
        "@timestamp": f"2026-11-20T02:{second // 60:02d}:{second % 60:02d}.000000Z",
        "host.name": host,
        "host.os.type": "linux",
        "process.pid": pid,
        "process.parent.pid": ppid,
        "process.executable": exe,
        "process.command_line": cmd or exe,
    }
    event.update(extra)  # type: ignore[arg-type]
    return event


def test_lineage_up_to_the_root_nearest_first() -> None:
    table = ProcessTable()
    table.observe(exec_event("web01", 0, 800, 1, "/usr/sbin/nginx", "nginx: master"))
    table.observe(exec_event("web01", 1, 900, 800, "/usr/bin/php-fpm"))
    table.observe(exec_event("web01", 2, 1000, 900, "/bin/sh", "sh -c id"))
    event = exec_event("web01", 3, 1001, 1000, "/usr/bin/id", "id")
    table.observe(event)
    assert event["process.parent.executable"] == "/bin/sh"
    assert event["process.parent.command_line"] == "sh -c id"
    assert event["process.parent.parent.executable"] == "/usr/bin/php-fpm"
    assert event["process.parent.parent.pid"] == 900
    assert event["shellwatch.process.ancestry.executable"] == [
        "/bin/sh",
        "/usr/bin/php-fpm",
        "/usr/sbin/nginx",
        "/sbin/init",
    ]
    assert event["shellwatch.process.ancestry.pid"] == [1000, 900, 800, 1]
    # nginx was started by init: it leads the "session" of everything below it
    assert event["process.entry_leader.executable"] == "/usr/sbin/nginx"
    assert event["process.entry_meta.type"] == "init"


def test_reused_pid_never_joins_the_old_tree() -> None:
    table = ProcessTable()
    table.observe(exec_event("h", 0, 500, 1, "/usr/sbin/cron"))
    table.observe(exec_event("h", 1, 600, 500, "/bin/sh", "sh -c backup"))
    table.observe({**END, "@timestamp": "2026-11-20T02:00:02.000000Z", "host.name": "h", "process.pid": 600})
    table.observe(exec_event("h", 3, 700, 1, "/usr/sbin/sshd"))
    table.observe(exec_event("h", 4, 600, 700, "/bin/bash", "-bash"))  # pid 600 again, another process
    child = exec_event("h", 5, 601, 600, "/usr/bin/whoami")
    table.observe(child)
    assert child["process.parent.executable"] == "/bin/bash"
    assert child["process.parent.parent.executable"] == "/usr/sbin/sshd"
    assert child["process.entry_meta.type"] == "sshd"
    assert child["process.entry_leader.executable"] == "/bin/bash"


def test_hosts_are_separate() -> None:
    table = ProcessTable()
    table.observe(exec_event("a", 0, 100, 1, "/usr/sbin/apache2"))
    event = exec_event("b", 1, 101, 100, "/bin/sh")
    table.observe(event)
    assert "process.parent.executable" not in event  # pid 100 on host b is unknown
    assert len(table.hosts) == 2


def test_process_started_before_the_log_keeps_what_the_event_says() -> None:
    table = ProcessTable()
    first = exec_event("h", 0, 2001, 2000, "/bin/ls", **{"process.parent.executable": "/usr/bin/bash"})
    table.observe(first)
    second = exec_event("h", 1, 2002, 2000, "/bin/cat")
    table.observe(second)
    assert second["process.parent.executable"] == "/usr/bin/bash"
    assert second["process.parent.pid"] == 2000


def test_a_parent_that_arrives_after_its_child_is_adopted() -> None:
    table = ProcessTable()
    child = exec_event("h", 5, 3001, 3000, "/usr/bin/curl")
    table.observe(child)
    table.observe(exec_event("h", 4, 3000, 700, "/bin/bash", "bash -i"))  # earlier in time, later in the file
    later = {"@timestamp": "2026-11-20T02:00:06.000000Z", "host.name": "h", "process.pid": 3001}
    table.observe(later)
    assert later["process.parent.executable"] == "/bin/bash"


def test_events_without_a_start_get_the_context_of_their_process() -> None:
    table = ProcessTable()
    table.observe(exec_event("h", 0, 10, 1, "/usr/sbin/sshd"))
    table.observe(
        exec_event("h", 1, 11, 10, "/bin/bash", **{"process.tty.name": "pts/0", "process.interactive": True})
    )
    table.observe(exec_event("h", 2, 12, 11, "/usr/bin/nc", "nc 203.0.113.9 4444"))
    connect: Event = {
        "event.category": ["network"],
        "@timestamp": "2026-11-20T02:00:03.000000Z",
        "host.name": "h",
        "process.pid": 12,
        "destination.ip": "203.0.113.9",
    }
    table.observe(connect)
    assert connect["process.parent.executable"] == "/bin/bash"
    assert connect["process.interactive"] is True  # inherited from the login shell
    assert connect["process.tty.name"] == "pts/0"


def test_windows_guids_link_parent_and_child() -> None:
    table = ProcessTable()
    table.observe(
        {
            **START,
            "host.name": "ws07",
            "host.os.type": "windows",
            "process.entity_id": "G-WORD",
            "process.pid": 4000,
            "process.executable": "C:\\Program Files\\Microsoft Office\\WINWORD.EXE",
            "process.parent.entity_id": "G-EXPLORER",
            "process.parent.executable": "C:\\Windows\\explorer.exe",
        }
    )
    cmd: Event = {
        **START,
        "host.name": "ws07",
        "host.os.type": "windows",
        "process.entity_id": "G-CMD",
        "process.pid": 4100,
        "process.executable": "C:\\Windows\\System32\\cmd.exe",
        "process.parent.entity_id": "G-WORD",
        "process.parent.pid": 4000,
    }
    table.observe(cmd)
    assert cmd["process.parent.executable"].endswith("WINWORD.EXE")  # type: ignore[union-attr]
    assert cmd["process.parent.parent.executable"] == "C:\\Windows\\explorer.exe"
    assert cmd["process.entry_meta.type"] == "console"


def test_scheduled_task_entry() -> None:
    table = ProcessTable()
    table.observe(
        {
            **START,
            "host.name": "srv",
            "process.entity_id": "SVC",
            "process.pid": 900,
            "process.executable": "C:\\Windows\\System32\\svchost.exe",
            "process.command_line": "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
        }
    )
    task: Event = {**START, "host.name": "srv", "process.entity_id": "T", "process.pid": 901}
    task.update({"process.executable": "C:\\Windows\\System32\\cmd.exe", "process.parent.entity_id": "SVC"})
    table.observe(task)
    assert task["process.entry_meta.type"] == "scheduled-task"


def test_memory_is_bounded_and_ended_processes_go() -> None:
    settings = TableSettings(horizon=3600, ended_horizon=10, max_processes=100)
    table = ProcessTable(settings)
    for number in range(1000):
        table.observe(exec_event("h", number % 3000, 10_000 + number, 1, "/bin/true"))
    assert len(table) <= 101  # the placeholder for init plus at most 100
    table.observe(exec_event("h", 0, 5, 1, "/bin/sleep"))
    table.observe({**END, "@timestamp": "2026-11-20T02:00:01.000000Z", "host.name": "h", "process.pid": 5})
    table.observe(exec_event("h", 50, 6, 1, "/bin/true"))
    assert "5" not in {str(proc.pid) for proc in table.host("h").procs.values()}


def test_state_round_trip() -> None:
    table = ProcessTable()
    table.observe(exec_event("h", 0, 10, 1, "/usr/sbin/sshd"))
    table.observe(exec_event("h", 1, 11, 10, "/bin/bash"))
    restored = ProcessTable.from_state(table.state())
    event = exec_event("h", 2, 12, 11, "/usr/bin/id")
    restored.observe(event)
    assert event["process.parent.parent.executable"] == "/usr/sbin/sshd"


def fork_event(host: str, second: int, pid: int, ppid: int, exe: str, child: int, **extra: object) -> Event:
    """An auditd ``clone`` record of ``pid`` (as the auditd reader maps it) whose result is ``child``."""
    event = exec_event(host, second, pid, ppid, exe)
    del event["process.command_line"]
    event.update(
        {
            "event.action": "forked",
            "event.type": ["info"],
            "event.outcome": "success",
            "auditd.data.syscall": "clone",
            "auditd.data.a0": "1200011",
            "auditd.data.exit": str(child),
        }
    )
    event.update(extra)  # type: ignore[arg-type]
    return event


def test_a_failed_exec_is_not_a_start() -> None:
    table = ProcessTable()
    table.observe(exec_event("h", 0, 50, 1, "/usr/bin/java", "java -jar app.jar"))
    failed = exec_event("h", 1, 50, 1, "/usr/bin/java", **{"event.outcome": "failure"})
    table.observe(failed)  # a PATH search: execve("/usr/local/bin/bash") -> ENOENT, by java
    child = exec_event("h", 2, 51, 50, "/bin/sh")
    table.observe(child)
    assert child["process.parent.command_line"] == "java -jar app.jar"
    assert len(table.host("h").procs) == 3  # init, java, sh


def test_systemd_unit_records_neither_start_nor_end_pid_1() -> None:
    table = ProcessTable()
    service: Event = {
        "@timestamp": "2026-11-20T02:00:00.000000Z",
        "host.name": "h",
        "host.os.type": "linux",
        "event.category": ["process"],
        "process.pid": 1,
        "process.executable": "/usr/lib/systemd/systemd",
    }
    table.observe({**service, "event.type": ["start"], "event.action": "service_start"})
    table.observe({**service, "event.type": ["end"], "event.action": "service_stop"})
    later = exec_event("h", 400, 900, 1, "/usr/sbin/cron")
    table.observe(later)
    assert later["process.entry_meta.type"] == "init"
    assert [proc.ended for proc in table.host("h").procs.values()] == [None, None]


def test_a_fork_record_adds_a_copy_of_its_parent_under_the_reused_pid() -> None:
    """laurel's confusion case: pid 2655 ran rm earlier; now csh forks 2655, which forks 2656 -> id."""
    table = ProcessTable()
    table.observe(exec_event("h", 0, 2655, 2643, "/usr/bin/rm", "rm -f /tmp/x"))
    table.observe(exec_event("h", 10, 2542, 2532, "/bin/tcsh", "-csh -c /tmp/job.csh"))
    table.observe(fork_event("h", 11, 2542, 2532, "/bin/tcsh", child=2655))
    table.observe(fork_event("h", 11, 2655, 2542, "/bin/tcsh", child=2656))
    ident = exec_event("h", 11, 2656, 2655, "/usr/bin/id", "id")
    table.observe(ident)
    awk = exec_event("h", 11, 2655, 2542, "/usr/bin/gawk", "awk -F) {print $1}")
    table.observe(awk)
    assert ident["process.parent.executable"] == "/bin/tcsh"
    assert ident["process.parent.command_line"] == "-csh -c /tmp/job.csh"
    assert ident["shellwatch.process.ancestry.pid"] == [2655, 2542, 2532]
    host = table.host("h")
    rm = next(proc for proc in host.procs.values() if proc.executable == "/usr/bin/rm")
    assert ident["process.parent.entity_id"] not in (rm.entity_id, host.by_pid[2655])
    assert awk["process.parent.pid"] == 2542
    copy = host.get(str(ident["process.parent.entity_id"]))
    assert (
        copy is not None and copy.forked and [child.pid for child in host.children(copy.entity_id)] == [2656]
    )


def test_an_exec_replaces_the_fork_copy_that_started_nothing() -> None:
    table = ProcessTable()
    table.observe(exec_event("h", 0, 10, 1, "/bin/bash", "-bash"))
    table.observe(fork_event("h", 1, 10, 1, "/bin/bash", child=11))
    host = table.host("h")
    copy = host.get(host.by_pid[11])
    assert copy is not None and copy.forked and copy.executable == "/bin/bash"
    grep = exec_event("h", 1, 11, 10, "/usr/bin/grep", "grep x")
    table.observe(grep)
    assert copy.entity_id not in host.procs
    assert [proc.executable for proc in host.children(host.by_pid[10])] == ["/usr/bin/grep"]
    assert grep["process.parent.executable"] == "/bin/bash"


def test_a_fork_by_a_process_started_before_the_log_keeps_what_the_record_says() -> None:
    table = ProcessTable()
    table.observe(fork_event("h", 0, 71432, 3505, "/usr/bin/bash", child=71505))
    script = exec_event("h", 0, 71505, 71432, "/usr/bin/dash", "/bin/sh ./script.sh")
    table.observe(script)
    assert script["process.parent.executable"] == "/usr/bin/bash"
    assert script["shellwatch.process.ancestry.pid"] == [71432, 3505]


def test_threads_are_not_processes() -> None:
    table = ProcessTable()
    table.observe(exec_event("h", 0, 10, 1, "/usr/bin/java"))
    table.observe(fork_event("h", 1, 10, 1, "/usr/bin/java", child=11, **{"auditd.data.a0": "3d0f00"}))
    assert 11 not in table.host("h").by_pid


def test_a_start_that_arrives_late_does_not_take_the_pid_from_a_later_one() -> None:
    table = ProcessTable()
    table.observe(exec_event("h", 6, 17809, 2813, "/usr/bin/dpkg-query", "dpkg-query --search -- /bin/bash"))
    table.observe(exec_event("h", 5, 17809, 2813, "/usr/bin/dpkg", "/usr/bin/dpkg -S /bin/bash"))
    host = table.host("h")
    current = host.get(host.by_pid[17809])
    assert current is not None and current.executable == "/usr/bin/dpkg-query"


def test_a_quiet_parent_outlives_the_commands_it_runs() -> None:
    table = ProcessTable(TableSettings(horizon=3600, ended_horizon=10, max_processes=10))
    table.observe(exec_event("h", 0, 10, 1, "/usr/sbin/sshd"))
    table.observe(exec_event("h", 1, 11, 10, "/bin/bash"))
    for number in range(100):
        table.observe(exec_event("h", 2 + number, 1000 + number, 11, "/bin/true"))
    last = exec_event("h", 200, 2000, 11, "/usr/bin/id")
    table.observe(last)
    assert last["shellwatch.process.ancestry.executable"] == ["/bin/bash", "/usr/sbin/sshd", "/sbin/init"]


def test_the_ended_queue_is_bounded_when_event_time_stalls() -> None:
    """Without timestamps (or with a burst of exits inside ``ended_horizon``) nothing ends by time."""
    table = ProcessTable(TableSettings(max_processes=100))
    for stamp in (None, "2026-11-20T02:00:00.000000Z"):
        for pid in range(1000, 6000):
            start = exec_event("h", 0, pid, 1, "/bin/true")
            end: Event = {**END, "host.name": "h", "process.pid": pid}
            if stamp is None:
                del start["@timestamp"]
            else:
                end["@timestamp"] = stamp
            table.observe(start)
            table.observe(end)
            table.observe(end)  # some sources log an exit twice
        host = table.host("h")
        assert len(host.procs) <= 100
        assert len(host.ended) <= 2 * 100
        assert len(host.by_pid) <= 100
        assert sum(len(children) for children in host.children_of.values()) <= 100
