"""Process tree and network context of an alert, from the per-host tables of the context stage.

Lineage up (parents, leaders, session) is on the matched event already: the context stage put it there
before detection. This enricher adds what only later events can tell, so it runs when the alert leaves
the enrichment stage: the processes the alerting process started (``shellwatch.process.children.*``,
parallel lists with the depth below the alert's process), and the network connections the process and
those children made around the alert time (``shellwatch.network.*``), each joined with the flow a network
sensor (Zeek, NetFlow) saw for the same addresses, which tells how long it lasted and how many bytes moved.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from shellwatch.events import Alert, timestamp_micros
from shellwatch.state.flows import Connection
from shellwatch.state.processes import HostProcesses, Proc, host_of
from shellwatch.state.stage import ContextStage

MAX_CHILDREN: Final = 50
MAX_DEPTH: Final = 4
MAX_CONNECTIONS: Final = 20


class ContextEnricher:
    """Children and connections of the alert's process (see the module docstring)."""

    name = "context"

    def __init__(self, stage: ContextStage, before: float = 60.0, after: float = 3600.0) -> None:
        self.stage = stage
        self.before = before
        self.after = after

    def with_context(self, context: ContextStage) -> ContextEnricher:
        """The same enricher reading another copy of the tables (a parallel worker's)."""
        return ContextEnricher(context, self.before, self.after)

    def enrich(self, alert: Alert) -> None:
        host = host_of(alert)
        table = self.stage.processes.hosts.get(host)
        proc = _process_of(alert, table) if table is not None else None
        descendants = _descendants(table, proc) if table is not None and proc is not None else []
        if descendants:
            alert["shellwatch.process.children.executable"] = [
                item.executable or "" for item, _ in descendants
            ]
            alert["shellwatch.process.children.command_line"] = [
                item.command_line or "" for item, _ in descendants
            ]
            alert["shellwatch.process.children.pid"] = [
                -1 if item.pid is None else item.pid for item, _ in descendants
            ]
            alert["shellwatch.process.children.depth"] = [depth for _, depth in descendants]
        moment = timestamp_micros(alert.get("@timestamp"))
        if moment is None:
            return
        pids = {item.pid for item, _ in descendants if item.pid is not None}
        entities = {item.entity_id for item, _ in descendants}
        pid = alert.get("process.pid")
        if isinstance(pid, int):
            pids.add(pid)
        if proc is not None:
            entities.add(proc.entity_id)
        connections = list(self.stage.flows.around(host, moment, self.before, self.after, pids, entities))
        if connections:
            _put_connections(alert, connections[:MAX_CONNECTIONS], self.stage)


def _process_of(alert: Alert, table: HostProcesses) -> Proc | None:
    entity = alert.get("process.entity_id")
    if isinstance(entity, str) and entity in table.procs:
        return table.procs[entity]
    pid = alert.get("process.pid")
    if isinstance(pid, int):
        current = table.by_pid.get(pid)
        return table.procs.get(current) if current is not None else None
    return None


def _descendants(table: HostProcesses, root: Proc) -> list[tuple[Proc, int]]:
    """The processes below ``root``, depth first in the order they started, at most :data:`MAX_CHILDREN`.

    Read lazily from the table's children index, so the cost follows what is listed, not the size of the
    host's table or the number of children a busy parent has."""
    found: list[tuple[Proc, int]] = []
    seen = {root.entity_id}
    stack: list[tuple[Iterator[Proc], int]] = [(table.iter_children(root.entity_id), 1)]
    while stack and len(found) < MAX_CHILDREN:
        children, depth = stack[-1]
        proc = next(children, None)
        if proc is None:
            stack.pop()
            continue
        if proc.entity_id in seen:
            continue
        seen.add(proc.entity_id)
        found.append((proc, depth))
        if depth < MAX_DEPTH:
            stack.append((table.iter_children(proc.entity_id), depth + 1))
    return found


def _put_connections(alert: Alert, connections: list[Connection], stage: ContextStage) -> None:
    flows = [stage.flows.flow_of(connection) for connection in connections]
    alert["shellwatch.network.timestamp"] = [item.timestamp or "" for item in connections]
    alert["shellwatch.network.pid"] = [-1 if item.pid is None else item.pid for item in connections]
    alert["shellwatch.network.source.ip"] = [item.source_ip or "" for item in connections]
    alert["shellwatch.network.source.port"] = [item.source_port or 0 for item in connections]
    alert["shellwatch.network.destination.ip"] = [item.destination_ip or "" for item in connections]
    alert["shellwatch.network.destination.port"] = [item.destination_port or 0 for item in connections]
    alert["shellwatch.network.transport"] = [item.transport or "" for item in connections]
    alert["shellwatch.network.duration"] = [
        -1 if flow is None or flow.duration_ns is None else flow.duration_ns for flow in flows
    ]
    alert["shellwatch.network.bytes"] = [
        -1 if flow is None or flow.bytes is None else flow.bytes for flow in flows
    ]
    alert["shellwatch.network.sensor"] = [flow.sensor or "" if flow is not None else "" for flow in flows]
