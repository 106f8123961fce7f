"""From a Windows event (System fields and EventData) to one flat ECS event; shared by every Windows reader.

Readers build the common part with :func:`base_event` (whatever their source looks like: EVTX JSON, event
XML, Winlogbeat or Sentinel JSON) and then call :func:`map_event` with the EventData items. Mapping is
table-driven: for each provider family and event id a dict says which EventData name becomes which ECS
field (a plain key is copied; a callable converts). Items that are converted, and items no table names, are
also kept as they were under ``winlog.event_data.<Name>``. Sysmon for Linux goes through the same tables with
``host.os.type`` linux.

PowerShell 4104 script blocks split over several records are joined by :class:`ScriptBlockAssembler`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Final

from shellwatch.events import Event, Value, basename, canonical_ip, entity_id, format_timestamp
from shellwatch.ingest._argv import split_command_line, split_posix

EVENT_DATA: Final = "winlog.event_data."
SYSMON_PROVIDERS: Final = frozenset({"Microsoft-Windows-Sysmon", "Linux-Sysmon"})
SECURITY_PROVIDER: Final = "Microsoft-Windows-Security-Auditing"
POWERSHELL_PROVIDERS: Final = frozenset({"Microsoft-Windows-PowerShell", "PowerShell"})

_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?Z?(?: UTC)?$")
_KEY_VALUE_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z ]*?)\s*=\s?(.*?)\s*$", re.MULTILINE)
_HASH_ITEM = re.compile(r"([A-Za-z0-9]+)=([0-9A-Fa-f]+)")

Handler = Callable[[Event, str], None]
Rule = str | Handler
Table = dict[str, Rule]


# --------------------------------------------------------------------------- values


def timestamp(text: str) -> str | None:
    """``@timestamp`` text from a Windows time (``SystemTime``, ``UtcTime``, Sentinel times); None if odd."""
    if len(text) == 27 and text[10] == "T" and text[19] == "." and text[26] == "Z" and text[20:26].isdigit():
        return text  # already the canonical form (evtx-rs writes SystemTime so)
    match = _TIMESTAMP.match(text)
    if match is not None:
        fraction = (match.group(3) or "")[:6].ljust(6, "0")
        return f"{match.group(1)}T{match.group(2)}.{fraction}Z"
    try:
        return format_timestamp(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def as_text(value: object) -> str:
    """EventData values as text the way event XML writes them (``true``/``false`` for booleans)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "\n".join(as_text(item) for item in value)
    return str(value)


def as_int(text: str) -> int | None:
    """Decimal or ``0x`` hex text as an int; None when it is neither."""
    try:
        return int(text, 16) if text[:2] in ("0x", "0X") else int(text)
    except ValueError:
        return None


def strip_guid(text: str) -> str:
    return text.strip("{}").upper()


def _present(text: str) -> bool:
    return text not in ("", "-")


# --------------------------------------------------------------------------- handlers


def _path(prefix: str) -> Handler:
    path_key, name_key = f"{prefix}.executable", f"{prefix}.name"
    if prefix in ("file", "dll"):
        path_key = f"{prefix}.path"

    def handle(event: Event, text: str) -> None:
        if _present(text):
            event[path_key] = text
            event[name_key] = basename(text)

    return handle


def _file_path(event: Event, text: str) -> None:
    if not _present(text):
        return
    name = basename(text)
    event["file.path"] = text
    event["file.name"] = name
    if len(name) < len(text):
        event["file.directory"] = text[: len(text) - len(name) - 1]
    dot = name.rfind(".")
    if dot > 0:
        event["file.extension"] = name[dot + 1 :].lower()


def _int(key: str) -> Handler:
    def handle(event: Event, text: str) -> None:
        number = as_int(text)
        if number is not None:
            event[key] = number

    return handle


def _guid(key: str) -> Handler:
    def handle(event: Event, text: str) -> None:
        if _present(text):
            event[key] = strip_guid(text)

    return handle


def _keyword(key: str) -> Handler:
    def handle(event: Event, text: str) -> None:
        if _present(text):
            event[key] = text

    return handle


def _user(prefix: str) -> Handler:
    """``DOMAIN\\name`` (or a bare name) into ``<prefix>.name`` and ``<prefix>.domain``."""
    name_key, domain_key = f"{prefix}.name", f"{prefix}.domain"

    def handle(event: Event, text: str) -> None:
        if not _present(text):
            return
        domain, sep, name = text.rpartition("\\")
        event[name_key] = name
        if sep and domain and prefix == "user":
            event[domain_key] = domain

    return handle


def _hashes(prefix: str) -> Handler:
    """Sysmon ``Hashes`` (``MD5=..,SHA256=..,IMPHASH=..``) into ``<prefix>.hash.*`` and ``.pe.imphash``."""
    names = {
        "MD5": f"{prefix}.hash.md5",
        "SHA1": f"{prefix}.hash.sha1",
        "SHA256": f"{prefix}.hash.sha256",
        "IMPHASH": f"{prefix}.pe.imphash",
    }

    def handle(event: Event, text: str) -> None:
        found: list[str] = []
        for algorithm, digest in _HASH_ITEM.findall(text):
            key = names.get(algorithm.upper())
            if key is not None:
                event[key] = digest.lower()
                found.append(digest.lower())
        if found:
            event["related.hash"] = found

    return handle


def _ip(key: str) -> Handler:
    def handle(event: Event, text: str) -> None:
        address = _valid_ip(text)
        if address is not None:
            event[key] = address

    return handle


def _valid_ip(text: str) -> str | None:
    return canonical_ip(text.removeprefix("::ffff:")) if _present(text) else None


def _port(key: str) -> Handler:
    def handle(event: Event, text: str) -> None:
        number = as_int(text)
        if number:
            event[key] = number

    return handle


def _lower(key: str) -> Handler:
    def handle(event: Event, text: str) -> None:
        if _present(text):
            event[key] = text.lower()

    return handle


def _bool(key: str) -> Handler:
    def handle(event: Event, text: str) -> None:
        event[key] = text.lower() == "true"

    return handle


def _direction(event: Event, text: str) -> None:
    event["network.direction"] = "egress" if text.lower() == "true" else "ingress"


def _logon_type(event: Event, text: str) -> None:
    number = as_int(text)
    if number is not None:
        event["winlog.logon.type"] = LOGON_TYPES.get(number, str(number))


def _failure_reason(event: Event, text: str) -> None:
    if _present(text):
        event["winlog.logon.failure.reason"] = FAILURE_REASONS.get(text.strip(), text)


def _token_elevation(event: Event, text: str) -> None:
    if _present(text):
        event["shellwatch.windows.token_elevation"] = TOKEN_ELEVATION.get(text.strip(), text)


def _mandatory_label(event: Event, text: str) -> None:
    if _present(text):
        event["shellwatch.windows.integrity_level"] = INTEGRITY_LEVELS.get(text.strip().upper(), text)


def _sid(key: str) -> Handler:
    def handle(event: Event, text: str) -> None:
        if _present(text) and text != "S-1-0-0":
            event[key] = text

    return handle


LOGON_TYPES: Final[dict[int, str]] = {
    0: "System",
    2: "Interactive",
    3: "Network",
    4: "Batch",
    5: "Service",
    7: "Unlock",
    8: "NetworkCleartext",
    9: "NewCredentials",
    10: "RemoteInteractive",
    11: "CachedInteractive",
    12: "CachedRemoteInteractive",
    13: "CachedUnlock",
}
FAILURE_REASONS: Final[dict[str, str]] = {
    "%%2304": "An Error occured during Logon.",
    "%%2305": "The specified user account has expired.",
    "%%2306": "The NetLogon component is not active.",
    "%%2307": "Account locked out.",
    "%%2308": "The user has not been granted the requested logon type at this machine.",
    "%%2309": "The specified account's password has expired.",
    "%%2310": "Account currently disabled.",
    "%%2311": "Account logon time restriction violation.",
    "%%2312": "User not allowed to logon at this computer.",
    "%%2313": "Unknown user name or bad password.",
    "%%2314": "Domain sid inconsistent.",
    "%%2315": "Smartcard logon is required and was not used.",
}
TOKEN_ELEVATION: Final[dict[str, str]] = {
    "%%1936": "default",
    "%%1937": "full",
    "%%1938": "limited",
}
INTEGRITY_LEVELS: Final[dict[str, str]] = {
    "S-1-16-0": "Untrusted",
    "S-1-16-4096": "Low",
    "S-1-16-8192": "Medium",
    "S-1-16-8448": "MediumPlus",
    "S-1-16-12288": "High",
    "S-1-16-16384": "System",
    "S-1-16-20480": "Protected",
}


# --------------------------------------------------------------------------- tables

_SYSMON_COMMON: Final[Table] = {
    "ProcessGuid": _guid("process.entity_id"),
    "ProcessId": _int("process.pid"),
    "Image": _path("process"),
    "CommandLine": "process.command_line",
    "CurrentDirectory": "process.working_directory",
    "User": _user("user"),
    "ParentProcessGuid": _guid("process.parent.entity_id"),
    "ParentProcessId": _int("process.parent.pid"),
    "ParentImage": _path("process.parent"),
    "ParentCommandLine": "process.parent.command_line",
    "ParentUser": _user("process.parent.user"),
    "RuleName": _keyword("sysmon.rule_name"),
    "LogonGuid": _guid("sysmon.logon.guid"),
    "LogonId": "winlog.logon.id",
    "IntegrityLevel": "sysmon.integrity_level",
    "TerminalSessionId": "sysmon.terminal_session_id",
    "SourceProcessGuid": _guid("process.entity_id"),
    "SourceProcessGUID": _guid("process.entity_id"),
    "SourceProcessId": _int("process.pid"),
    "SourceImage": _path("process"),
    "SourceThreadId": _int("process.thread.id"),
    "TargetFilename": _file_path,
    "QueryName": "dns.question.name",
    "SourceIp": _ip("source.ip"),
    "SourcePort": _port("source.port"),
    "SourceHostname": _keyword("source.domain"),
    "DestinationIp": _ip("destination.ip"),
    "DestinationPort": _port("destination.port"),
    "DestinationHostname": _keyword("destination.domain"),
    "Protocol": _lower("network.transport"),
    "Initiated": _direction,
}


def _pe(prefix: str) -> Table:
    return {
        "FileVersion": _keyword(f"{prefix}.pe.file_version"),
        "Description": _keyword(f"{prefix}.pe.description"),
        "Product": _keyword(f"{prefix}.pe.product"),
        "Company": _keyword(f"{prefix}.pe.company"),
        "OriginalFileName": _keyword(f"{prefix}.pe.original_file_name"),
        "Hashes": _hashes(prefix),
    }


_SYSMON_TABLES: Final[dict[int, Table]] = {
    1: {**_SYSMON_COMMON, **_pe("process")},
    6: {**_SYSMON_COMMON, "ImageLoaded": _file_path, "Hashes": _hashes("file")},
    7: {
        **_SYSMON_COMMON,
        **_pe("dll"),
        "ImageLoaded": _path("dll"),
        "Signed": _bool("dll.code_signature.signed"),
        "Signature": _keyword("dll.code_signature.subject_name"),
        "SignatureStatus": _keyword("dll.code_signature.status"),
    },
    15: {**_SYSMON_COMMON, "Hashes": _hashes("file")},
    23: {**_SYSMON_COMMON, "Hashes": _hashes("file")},
    26: {**_SYSMON_COMMON, "Hashes": _hashes("file")},
}

_SUBJECT: Final[Table] = {
    "SubjectUserName": _keyword("user.name"),
    "SubjectDomainName": _keyword("user.domain"),
    "SubjectUserSid": _sid("user.id"),
    "SubjectLogonId": _keyword("winlog.logon.id"),
}
_TARGET_AS_USER: Final[Table] = {
    "TargetUserName": _keyword("user.name"),
    "TargetDomainName": _keyword("user.domain"),
    "TargetUserSid": _sid("user.id"),
    "TargetLogonId": _keyword("winlog.logon.id"),
}
_LOGON: Final[Table] = {
    **_TARGET_AS_USER,
    "LogonType": _logon_type,
    "IpAddress": _ip("source.ip"),
    "IpPort": _port("source.port"),
    "WorkstationName": _keyword("source.domain"),
    "ProcessName": _path("process"),
    "ProcessId": _port("process.pid"),
    "Status": _keyword("winlog.logon.failure.status"),
    "SubStatus": _keyword("winlog.logon.failure.sub_status"),
    "FailureReason": _failure_reason,
}
_SECURITY_GENERIC: Final[Table] = {
    **_SUBJECT,
    "ProcessName": _path("process"),
    "ProcessId": _int("process.pid"),
    "NewProcessName": _path("process"),
    "NewProcessId": _int("process.pid"),
}
_SECURITY_TABLES: Final[dict[int, Table]] = {
    4688: {
        **_SUBJECT,
        "NewProcessName": _path("process"),
        "NewProcessId": _int("process.pid"),
        "CommandLine": "process.command_line",
        "ProcessId": _int("process.parent.pid"),
        "ParentProcessName": _path("process.parent"),
        "TargetUserName": _keyword("user.target.name"),
        "TargetDomainName": _keyword("user.target.domain"),
        "TargetUserSid": _sid("user.target.id"),
        "TokenElevationType": _token_elevation,
        "MandatoryLabel": _mandatory_label,
    },
    4689: {
        **_SUBJECT,
        "ProcessName": _path("process"),
        "ProcessId": _int("process.pid"),
        "Status": _int("process.exit_code"),
    },
    4624: _LOGON,
    4625: _LOGON,
    4634: {**_TARGET_AS_USER, "LogonType": _logon_type},
    4647: _TARGET_AS_USER,
    4648: {
        **_SUBJECT,
        "TargetUserName": _keyword("user.target.name"),
        "TargetDomainName": _keyword("user.target.domain"),
        "TargetServerName": _keyword("destination.domain"),
        "IpAddress": _ip("source.ip"),
        "IpPort": _port("source.port"),
        "ProcessName": _path("process"),
        "ProcessId": _int("process.pid"),
    },
}

_POWERSHELL: Final[Table] = {
    "ScriptBlockText": "powershell.file.script_block_text",
    "ScriptBlockId": _guid("powershell.file.script_block_id"),
    "Path": _file_path,
    "Payload": "powershell.command.value",
}

# Keys of 4103 ContextInfo ("Host Application = ...") and of classic 400/800 details ("HostApplication=...").
_POWERSHELL_CONTEXT: Final[Table] = {
    "hostapplication": "process.command_line",
    "hostversion": "powershell.process.executable_version",
    "hostid": "powershell.id",
    "engineversion": "powershell.engine.version",
    "runspaceid": "powershell.runspace_id",
    "pipelineid": "powershell.pipeline_id",
    "commandname": "powershell.command.name",
    "commandtype": "powershell.command.type",
    "scriptname": _file_path,
    "user": _user("user"),
    "userid": _user("user"),
    "sequencenumber": _int("event.sequence"),
}


@dataclass(frozen=True, slots=True)
class Kind:
    """What an event is: ECS action, categories and types."""

    action: str | None
    category: tuple[str, ...] = ()
    type: tuple[str, ...] = ()


_SYSMON_KINDS: Final[dict[int, Kind]] = {
    1: Kind("process-created", ("process",), ("start",)),
    2: Kind("file-creation-time-changed", ("file",), ("change",)),
    3: Kind("network-connection", ("network",), ("connection", "start")),
    4: Kind("sysmon-state-changed", ("configuration",), ("change",)),
    5: Kind("process-terminated", ("process",), ("end",)),
    6: Kind("driver-loaded", ("driver",), ("start",)),
    7: Kind("image-loaded", ("library",), ("start",)),
    8: Kind("create-remote-thread", ("process",), ("change",)),
    9: Kind("raw-access-read", ("file",), ("access",)),
    10: Kind("process-access", ("process",), ("access",)),
    11: Kind("file-created", ("file",), ("creation",)),
    12: Kind("registry-object-added-or-deleted", ("registry",), ("change",)),
    13: Kind("registry-value-set", ("registry",), ("change",)),
    14: Kind("registry-object-renamed", ("registry",), ("change",)),
    15: Kind("file-stream-created", ("file",), ("creation",)),
    16: Kind("sysmon-config-changed", ("configuration",), ("change",)),
    17: Kind("pipe-created", ("file",), ("creation",)),
    18: Kind("pipe-connected", ("file",), ("access",)),
    19: Kind("wmi-filter-registered", ("configuration",), ("change",)),
    20: Kind("wmi-consumer-registered", ("configuration",), ("change",)),
    21: Kind("wmi-binding-registered", ("configuration",), ("change",)),
    22: Kind("dns-query", ("network",), ("protocol", "info")),
    23: Kind("file-deleted", ("file",), ("deletion",)),
    24: Kind("clipboard-changed", (), ()),
    25: Kind("process-tampering", ("process",), ("change",)),
    26: Kind("file-delete-detected", ("file",), ("deletion",)),
    27: Kind("file-block-executable", ("file",), ("denied",)),
    28: Kind("file-block-shredding", ("file",), ("denied",)),
    29: Kind("file-executable-detected", ("file",), ("creation",)),
    255: Kind("sysmon-error", (), ()),
}
_SECURITY_KINDS: Final[dict[int, Kind]] = {
    4688: Kind("process-created", ("process",), ("start",)),
    4689: Kind("process-exited", ("process",), ("end",)),
    4624: Kind("logged-in", ("authentication",), ("start",)),
    4625: Kind("logon-failed", ("authentication",), ("start",)),
    4634: Kind("logged-out", ("authentication",), ("end",)),
    4647: Kind("logged-out", ("authentication",), ("end",)),
    4648: Kind("logged-in-explicit", ("authentication",), ("start",)),
}
_POWERSHELL_KINDS: Final[dict[int, Kind]] = {
    4104: Kind("script-block-logged", ("process",), ("info",)),
    4103: Kind("module-logged", ("process",), ("info",)),
    4105: Kind("script-block-started", ("process",), ("start",)),
    4106: Kind("script-block-stopped", ("process",), ("end",)),
    400: Kind("engine-started", ("process",), ("start",)),
    403: Kind("engine-stopped", ("process",), ("end",)),
    600: Kind("provider-started", ("process",), ("info",)),
    800: Kind("pipeline-executed", ("process",), ("info",)),
}
_NO_KIND: Final = Kind(None)
_OUTCOMES: Final[dict[int, str]] = {4624: "success", 4625: "failure", 4648: "success"}


# --------------------------------------------------------------------------- families


@dataclass(frozen=True, slots=True, eq=False)
class Family:
    module: str
    dataset: str
    tables: dict[int, Table]
    default: Table
    kinds: dict[int, Kind]


_FAMILIES: Final[dict[str, Family]] = {
    "Microsoft-Windows-Sysmon": Family(
        "sysmon", "windows.sysmon_operational", _SYSMON_TABLES, _SYSMON_COMMON, _SYSMON_KINDS
    ),
    "Linux-Sysmon": Family("sysmon", "sysmon_linux.log", _SYSMON_TABLES, _SYSMON_COMMON, _SYSMON_KINDS),
    SECURITY_PROVIDER: Family(
        "security", "windows.security", _SECURITY_TABLES, _SECURITY_GENERIC, _SECURITY_KINDS
    ),
    "Microsoft-Windows-PowerShell": Family(
        "powershell", "windows.powershell_operational", {}, _POWERSHELL, _POWERSHELL_KINDS
    ),
    "PowerShell": Family("powershell", "windows.powershell", {}, _POWERSHELL, _POWERSHELL_KINDS),
}


@lru_cache(maxsize=256)
def _generic_family(channel: str) -> Family:
    slug = re.sub(r"[^a-z0-9]+", "_", channel.lower()).strip("_") or "unknown"
    return Family("windows", f"windows.{slug}", {}, {}, {})


def family(provider: str, channel: str) -> Family:
    found = _FAMILIES.get(provider)
    return found if found is not None else _generic_family(channel)


# --------------------------------------------------------------------------- building events


def base_event(
    provider: str,
    channel: str,
    event_id: int,
    computer: str,
    system_time: str | None,
    record_id: int | None = None,
    pid: int | None = None,
    user_sid: str | None = None,
) -> Event:
    """The fields every Windows event has, from its System element."""
    fam = family(provider, channel)
    code = str(event_id)
    event: Event = {
        "event.kind": "event",
        "event.code": code,
        "event.provider": provider,
        "event.module": fam.module,
        "event.dataset": fam.dataset,
        "winlog.channel": channel,
        "winlog.provider_name": provider,
        "winlog.event_id": code,
        "host.os.type": "linux" if provider == "Linux-Sysmon" else "windows",
    }
    if computer:
        event["host.name"] = computer
        event["winlog.computer_name"] = computer
    if system_time:
        moment = timestamp(system_time)
        if moment is not None:
            event["@timestamp"] = moment
    if record_id is not None:
        event["winlog.record_id"] = record_id
    if pid is not None:
        event["winlog.process.pid"] = pid
    if user_sid:
        event["winlog.user.identifier"] = user_sid
    return event


def map_event(event: Event, data: Mapping[str, object]) -> Event:
    """Add the EventData items and the event's kind to ``event``; returns it.

    An item copied unchanged to an ECS field is kept only there; every other item is also kept as it was
    under ``winlog.event_data.<Name>`` (converted ones too: ``User``, ``Hashes``, ``LogonType``...).
    """
    fam = family(str(event["event.provider"]), str(event["winlog.channel"]))
    event_id = int(str(event["event.code"]))
    for name, raw_key, rule in _plan(fam, event_id, tuple(data)):
        value = data[name]
        if value is None or value == "":
            continue
        text = value if type(value) is str else as_text(value)
        if rule is None:
            event[raw_key] = text
        elif type(rule) is str:
            event[rule] = text
        else:
            event[raw_key] = text
            rule(event, text)  # type: ignore[operator]
    _finish(event, fam, event_id)
    return event


Plan = tuple[tuple[str, str, Rule | None], ...]


@lru_cache(maxsize=4096)
def _plan(fam: Family, event_id: int, names: tuple[str, ...]) -> Plan:
    """For one layout of EventData names: each name, its raw key and its rule (events of a kind share one)."""
    rules = fam.tables.get(event_id, fam.default)
    # Some providers name items with spaces ("New Value" in Defender 5007); Sigma and the other tools
    # write them without ("NewValue"), so the raw key drops the spaces.
    return tuple((name, EVENT_DATA + name.replace(" ", ""), rules.get(name)) for name in names)


def _finish(event: Event, fam: Family, event_id: int) -> None:
    kind = fam.kinds.get(event_id, _NO_KIND)
    if kind.action is not None:
        event["event.action"] = kind.action
    if kind.category:
        event["event.category"] = list(kind.category)
        event["event.type"] = list(kind.type)
    finisher = _FINISHERS.get((fam.module, event_id))
    if finisher is not None:
        finisher(event)


def _set_args(event: Event) -> None:
    """``process.args`` as the OS would split the command line (Sysmon for Linux logs a shell-like one)."""
    command_line = event.get("process.command_line")
    if isinstance(command_line, str) and command_line:
        linux = event.get("host.os.type") == "linux"
        args = split_posix(command_line) if linux else split_command_line(command_line)
        event["process.args"] = args
        event["process.args_count"] = len(args)


def _finish_sysmon_process(event: Event) -> None:
    _set_args(event)
    utc = event.get(EVENT_DATA + "UtcTime")
    if isinstance(utc, str):
        start = timestamp(utc)
        if start is not None:
            event["process.start"] = start
    _related_user(event)


def _finish_4688(event: Event) -> None:
    _set_args(event)
    pid = event.get("process.pid")
    if pid is not None:
        host = event.get("host.name", "")
        event["process.entity_id"] = entity_id(host, pid, event.get("@timestamp", ""))
        event["process.start"] = event.get("@timestamp")
    _related_user(event)


def _finish_logon(event: Event) -> None:
    event_id = int(str(event["event.code"]))
    event["event.outcome"] = _OUTCOMES.get(event_id, "unknown")
    if event_id == 4625:
        status = event.get("winlog.logon.failure.sub_status") or event.get("winlog.logon.failure.status")
        if status is not None:
            event["event.reason"] = event.get("winlog.logon.failure.reason", status)
    _related_user(event)
    _related_ip(event)


def _finish_network(event: Event) -> None:
    _related_user(event)
    _related_ip(event)


def _finish_4103(event: Event) -> None:
    context = event.get(EVENT_DATA + "ContextInfo")
    if isinstance(context, str):
        _apply_context(event, context)
    payload = event.get("powershell.command.value")
    if isinstance(payload, str):
        lines = [line.strip() for line in payload.splitlines() if line.strip()]
        if lines:
            event["powershell.command.invocation_details"] = lines
    _related_user(event)


def _finish_classic(event: Event) -> None:
    for index in (3, 2):
        details = event.get(f"{EVENT_DATA}param{index}")
        if isinstance(details, str) and "HostApplication=" in details:
            _apply_context(event, details)
            break
    if event.get("event.code") == "800":
        pipeline = event.get(EVENT_DATA + "param1")
        if isinstance(pipeline, str) and pipeline.strip():
            event["powershell.command.value"] = pipeline
    _related_user(event)


def _apply_context(event: Event, text: str) -> None:
    for key, value in _KEY_VALUE_LINE.findall(text):
        rule = _POWERSHELL_CONTEXT.get(key.replace(" ", "").lower())
        if rule is None or not value:
            continue
        if type(rule) is str:
            event[rule] = value
        else:
            rule(event, value)  # type: ignore[operator]
    command = event.get("process.command_line")
    if isinstance(command, str) and command:
        executable = _first_token(command)
        event["process.name"] = basename(executable)
        if "\\" in executable or "/" in executable:
            event["process.executable"] = executable


def _first_token(command: str) -> str:
    command = command.strip()
    if command.startswith('"'):
        end = command.find('"', 1)
        return command[1:end] if end > 0 else command[1:]
    return command.split(" ", 1)[0]


def _related_user(event: Event) -> None:
    names = [
        name
        for name in (event.get("user.name"), event.get("user.target.name"))
        if isinstance(name, str) and name
    ]
    if names:
        event["related.user"] = list(dict.fromkeys(names))


def _related_ip(event: Event) -> None:
    addresses = [
        address
        for address in (event.get("source.ip"), event.get("destination.ip"))
        if isinstance(address, str)
    ]
    if addresses:
        event["related.ip"] = list(dict.fromkeys(addresses))


_FINISHERS: Final[dict[tuple[str, int], Callable[[Event], None]]] = {
    ("sysmon", 1): _finish_sysmon_process,
    ("sysmon", 3): _finish_network,
    ("security", 4688): _finish_4688,
    ("security", 4624): _finish_logon,
    ("security", 4625): _finish_logon,
    ("security", 4648): _finish_logon,
    ("security", 4634): _related_user,
    ("security", 4647): _related_user,
    ("powershell", 4103): _finish_4103,
    ("powershell", 400): _finish_classic,
    ("powershell", 403): _finish_classic,
    ("powershell", 600): _finish_classic,
    ("powershell", 800): _finish_classic,
}


def unnamed_data(values: list[object]) -> dict[str, object]:
    """Unnamed ``<Data>`` items (classic logs) under the names Winlogbeat gives them: param1, param2..."""
    return {f"param{index}": value for index, value in enumerate(values, start=1)}


# --------------------------------------------------------------------------- 4104 reassembly


def is_script_block_part(event: Event) -> bool:
    """Whether ``event`` is one part of a 4104 script block split over several records."""
    if event.get("event.code") != "4104" or event.get("event.module") != "powershell":
        return False
    total = event.get(EVENT_DATA + "MessageTotal")
    return isinstance(total, str) and total not in ("1", "0")


@dataclass(slots=True)
class _Pending:
    total: int
    parts: dict[int, Event] = field(default_factory=dict)


class ScriptBlockAssembler:
    """Joins 4104 parts (MessageNumber of MessageTotal) by (host, ScriptBlockId) into one event.

    :meth:`add` returns the events ready to go out: a whole block once its last part arrives (parts joined
    in MessageNumber order, the first part's fields kept), or nothing while parts are missing. Single-part
    blocks pass straight through. At most ``limit`` blocks wait; beyond that the oldest goes out
    incomplete. :meth:`flush` emits what is still waiting at end of input, marked
    ``shellwatch.powershell.incomplete``; no part is ever dropped.
    """

    def __init__(self, limit: int = 1024) -> None:
        self.limit = limit
        self._pending: OrderedDict[tuple[Value, str], _Pending] = OrderedDict()

    def add(self, event: Event) -> Iterator[Event]:
        if not is_script_block_part(event):
            yield event
            return
        total = as_int(str(event.get(EVENT_DATA + "MessageTotal"))) or 1
        number = as_int(str(event.get(EVENT_DATA + "MessageNumber", "1"))) or 1
        key = (event.get("host.name"), str(event.get("powershell.file.script_block_id", "")))
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending(total)
        pending.parts.setdefault(number, event)
        if len(pending.parts) >= pending.total:
            del self._pending[key]
            yield _joined(pending, complete=True)
        elif len(self._pending) > self.limit:
            _, oldest = self._pending.popitem(last=False)
            yield _joined(oldest, complete=False)

    def flush(self) -> Iterator[Event]:
        while self._pending:
            _, pending = self._pending.popitem(last=False)
            yield _joined(pending, complete=False)


def _joined(pending: _Pending, *, complete: bool) -> Event:
    numbers = sorted(pending.parts)
    first = pending.parts[numbers[0]]
    event = dict(first)
    texts = [pending.parts[number].get("powershell.file.script_block_text", "") for number in numbers]
    event["powershell.file.script_block_text"] = "".join(str(text) for text in texts)
    event["powershell.file.script_block_part_count"] = pending.total
    event.pop(EVENT_DATA + "ScriptBlockText", None)
    event.pop(EVENT_DATA + "MessageNumber", None)
    record_ids = [pending.parts[number].get("winlog.record_id") for number in numbers]
    event["shellwatch.powershell.record_ids"] = [str(record) for record in record_ids if record is not None]
    if not complete:
        event["shellwatch.powershell.incomplete"] = True
        event["shellwatch.powershell.parts_seen"] = [str(number) for number in numbers]
    return event
