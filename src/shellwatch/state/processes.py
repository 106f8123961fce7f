"""The process table of each host: lineage, session and entry leaders, rebuilt from process events.

Every process event of a host goes through :meth:`HostProcesses.observe` in time order. A process start
(an exec: Sysmon 1, 4688, auditd ``execve``, eslogger ``exec``, osquery ``process_events``) adds a
:class:`Proc` keyed by ``process.entity_id``, so a pid used again later never joins the wrong tree; the pid
points at its newest process. Any other event of a known pid or entity (a connection, a file write) is
given the same context without changing the table. A pid the table has never seen (a process started
before the log began) gets a placeholder from what the event tells of it, so that its children still link.

Not every "start" starts a process: an exec that failed (``event.outcome: failure``, a shell's ``PATH``
search) leaves the caller as it was, and systemd's ``SERVICE_START``/``SERVICE_STOP`` records are pid 1
speaking of a unit, so neither adds or ends a process. An auditd ``clone``/``fork``/``vfork`` record (the
syscall's result is the child's pid) adds the child as a copy of its parent, with its own entity id: what
the child starts before it execs hangs under that copy, not under an older process that had the pid
(laurel's ``shell-proc-trace-confusion`` trace). When the child execs and has started nothing yet, the
exec takes the copy's place. Records out of order keep the pid pointing at its latest start.

The event is then filled, where its source left the fields empty:

* ``process.parent.*`` and ``process.parent.parent.*`` (the grandparent) from the table;
* ``shellwatch.process.ancestry.{executable,command_line,pid,entity_id}``: parallel lists, nearest first,
  up to :data:`MAX_DEPTH` ancestors;
* ``process.entry_leader.*`` and ``process.entry_meta.type`` in Elastic's sense: the first process of a
  remote or terminal session (the child of ``sshd``, ``login``, a terminal) or a service started directly
  by init, cron, the Windows service control manager or the task scheduler (see :data:`ENTRY_SOURCES`);
* ``process.session_leader.*``: the oldest ancestor in the same login session (audit ``ses``, Windows
  logon id, macOS audit session), or the entry leader when the source has no session ids;
* ``process.interactive`` and ``process.tty.name`` inherited from the parent when the event lacks them.

Each host also keeps a children index (:attr:`HostProcesses.children_of`: parent entity id → the entity ids
of the processes in the table whose ``parent`` it is), kept in step with every insert, adoption and
eviction, so that the processes a process started are found without scanning the table.

Memory is bounded: processes that ended are dropped after ``ended_horizon`` of event time, every process
not seen for ``horizon`` is dropped, and a host keeps at most ``max_processes`` (least recently seen go
first; a process counts as seen when one of its descendants starts, so that a quiet shell or daemon is not
dropped before the short-lived commands it runs). The table is plain data: :meth:`ProcessTable.state`
and :meth:`ProcessTable.from_state` save and restore it between runs of a live source.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Final

from shellwatch.events import Event, basename, entity_id, timestamp_micros
from shellwatch.state._values import as_int, as_text
from shellwatch.state.clock import event_micros

MAX_DEPTH: Final = 16
"""Ancestors listed in ``shellwatch.process.ancestry`` (a loop in broken data stops there too)."""
MICROS: Final = 1_000_000

ENTRY_SOURCES: Final[dict[str, str]] = {
    "sshd": "sshd",
    "dropbear": "sshd",
    "login": "terminal",
    "agetty": "console",
    "getty": "console",
    "mingetty": "console",
    "gnome-terminal-server": "terminal",
    "xterm": "terminal",
    "konsole": "terminal",
    "terminal": "terminal",
    "iterm2": "terminal",
    "tmux: server": "terminal",
    "tmux": "terminal",
    "screen": "terminal",
    "cron": "cron",
    "crond": "cron",
    "anacron": "cron",
    "atd": "cron",
    "systemd": "init",
    "init": "init",
    "launchd": "init",
    "containerd-shim": "container",
    "containerd-shim-runc-v2": "container",
    "runc": "container",
    "conmon": "container",
    "kubelet": "kubelet",
    "ssm-session-worker": "ssm",
    "teleport": "teleport",
    "services.exe": "service",
    "taskeng.exe": "scheduled-task",
    "taskhostw.exe": "scheduled-task",
    "wmiprvse.exe": "wmi",
    "winlogon.exe": "console",
    "userinit.exe": "console",
    "explorer.exe": "console",
    "termsrv.exe": "terminal",
    "rdpinit.exe": "terminal",
    "sshd.exe": "sshd",
}
"""Executable name of a parent → how a session its child starts begins (``process.entry_meta.type``)."""

_SCHEDULE_MARKERS: Final = ("-s schedule", "schedule")
"""A ``svchost.exe`` whose command line names the Schedule service starts scheduled tasks."""

_UNIT_RECORDS: Final = frozenset({"service_start", "service_stop"})
"""auditd records in which systemd (pid 1) tells of a unit: not a start or an end of pid 1 itself."""
_FORK_CALLS: Final = frozenset({"clone", "fork", "vfork"})
"""Syscalls whose result is a new process's pid. ``clone3`` is left out: its flags sit behind a pointer the
record does not show, and glibc creates threads with it."""
_CLONE_THREAD: Final = 0x10000


@dataclass(slots=True)
class Proc:
    """One process as the table knows it."""

    entity_id: str
    pid: int | None = None
    ppid: int | None = None
    parent: str | None = None
    executable: str | None = None
    command_line: str | None = None
    args: list[str] | None = None
    user: str | None = None
    session: str | None = None
    tty: str | None = None
    interactive: bool | None = None
    start: str | None = None
    seen: int = 0
    ended: int | None = None
    entry: str | None = None
    entry_type: str | None = None
    session_leader: str | None = None
    placeholder: bool = False
    forked: bool = False
    """Added from a fork record: a copy of its parent's image until it execs."""

    @property
    def name(self) -> str | None:
        return basename(self.executable) if self.executable else None


@dataclass(frozen=True, slots=True)
class TableSettings:
    horizon: float = 7 * 86400.0
    """Seconds of event time after which a process not seen again is forgotten."""
    ended_horizon: float = 300.0
    """Seconds a process is kept after it ended (its children's events may come a little later)."""
    max_processes: int = 50_000
    """Processes kept per host at most; the least recently seen go first."""


def session_of(event: Mapping[str, Any]) -> str | None:
    """The login session an event's process belongs to: audit ``ses``, Windows logon id, macOS asid."""
    for key in ("auditd.session", "winlog.logon.id", "process.session_id"):
        value = event.get(key)
        if value not in (None, "", "4294967295", "-1"):
            return str(value)
    return None


class HostProcesses:
    """The processes of one host (see the module docstring)."""

    def __init__(self, host: str, settings: TableSettings) -> None:
        self.host = host
        self.settings = settings
        self.procs: OrderedDict[str, Proc] = OrderedDict()
        self.by_pid: dict[int, str] = {}
        self.children_of: dict[str, dict[str, None]] = {}
        """Parent entity id → entity ids of the processes in the table that name it as parent (in the order
        they joined). Exactly mirrors ``Proc.parent``: a parent that left the table keeps its entry while a
        child of it remains."""
        self.ended: deque[tuple[int, str]] = deque()
        self.watermark = 0

    # ----------------------------------------------------------------- feeding

    def observe(self, event: Event) -> Proc | None:
        """Update the table with ``event`` and fill its lineage fields; the event's process, if any."""
        moment = event_micros(event)
        if moment:
            self.watermark = max(self.watermark, moment)
        value, categories = event.get("event.type"), event.get("event.category")
        kinds = value if isinstance(value, list) else []
        is_process = (
            isinstance(categories, list)
            and "process" in categories
            and event.get("event.action") not in _UNIT_RECORDS
        )
        proc: Proc | None
        if (
            is_process
            and "start" in kinds
            and _has_process(event)
            and event.get("event.outcome") != "failure"
        ):
            proc = self._start(event, moment)
        else:
            proc = self._find(event, moment)
            child = _forked_pid(event) if is_process else None
            if child is not None:
                proc = self._fork(event, proc, child, moment)
            elif proc is not None and is_process and "end" in kinds:
                proc.ended = moment or self.watermark
                self.ended.append((proc.ended, proc.entity_id))
                if len(self.ended) > 2 * self.settings.max_processes:
                    self._compact_ended()
                self._evict()
        if proc is not None:
            fill(event, proc, self)
        return proc

    def _start(self, event: Event, moment: int) -> Proc:
        pid = as_int(event.get("process.pid"))
        eid = as_text(event.get("process.entity_id")) or entity_id(
            self.host, pid, event.get("@timestamp", "")
        )
        proc = self._new(event, eid, self._parent_of(event, moment), moment)
        proc.start = as_text(event.get("@timestamp"))
        self._insert(proc, moment)
        return proc

    def _new(self, event: Event, eid: str, parent: Proc | None, moment: int) -> Proc:
        """A process as ``event`` tells of it (``process.*``, user, session), below ``parent``."""
        proc = Proc(
            entity_id=eid,
            pid=as_int(event.get("process.pid")),
            ppid=as_int(event.get("process.parent.pid")) if parent is None else parent.pid,
            parent=parent.entity_id if parent is not None else None,
            executable=as_text(event.get("process.executable")),
            command_line=as_text(event.get("process.command_line")),
            args=_args(event.get("process.args")),
            user=as_text(event.get("user.name")) or as_text(event.get("user.id")),
            session=session_of(event),
            tty=as_text(event.get("process.tty.name")),
            interactive=_bool(event.get("process.interactive")),
            seen=moment,
        )
        if parent is not None:
            proc.tty = proc.tty or parent.tty
            if proc.interactive is None:
                proc.interactive = parent.interactive
        _leaders(proc, parent, self)
        return proc

    def _insert(self, proc: Proc, moment: int) -> None:
        """Add a process that started (or was forked) at ``moment``; its pid points at it unless the pid's
        current process started later (records out of order)."""
        earlier = self.get(self.by_pid.get(proc.pid)) if proc.pid is not None else None
        latest = earlier is None or earlier.placeholder or not _started_after(earlier, moment, proc.forked)
        self._put(proc, latest)
        if earlier is None or earlier.entity_id == proc.entity_id:
            pass
        elif earlier.placeholder and _adopts(proc, earlier, moment):
            self._adopt(earlier, proc)
        elif (
            latest
            and earlier.forked
            and not proc.forked
            and earlier.ppid == proc.ppid
            and earlier.entity_id not in self.children_of
        ):
            # The copy a fork made has exec'd before it started anything: the exec takes its place.
            self._drop(earlier.entity_id, earlier)
        for ancestor in self.ancestors(proc):  # alive, since it has a new descendant
            ancestor.seen = max(ancestor.seen, moment)
            self.procs.move_to_end(ancestor.entity_id)
        self._evict()

    def _fork(self, event: Event, forker: Proc | None, child_pid: int, moment: int) -> Proc:
        """A fork record of ``forker`` (``process.*``): add the child, a copy of it. Returns the forker."""
        if forker is None:
            # The forking process started before the log began: keep what the record says of it.
            pid = as_int(event.get("process.pid"))
            forker = self._new(event, _before(self.host, pid), self._parent_of(event, moment), moment)
            forker.placeholder = True
            self._put(forker)
        current = self.get(self.by_pid.get(child_pid))
        if (
            current is not None
            and not current.placeholder
            and current.ppid == forker.pid
            and _started_after(current, moment, forked=True)
        ):
            self._evict()  # the placeholder forker may have taken the table over its limit
            return forker  # records out of order: the child has exec'd already
        timestamp = as_text(event.get("@timestamp"))
        child = Proc(
            entity_id=entity_id(self.host, child_pid, timestamp or moment, "fork"),
            pid=child_pid,
            ppid=forker.pid,
            parent=forker.entity_id,
            executable=forker.executable,
            command_line=forker.command_line,
            args=list(forker.args) if forker.args is not None else None,
            user=forker.user,
            session=forker.session,
            tty=forker.tty,
            interactive=forker.interactive,
            start=timestamp,
            seen=moment,
            forked=True,
        )
        _leaders(child, forker, self)
        self._insert(child, moment)
        return forker

    def _adopt(self, placeholder: Proc, proc: Proc) -> None:
        """A start that arrives after its children (records out of order) replaces their placeholder."""
        for child in self.children(placeholder.entity_id):
            self._unlink(child)
            child.parent = proc.entity_id
            self._link(child)
            if child.forked and child.executable is None:  # a copy of what is now known
                child.executable, child.command_line = proc.executable, proc.command_line
                child.args = list(proc.args) if proc.args is not None else None
            if child.entry is None or child.entry == placeholder.entity_id:
                _leaders(child, proc, self)
        self._drop(placeholder.entity_id, placeholder)

    def _parent_of(self, event: Event, moment: int) -> Proc | None:
        parent_eid = as_text(event.get("process.parent.entity_id"))
        if parent_eid is not None:
            found = self.procs.get(parent_eid)
            if found is not None:
                return found
        ppid = as_int(event.get("process.parent.pid"))
        current = self.get(self.by_pid.get(ppid)) if ppid is not None else None
        if (
            current is not None
            and (parent_eid is None or current.entity_id == parent_eid)
            and _could_be_parent(current, moment)
        ):
            return current
        if ppid is None and parent_eid is None:
            return None
        # A parent started before the log began: keep what the event says of it.
        placeholder = Proc(
            entity_id=parent_eid or _before(self.host, ppid),
            pid=ppid,
            executable=as_text(event.get("process.parent.executable")),
            command_line=as_text(event.get("process.parent.command_line")),
            args=_args(event.get("process.parent.args")),
            seen=moment,
            placeholder=True,
        )
        if ppid == 1 and event.get("host.os.type") in ("linux", "macos"):
            placeholder.executable = placeholder.executable or "/sbin/init"
        _leaders(placeholder, None, self)
        self._put(placeholder)
        return placeholder

    def _find(self, event: Event, moment: int) -> Proc | None:
        eid = as_text(event.get("process.entity_id"))
        proc = self.procs.get(eid) if eid is not None else None
        if proc is None:
            pid = as_int(event.get("process.pid"))
            current = self.by_pid.get(pid) if pid is not None else None
            proc = self.procs.get(current) if current is not None else None
        if proc is None:
            return None
        proc.seen = max(proc.seen, moment)
        self.procs.move_to_end(proc.entity_id)
        if proc.placeholder and proc.executable is None:
            # A process started before the log began: its own events tell what it runs.
            proc.executable = as_text(event.get("process.executable"))
            proc.command_line = proc.command_line or as_text(event.get("process.command_line"))
            proc.args = proc.args or _args(event.get("process.args"))
        return proc

    def _put(self, proc: Proc, current: bool = True) -> None:
        """Add or replace ``proc``; ``current``: its pid points at it from now on."""
        old = self.procs.get(proc.entity_id)
        if old is not None and old is not proc:
            self._unlink(old)
        self.procs[proc.entity_id] = proc
        self.procs.move_to_end(proc.entity_id)
        self._link(proc)
        if current and proc.pid is not None:
            self.by_pid[proc.pid] = proc.entity_id

    def _link(self, proc: Proc) -> None:
        if proc.parent is not None:
            self.children_of.setdefault(proc.parent, {})[proc.entity_id] = None

    def _unlink(self, proc: Proc) -> None:
        if proc.parent is None:
            return
        siblings = self.children_of.get(proc.parent)
        if siblings is not None:
            siblings.pop(proc.entity_id, None)
            if not siblings:
                del self.children_of[proc.parent]

    # ----------------------------------------------------------------- reading

    def get(self, eid: str | None) -> Proc | None:
        return self.procs.get(eid) if eid is not None else None

    def ancestors(self, proc: Proc) -> Iterator[Proc]:
        """The parent, grandparent, ... of ``proc`` (at most :data:`MAX_DEPTH`)."""
        current: Proc | None = self.get(proc.parent)
        seen = {proc.entity_id}
        while current is not None and len(seen) <= MAX_DEPTH and current.entity_id not in seen:
            yield current
            seen.add(current.entity_id)
            current = self.get(current.parent)

    def children(self, eid: str) -> list[Proc]:
        """The processes in the table whose parent is ``eid``, in the order they joined (from the index)."""
        return list(self.iter_children(eid))

    def iter_children(self, eid: str) -> Iterator[Proc]:
        """:meth:`children` one by one, for a reader that may stop early (the table must not change)."""
        for child in self.children_of.get(eid, ()):
            yield self.procs[child]

    # ----------------------------------------------------------------- memory

    def _evict(self) -> None:
        settings, now = self.settings, self.watermark
        oldest = now - int(settings.horizon * MICROS)
        ended_before = now - int(settings.ended_horizon * MICROS)
        while self.procs:
            eid, proc = next(iter(self.procs.items()))
            stale = proc.seen and proc.seen < oldest
            gone = proc.ended is not None and proc.ended < ended_before
            if len(self.procs) <= settings.max_processes and not stale and not gone:
                break
            self._drop(eid, proc)
        # Ended processes seen recently sit further back in the order: they leave in the order they ended.
        while self.ended and self.ended[0][0] < ended_before:
            _, eid = self.ended.popleft()
            ended = self.procs.get(eid)
            if ended is not None and ended.ended is not None and ended.ended < ended_before:
                self._drop(eid, ended)

    def _compact_ended(self) -> None:
        """One entry per ended process still in the table. The queue empties by event time; when the clock
        stalls (no timestamps, or a burst of exits within ``ended_horizon``) the table still drops the least
        recently seen, and this keeps the queue from outgrowing it with entries for processes long gone."""
        kept: dict[str, int] = {}
        for moment, eid in self.ended:
            proc = self.procs.get(eid)
            if proc is not None and proc.ended == moment:
                kept.setdefault(eid, moment)
        self.ended = deque((moment, eid) for eid, moment in kept.items())

    def _drop(self, eid: str, proc: Proc) -> None:
        del self.procs[eid]
        self._unlink(proc)
        if proc.pid is not None and self.by_pid.get(proc.pid) == eid:
            del self.by_pid[proc.pid]

    def __len__(self) -> int:
        return len(self.procs)


class ProcessTable:
    """The process tables of every host, created on first use (state keyed by host)."""

    def __init__(self, settings: TableSettings | None = None) -> None:
        self.settings = settings or TableSettings()
        self.hosts: dict[str, HostProcesses] = {}

    def host(self, name: str) -> HostProcesses:
        table = self.hosts.get(name)
        if table is None:
            table = self.hosts[name] = HostProcesses(name, self.settings)
        return table

    def observe(self, event: Event) -> Proc | None:
        if not _has_process(event) and "process.entity_id" not in event:
            return None
        return self.host(host_of(event)).observe(event)

    def __len__(self) -> int:
        return sum(len(table) for table in self.hosts.values())

    def state(self) -> dict[str, Any]:
        """Plain data (JSON-serializable) to save between runs."""
        return {
            "hosts": {
                name: {
                    "watermark": table.watermark,
                    "procs": [asdict(proc) for proc in table.procs.values()],
                    "pids": {str(pid): eid for pid, eid in table.by_pid.items()},
                    "children": {parent: list(children) for parent, children in table.children_of.items()},
                }
                for name, table in self.hosts.items()
            }
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], settings: TableSettings | None = None) -> ProcessTable:
        """The tables :meth:`state` saved: processes in their order, pids, the children index, ended ones."""
        table = cls(settings)
        known = {item.name for item in fields(Proc)}
        for name, data in state.get("hosts", {}).items():
            host = table.host(name)
            host.watermark = int(data.get("watermark", 0))
            for item in data.get("procs", []):
                host._put(Proc(**{key: value for key, value in item.items() if key in known}))
            pids = data.get("pids")
            if isinstance(pids, Mapping):
                host.by_pid = {int(pid): eid for pid, eid in pids.items() if eid in host.procs}
            saved = data.get("children")
            if isinstance(saved, Mapping):  # the order children joined in (the index itself is rebuilt)
                for parent, children in host.children_of.items():
                    order = [eid for eid in saved.get(parent, ()) if eid in children]
                    host.children_of[parent] = dict.fromkeys([*order, *children])
            ended = sorted(
                (proc.ended, proc.entity_id) for proc in host.procs.values() if proc.ended is not None
            )
            host.ended.extend(ended)
        return table


def _before(host: str, pid: int | None) -> str:
    """The entity id of a process of ``pid`` that started before the log began."""
    return entity_id(host, pid, "before", host)


def host_of(event: Mapping[str, Any]) -> str:
    value = event.get("host.name")
    return value if isinstance(value, str) else ""


# --------------------------------------------------------------------------- leaders


def _leaders(proc: Proc, parent: Proc | None, table: HostProcesses) -> None:
    """Entry leader and session leader of a new process, from its parent's."""
    kind = _entry_kind(parent) if parent is not None else None
    if kind is not None:
        proc.entry, proc.entry_type = proc.entity_id, kind
    elif parent is not None:
        proc.entry, proc.entry_type = parent.entry, parent.entry_type
    if parent is None or kind is not None or (proc.session is not None and parent.session != proc.session):
        proc.session_leader = proc.entity_id
    else:
        proc.session_leader = parent.session_leader or parent.entity_id


def _entry_kind(parent: Proc) -> str | None:
    name = (parent.name or "").lower()
    kind = ENTRY_SOURCES.get(name)
    if kind is None and name.startswith(("containerd-shim", "sshd")):
        kind = "container" if name.startswith("containerd") else "sshd"
    if name == "svchost.exe":
        command = (parent.command_line or "").lower()
        return "scheduled-task" if any(marker in command for marker in _SCHEDULE_MARKERS) else "service"
    if kind == "init" and parent.pid not in (None, 1) and name == "systemd":
        return "init"  # a user's systemd instance starts services too
    return kind


# --------------------------------------------------------------------------- filling events

_PROCESS_KEYS: Final = (
    ("entity_id", "entity_id"),
    ("pid", "pid"),
    ("executable", "executable"),
    ("name", "name"),
    ("command_line", "command_line"),
    ("args", "args"),
)


def fill(event: Event, proc: Proc, table: HostProcesses) -> None:
    """The lineage fields of ``event`` from the table, where the event lacks them."""
    parent = table.get(proc.parent)
    if parent is not None:
        _put_process(event, "process.parent", parent)
        grandparent = table.get(parent.parent)
        if grandparent is not None:
            _put_process(event, "process.parent.parent", grandparent)
    ancestry = list(table.ancestors(proc))
    if ancestry:
        event["shellwatch.process.ancestry.executable"] = [item.executable or "" for item in ancestry]
        event["shellwatch.process.ancestry.command_line"] = [item.command_line or "" for item in ancestry]
        event["shellwatch.process.ancestry.pid"] = [
            item.pid if item.pid is not None else -1 for item in ancestry
        ]
        event["shellwatch.process.ancestry.entity_id"] = [item.entity_id for item in ancestry]
    entry = table.get(proc.entry)
    if entry is not None:
        _put_process(event, "process.entry_leader", entry)
        if proc.entry_type is not None:
            event.setdefault("process.entry_meta.type", proc.entry_type)
    leader = table.get(proc.session_leader)
    if leader is not None:
        _put_process(event, "process.session_leader", leader)
    if "process.interactive" not in event and proc.interactive is not None:
        event["process.interactive"] = proc.interactive
    if "process.tty.name" not in event and proc.tty is not None:
        event["process.tty.name"] = proc.tty


def _put_process(event: Event, prefix: str, proc: Proc) -> None:
    for attribute, suffix in _PROCESS_KEYS:
        value = getattr(proc, attribute)
        if value is not None:
            event.setdefault(f"{prefix}.{suffix}", list(value) if isinstance(value, list) else value)


# --------------------------------------------------------------------------- values

_TOLERANCE: Final = 2 * MICROS
"""Clock skew allowed between a parent's and its child's records."""


def _adopts(proc: Proc, placeholder: Proc, moment: int) -> bool:
    """Whether ``proc``, starting at ``moment`` with the pid of ``placeholder``, is the process that the
    placeholder stood for: it started before the placeholder was last seen (its children came first), and,
    at the same millisecond, it runs what the placeholder was known to run (else the placeholder is the
    image before an exec)."""
    if not 0 < moment <= placeholder.seen:
        return False
    return moment < placeholder.seen or placeholder.executable in (None, proc.executable)


def _started_after(proc: Proc, moment: int, forked: bool) -> bool:
    """Whether ``proc`` started after ``moment``; for a fork at ``moment``, also at the same time (a fork
    comes before the exec it leads to, and audit times are in milliseconds)."""
    started = timestamp_micros(proc.start) if moment and proc.start else None
    if started is None:
        return False
    return started >= moment if forked else started > moment


def _forked_pid(event: Mapping[str, Any]) -> int | None:
    """The child's pid of a successful auditd fork record of a known pid; ``None`` for anything else."""
    syscall = event.get("auditd.data.syscall")
    if syscall not in _FORK_CALLS or event.get("event.outcome") == "failure":
        return None
    if syscall == "clone" and (_hex(event.get("auditd.data.a0")) or 0) & _CLONE_THREAD:
        return None  # a thread, not a process
    if as_int(event.get("process.pid")) is None:
        return None
    return as_int(event.get("auditd.data.exit")) or None


def _hex(value: object) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return int(value, 16)
    except ValueError:
        return None


def _could_be_parent(proc: Proc, moment: int) -> bool:
    """A pid's process is a child's parent only if it started before the child and had not ended."""
    if not moment:
        return True
    started = timestamp_micros(proc.start) if proc.start else None
    if started is not None and started > moment + _TOLERANCE:
        return False
    return proc.ended is None or proc.ended + _TOLERANCE >= moment


def _has_process(event: Mapping[str, Any]) -> bool:
    return event.get("process.pid") is not None or event.get("process.entity_id") is not None


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _args(value: object) -> list[str] | None:
    return [str(item) for item in value] if isinstance(value, list) else None
