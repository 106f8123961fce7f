"""Windows events as JSON lines: Winlogbeat/ECS exports, and the other JSON shapes Windows events travel in.

``winlogbeat``: Winlogbeat or Elastic Agent NDJSON (``winlog.event_data.*``, ``winlog.event_id``, nested or
dotted keys). ``windows_json``: OTRF/Mordor exports (NXLog or Sysmon fields at the top level next to
``EventID``, ``SourceName``, ``Channel``, ``Hostname``), Azure Sentinel ``SecurityEvent`` / ``WindowsEvent``
/ ``Event`` table exports (``EventData`` as a JSON or an XML string) and Wazuh eventchannel alerts
(``win.system.*``, ``win.eventdata.*``). All go through the same mapping as EVTX; the source's own ECS
fields are not trusted, the EventData is mapped again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO, Final

import orjson
from lxml import etree

from shellwatch.events import Event
from shellwatch.ingest._windows import (
    ScriptBlockAssembler,
    as_int,
    as_text,
    base_event,
    map_event,
    unnamed_data,
)
from shellwatch.ingest.base import ReadContext, Reader, first_json_object, iter_json_objects, iter_lines
from shellwatch.ingest.registry import register
from shellwatch.ingest.winxml import PARSER

Row = dict[str, Any]
_DATA_PREFIX: Final = "winlog.event_data."
_XML_DATA: Final = re.compile(r"<EventData[\s>]", re.IGNORECASE)
# NXLog / Logstash metadata in Mordor exports: everything else at the top level is EventData.
_MORDOR_META: Final = frozenset(
    {
        "@timestamp", "@version", "AccountName", "AccountType", "Category", "Channel", "Domain", "EventID",
        "EventReceivedTime", "EventTime", "EventTypeOrignal", "ExecutionProcessID", "Hostname", "Keywords",
        "Level", "Message", "Opcode", "OpcodeValue", "ProviderGuid", "RecordNumber", "Severity",
        "SeverityValue", "SourceModuleName", "SourceModuleType", "SourceName", "Task", "ThreadID",
        "TimeCreated", "UserID", "Version", "host", "port", "tags", "beat", "log_name", "source_name",
    }
)  # fmt: skip
_NXLOG_EVENT_TYPES: Final = frozenset(
    {"AUDIT_SUCCESS", "AUDIT_FAILURE", "INFO", "WARNING", "ERROR", "CRITICAL", "VERBOSE"}
)
_SENTINEL_TYPES: Final = frozenset({"SecurityEvent", "WindowsEvent", "Event"})
# Sentinel table columns that are not EventData (SecurityEvent also copies EventData items into columns).
_SENTINEL_META: Final = frozenset(
    {
        "TenantId", "TimeGenerated", "SourceSystem", "Account", "AccountType", "Computer", "EventSourceName",
        "Channel", "Task", "Level", "EventID", "Activity", "SourceComputerId", "EventOriginId", "MG",
        "TimeCollected", "ManagementGroupName", "Type", "_ResourceId", "Process", "SubjectAccount",
        "TargetAccount", "EventData", "ParameterXml", "Provider", "EventLevel", "EventLevelName", "EventLog",
        "Source", "RenderedDescription", "UserName", "EventCategory", "AzureDeploymentID", "Role",
        "PartitionKey", "RowKey", "StorageAccount",
    }
)  # fmt: skip


def flatten(row: Mapping[str, Any], prefix: str = "") -> Row:
    """Nested JSON objects as dotted keys (``{"winlog": {"event_id": 1}}`` → ``winlog.event_id``)."""
    flat: Row = {}
    for key, value in row.items():
        name = prefix + key
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _read(
    stream: BinaryIO, ctx: ReadContext, convert: Callable[[Row], Event | None], what: str
) -> Iterator[Event]:
    assembler = ScriptBlockAssembler()
    for line, row in iter_json_objects(iter_lines(stream), ctx):
        try:
            event = convert(row)
        except (KeyError, TypeError, ValueError, etree.XMLSyntaxError) as exc:
            ctx.error(
                f"not a {what} event: {type(exc).__name__}: {exc}", line=line.number, offset=line.offset
            )
            continue
        if event is None:
            ctx.error(f"not a {what} event", line=line.number, offset=line.offset, raw=line.data)
            continue
        event["log.offset"] = line.offset
        event["shellwatch.log.line"] = line.number
        yield from assembler.add(event)
    yield from assembler.flush()


def _int_or_none(value: Any) -> int | None:
    return as_int(as_text(value)) if value not in (None, "") else None


# --------------------------------------------------------------------------- Winlogbeat


def winlogbeat_event(row: Row) -> Event | None:
    flat = flatten(row)
    event_id = _int_or_none(flat.get("winlog.event_id", flat.get("event.code")))
    provider = flat.get("winlog.provider_name")
    if event_id is None or not isinstance(provider, str):
        return None
    event = base_event(
        provider,
        as_text(flat.get("winlog.channel") or ""),
        event_id,
        as_text(flat.get("winlog.computer_name") or flat.get("host.name") or ""),
        flat.get("@timestamp"),
        _int_or_none(flat.get("winlog.record_id")),
        _int_or_none(flat.get("winlog.process.pid")),
        flat.get("winlog.user.identifier"),
    )
    data = {key[len(_DATA_PREFIX) :]: value for key, value in flat.items() if key.startswith(_DATA_PREFIX)}
    map_event(event, data)
    if isinstance(flat.get("message"), str):
        event["message"] = flat["message"]
    return event


@register
class WinlogbeatReader(Reader):
    name = "winlogbeat"
    description = (
        "Winlogbeat / Elastic Agent Windows events as NDJSON (winlog.event_data.*, nested or dotted)"
    )
    priority = 30

    @classmethod
    def sniff(cls, head: bytes, path: str) -> bool:
        row = first_json_object(head)
        if row is None:
            return False
        winlog = row.get("winlog")
        if isinstance(winlog, dict):
            return "event_id" in winlog and ("provider_name" in winlog or "channel" in winlog)
        return "winlog.event_id" in row and ("winlog.provider_name" in row or "winlog.channel" in row)

    def read(self, stream: BinaryIO, ctx: ReadContext) -> Iterator[Event]:
        yield from _read(stream, ctx, winlogbeat_event, "Winlogbeat")


# --------------------------------------------------------------------------- Mordor, Sentinel, Wazuh


def _is_sentinel(row: Row) -> bool:
    return row.get("Type") in _SENTINEL_TYPES and "EventID" in row and "Computer" in row


def _is_mordor(row: Row) -> bool:
    return "EventID" in row and ("SourceName" in row or "Channel" in row) and "Hostname" in row


def _is_wazuh(row: Row) -> bool:
    win = row.get("win")
    return isinstance(win, dict) and isinstance(win.get("system"), dict)


def mordor_event(row: Row) -> Event | None:
    event_id = _int_or_none(row.get("EventID"))
    if event_id is None:
        return None
    event = base_event(
        as_text(row.get("SourceName") or ""),
        as_text(row.get("Channel") or ""),
        event_id,
        as_text(row.get("Hostname") or ""),
        row.get("TimeCreated") or row.get("@timestamp"),
        _int_or_none(row.get("RecordNumber")),
        _int_or_none(row.get("ExecutionProcessID")),
        row.get("UserID") if isinstance(row.get("UserID"), str) else None,
    )
    data = {key: value for key, value in row.items() if key not in _MORDOR_META}
    if data.get("EventType") in _NXLOG_EVENT_TYPES:
        del data["EventType"]
    map_event(event, data)
    if isinstance(row.get("Message"), str):
        event["message"] = row["Message"]
    return event


def sentinel_event(row: Row) -> Event | None:
    event_id = _int_or_none(row.get("EventID"))
    if event_id is None:
        return None
    event = base_event(
        as_text(row.get("Provider") or row.get("EventSourceName") or row.get("Source") or ""),
        as_text(row.get("Channel") or row.get("EventLog") or ""),
        event_id,
        as_text(row.get("Computer") or ""),
        row.get("TimeGenerated"),
    )
    data = _sentinel_data(row.get("EventData") or row.get("ParameterXml"))
    if row.get("Type") == "SecurityEvent":
        columns = {key: value for key, value in row.items() if key not in _SENTINEL_META}
        data = {**columns, **data}
    map_event(event, data)
    if isinstance(row.get("RenderedDescription"), str) and row["RenderedDescription"]:
        event["message"] = row["RenderedDescription"]
    return event


def _sentinel_data(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str) or not raw.strip():
        return {}
    text = raw.strip()
    if text.startswith("{"):
        loaded = orjson.loads(text)
        return loaded if isinstance(loaded, dict) else {}
    return _xml_data(text)


def _xml_data(text: str) -> dict[str, Any]:
    root = etree.fromstring(text.encode("utf-8", "surrogateescape"), PARSER)
    holder = root if _XML_DATA.match(f"<{etree.QName(root).localname} ") else None
    if holder is None:
        holder = next((node for node in root.iter() if etree.QName(node).localname == "EventData"), root)
    named: dict[str, Any] = {}
    unnamed: list[Any] = []
    for item in holder:
        if not isinstance(item.tag, str):
            continue
        name = item.get("Name")
        value = "".join(str(part) for part in item.itertext())
        if name is not None:
            named[name] = value
        else:
            unnamed.append(value)
    return {**unnamed_data(unnamed), **named}


def wazuh_event(row: Row) -> Event | None:
    system = row["win"]["system"]
    event_id = _int_or_none(system.get("eventID"))
    if event_id is None:
        return None
    event = base_event(
        as_text(system.get("providerName") or ""),
        as_text(system.get("channel") or ""),
        event_id,
        as_text(system.get("computer") or ""),
        system.get("systemTime"),
        _int_or_none(system.get("eventRecordID")),
        _int_or_none(system.get("processID")),
        system.get("securityUserID") if isinstance(system.get("securityUserID"), str) else None,
    )
    eventdata = row["win"].get("eventdata") or {}
    map_event(event, {key[:1].upper() + key[1:]: value for key, value in eventdata.items()})
    return event


def windows_json_event(row: Row) -> Event | None:
    if _is_sentinel(row):
        return sentinel_event(row)
    if _is_wazuh(row):
        return wazuh_event(row)
    if _is_mordor(row):
        return mordor_event(row)
    return None


@register
class WindowsJsonReader(Reader):
    name = "windows_json"
    description = "Windows events as JSON lines: OTRF/Mordor, Sentinel SecurityEvent/WindowsEvent, Wazuh"
    priority = 32

    @classmethod
    def sniff(cls, head: bytes, path: str) -> bool:
        row = first_json_object(head)
        return row is not None and (_is_sentinel(row) or _is_wazuh(row) or _is_mordor(row))

    def read(self, stream: BinaryIO, ctx: ReadContext) -> Iterator[Event]:
        yield from _read(stream, ctx, windows_json_event, "Windows JSON")
