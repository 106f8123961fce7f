"""The context stage: every event updates the per-host tables and gets its lineage and session fields.

It runs between ingest and detection, so that Sigma rules can match on the grandparent, the entry leader,
the session's remote address or whether the process is interactive. For each event, in order: the
session table (logins and failures), the process table (lineage, leaders, tty), the flow table
(connections), then, for an event with a process, the login it belongs to, and last the taggers (plain
callables that add keys to the event, such as the threat intelligence match of
:class:`shellwatch.enrich.intel.EventIntel`):

* ``process.entry_meta.source.ip`` and, when the process table knows no entry leader,
  ``process.entry_meta.type`` from the login (``sshd`` for SSH, ``terminal`` or ``network`` for Windows
  logons);
* ``shellwatch.session.{id,kind,user,source_ip,source_port,method,start,failures_before}``.

A successful login event itself gets ``shellwatch.session.failures_before``: the failed attempts from
the same address (or for the same user) in the burst window before it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from itertools import chain
from typing import Any

from shellwatch.events import Event
from shellwatch.state.flows import FlowSettings, FlowTable
from shellwatch.state.processes import ProcessTable, TableSettings, host_of, session_of
from shellwatch.state.sessions import Login, SessionSettings, SessionTable, is_remote_logon_type


class ContextStage:
    """Per-host process, session and flow tables, and the fields they give each event."""

    def __init__(
        self,
        processes: ProcessTable | None = None,
        sessions: SessionTable | None = None,
        flows: FlowTable | None = None,
        taggers: Sequence[Callable[[Event], None]] = (),
    ) -> None:
        self.processes = processes or ProcessTable(TableSettings())
        self.sessions = sessions or SessionTable(SessionSettings())
        self.flows = flows or FlowTable(FlowSettings())
        self.taggers = tuple(taggers)

    def __deepcopy__(self, memo: dict[int, Any]) -> ContextStage:
        """A copy with its own tables; the taggers (read-only, possibly large indexes) are shared."""
        tables = copy.deepcopy((self.processes, self.sessions, self.flows), memo)
        return ContextStage(*tables, taggers=self.taggers)

    def process(self, event: Event) -> Event:
        host = host_of(event)
        login = self.sessions.host(host).observe(event)
        if login is not None and event.get("event.outcome") == "success":
            event["shellwatch.session.failures_before"] = login.failures_before
        proc = self.processes.observe(event)
        self.flows.observe(event)
        if proc is not None:
            table = self.processes.host(host)
            pids = (item.pid for item in chain((proc,), table.ancestors(proc)) if item.pid is not None)
            found = self.sessions.host(host).find(proc.session or session_of(event), pids)
            if found is not None:
                put_login(event, found)
        for tag in self.taggers:
            tag(event)
        return event

    def state(self) -> dict[str, Any]:
        """The process and session tables as plain data (flows are short-lived and not kept)."""
        return {"processes": self.processes.state(), "sessions": self.sessions.state()}

    @classmethod
    def from_state(
        cls, state: Mapping[str, Any], taggers: Sequence[Callable[[Event], None]] = ()
    ) -> ContextStage:
        return cls(
            ProcessTable.from_state(state.get("processes", {})),
            SessionTable.from_state(state.get("sessions", {})),
            taggers=taggers,
        )


def put_login(event: Event, login: Login) -> None:
    """The login's fields on ``event`` (its own values are kept where it has them)."""
    if login.source_ip is not None:
        event.setdefault("process.entry_meta.source.ip", login.source_ip)
    # A desktop (explorer.exe) reached over RDP is a remote session, whatever the process tree says.
    if event.get("process.entry_meta.type") in (None, "console") and (
        login.source_ip is not None or "process.entry_meta.type" not in event
    ):
        event["process.entry_meta.type"] = _entry_type(login)
    values: dict[str, str | int | None] = {
        "id": login.session,
        "kind": login.kind,
        "user": login.user,
        "source_ip": login.source_ip,
        "source_port": login.source_port,
        "method": login.method,
        "start": login.start,
        "failures_before": login.failures_before,
    }
    for key, value in values.items():
        if value is not None:
            event.setdefault(f"shellwatch.session.{key}", value)
    if "process.interactive" not in event and login.interactive is not None:
        event["process.interactive"] = login.interactive


def _entry_type(login: Login) -> str:
    if login.kind == "ssh":
        return "sshd"
    if login.kind == "windows-logon":
        return "network" if is_remote_logon_type(login.method) and not login.interactive else "terminal"
    return "terminal"
