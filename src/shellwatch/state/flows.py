"""Network connections, kept for a while so that an alert can show what its process talked to.

Two kinds of records are kept. *Endpoint connections* (Sysmon 3, auditd ``connect``, osquery socket events,
eslogger) carry the host, the process (pid or entity id) and the addresses; they are kept per host.
*Sensor flows* (Zeek ``conn.log``, NetFlow) carry no process but know how long the connection lasted and
how many bytes it moved; they are indexed by their 4-tuple (source and destination address and port), so
an endpoint connection finds its flow, and a connection whose pid the sensor lost is still found by the
addresses. Both are bounded by ``horizon`` of event time and a maximum count.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from shellwatch.state._values import as_int, as_text
from shellwatch.state.clock import event_micros

MICROS: Final = 1_000_000


@dataclass(slots=True)
class Connection:
    micros: int
    timestamp: str | None
    source_ip: str | None
    source_port: int | None
    destination_ip: str | None
    destination_port: int | None
    transport: str | None
    pid: int | None = None
    entity_id: str | None = None
    executable: str | None = None
    duration_ns: int | None = None
    bytes: int | None = None
    sensor: str | None = None
    """The dataset of a sensor flow (``zeek.conn``, ``netflow.log``); ``None`` for endpoint records."""


@dataclass(frozen=True, slots=True)
class FlowSettings:
    horizon: float = 3600.0
    max_connections: int = 100_000


class FlowTable:
    """Endpoint connections per host and sensor flows by address, in event time."""

    def __init__(self, settings: FlowSettings | None = None) -> None:
        self.settings = settings or FlowSettings()
        self.endpoint: dict[str, deque[Connection]] = {}
        self.sensor: dict[tuple[object, ...], Connection] = {}
        self._sensor_order: deque[tuple[tuple[object, ...], int]] = deque()

    def observe(self, event: Mapping[str, Any]) -> Connection | None:
        categories = event.get("event.category")
        if not isinstance(categories, list) or "network" not in categories:
            return None
        if event.get("destination.ip") is None and event.get("source.ip") is None:
            return None
        connection = _connection(event)
        if connection.sensor is not None:
            self._add_sensor(connection)
        elif connection.pid is not None or connection.entity_id is not None:
            host = event.get("host.name")
            self._add_endpoint(host if isinstance(host, str) else "", connection)
        else:
            return None
        return connection

    def around(
        self, host: str, moment: int, before: float, after: float, pids: set[int], entities: set[str]
    ) -> Iterator[Connection]:
        """Endpoint connections of ``host`` by these processes, ``before`` s before to ``after`` s after."""
        first, last = moment - int(before * MICROS), moment + int(after * MICROS)
        for connection in self.endpoint.get(host, ()):
            if not first <= connection.micros <= last:
                continue
            if connection.entity_id in entities or (connection.entity_id is None and connection.pid in pids):
                yield connection

    def flow_of(self, connection: Connection) -> Connection | None:
        """The sensor flow of an endpoint connection (either direction), if a sensor saw it."""
        forward: tuple[object, ...] = (
            connection.source_ip,
            connection.source_port,
            connection.destination_ip,
            connection.destination_port,
        )
        found = self.sensor.get(forward)
        if found is None:
            found = self.sensor.get((forward[2], forward[3], forward[0], forward[1]))
        if found is None:
            found = self.sensor.get((None, None, connection.destination_ip, connection.destination_port))
        return found

    def _add_endpoint(self, host: str, connection: Connection) -> None:
        queue = self.endpoint.setdefault(host, deque())
        queue.append(connection)
        oldest = connection.micros - int(self.settings.horizon * MICROS)
        while queue and (len(queue) > self.settings.max_connections or queue[0].micros < oldest):
            queue.popleft()

    def _add_sensor(self, connection: Connection) -> None:
        keys: list[tuple[object, ...]] = [
            (
                connection.source_ip,
                connection.source_port,
                connection.destination_ip,
                connection.destination_port,
            ),
            (None, None, connection.destination_ip, connection.destination_port),
        ]
        for key in keys:
            self.sensor[key] = connection
            self._sensor_order.append((key, connection.micros))
        oldest = connection.micros - int(self.settings.horizon * MICROS)
        order = self._sensor_order
        while order and (len(order) > 2 * self.settings.max_connections or order[0][1] < oldest):
            key, micros = order.popleft()
            kept = self.sensor.get(key)
            if kept is not None and kept.micros == micros:
                del self.sensor[key]

    def __len__(self) -> int:
        return sum(len(queue) for queue in self.endpoint.values()) + len(self.sensor)


_SENSOR_MODULES: Final = frozenset({"zeek", "netflow"})


def _connection(event: Mapping[str, Any]) -> Connection:
    module = event.get("event.module")
    duration = event.get("event.duration")
    total = _sum(event.get("source.bytes"), event.get("destination.bytes"))
    if total is None:
        total = as_int(event.get("network.bytes"))
    return Connection(
        micros=event_micros(event),
        timestamp=as_text(event.get("@timestamp")),
        source_ip=as_text(event.get("source.ip")),
        source_port=as_int(event.get("source.port")),
        destination_ip=as_text(event.get("destination.ip")),
        destination_port=as_int(event.get("destination.port")),
        transport=as_text(event.get("network.transport")),
        pid=as_int(event.get("process.pid")),
        entity_id=as_text(event.get("process.entity_id")),
        executable=as_text(event.get("process.executable")),
        duration_ns=duration if isinstance(duration, int) else None,
        bytes=total,
        sensor=as_text(event.get("event.dataset")) if module in _SENSOR_MODULES else None,
    )


def _sum(*values: object) -> int | None:
    numbers = [value for value in values if isinstance(value, int) and not isinstance(value, bool)]
    return sum(numbers) if numbers else None
