"""Which Sigma log sources an event belongs to: the routing step of detection.

A rule runs on an event when the rule's log source covers one of the event's log sources
(:meth:`LogSource.covers`). An event usually belongs to a service log source (``product: windows,
service: sysmon``) and, when it is one of Sigma's generic kinds, to a category too (``category:
process_creation, product: windows``). The answer depends only on ``event.module``, ``event.dataset``,
``event.code``, ``host.os.type`` and ``event.action`` (plus the program name for syslog), so it is
computed once per combination and cached.

Routing (``docs/sigma-fields.md`` has the full table):

* Sysmon (Windows): ``product: windows, service: sysmon`` and the Sigma category of the event id
  (1 process_creation, 3 network_connection, 7 image_load, 11 file_event, ... as SigmaHQ's Sysmon
  pipeline names them). Sysmon for Linux: the same categories with ``product: linux``.
* Security: ``service: security``; 4688 is also ``category: process_creation``.
* PowerShell: ``service: powershell`` (4104 ps_script, 4103 ps_module) and ``service: powershell-classic``
  (400 ps_classic_start, 600 ps_classic_provider_start, 800 ps_classic_script).
* Any other Windows channel: the Sigma service whose channel it is (pySigma's
  ``windows_logsource_mapping``: System is ``system``, TaskScheduler/Operational ``taskscheduler``...).
* auditd (and auoms): ``product: linux, service: auditd`` for every event; an execution is also
  ``process_creation``, a connect or accept ``network_connection``, a file creation ``file_event``.
* eslogger exec, osquery process events: ``process_creation`` on macOS or Linux; osquery socket events
  ``network_connection``.
* syslog and journald: ``service: auth`` for every authentication/authorization message, plus ``sshd``,
  ``sudo``, ``su`` or ``cron`` by what it reports (``event.action``) or else by program; other lines
  ``service: syslog`` and the program's own name as service (``service: vsftpd`` rules see vsftpd's
  lines). In auth events ``process.name`` can be the command sudo or cron ran, so it never becomes a
  service there.
* Zeek: ``product: zeek, service: <log path>`` (conn, dns, http...). Zeek conn and NetFlow records are
  also ``category: firewall``: a connection record seen on the network, which is what SigmaHQ's
  firewall rules (src_ip, dst_ip, dst_port) describe.
* Any other module (a mapped JSON export, for example): from ``event.category`` and ``event.type``: a
  process start is ``process_creation``, a network connection ``network_connection``, on the host's OS.
* Shell history: ``category: shell_history`` (with the host's OS as product when known). A typed
  command line is not a process creation: it may hold several commands or shell builtins, it may never
  have run, and it has no executable, parent or pid; process_creation rules would misfire on it, so
  rules that want history say so with this category.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Final

from sigma.pipelines.common import windows_logsource_mapping

from shellwatch.detect.model import LogSource
from shellwatch.events import Event

Route = tuple[LogSource, ...]
Key = tuple[str | None, ...]

SYSMON_CATEGORIES: Final[dict[str, tuple[str, ...]]] = {
    "1": ("process_creation",),
    "2": ("file_change",),
    "3": ("network_connection",),
    "4": ("sysmon_status",),
    "5": ("process_termination",),
    "6": ("driver_load",),
    "7": ("image_load",),
    "8": ("create_remote_thread",),
    "9": ("raw_access_thread",),
    "10": ("process_access",),
    "11": ("file_event",),
    "12": ("registry_add", "registry_delete", "registry_event"),
    "13": ("registry_set", "registry_event"),
    "14": ("registry_rename", "registry_event"),
    "15": ("create_stream_hash",),
    "16": ("sysmon_status",),
    "17": ("pipe_created",),
    "18": ("pipe_created",),
    "19": ("wmi_event",),
    "20": ("wmi_event",),
    "21": ("wmi_event",),
    "22": ("dns_query",),
    "23": ("file_delete",),
    "24": ("clipboard_change",),
    "25": ("process_tampering",),
    "26": ("file_delete", "file_delete_detected"),
    "27": ("file_block_executable",),
    "28": ("file_block_shredding",),
    "29": ("file_executable_detected",),
    "255": ("sysmon_error",),
}
"""Sysmon event id → Sigma categories (as SigmaHQ's Sysmon pipeline assigns them)."""

SECURITY_CATEGORIES: Final[dict[str, tuple[str, ...]]] = {"4688": ("process_creation",)}
POWERSHELL_CATEGORIES: Final[dict[str, tuple[str, ...]]] = {
    "4104": ("ps_script",),
    "4103": ("ps_module",),
    "400": ("ps_classic_start",),
    "600": ("ps_classic_provider_start",),
    "800": ("ps_classic_script",),
}
POWERSHELL_SERVICES: Final[dict[str, str]] = {
    "windows.powershell_operational": "powershell",
    "windows.powershell": "powershell-classic",
}

AUDITD_CATEGORIES: Final[dict[str, str]] = {
    "executed": "process_creation",
    "connected-to": "network_connection",
    "accepted-connection-from": "network_connection",
    "created-file": "file_event",
}
"""auditd ``event.action`` → Sigma category (``event.action`` names the syscall's class)."""

OSQUERY_CATEGORIES: Final[dict[str, str]] = {
    "osquery.process_events": "process_creation",
    "osquery.es_process_events": "process_creation",
    "osquery.socket_events": "network_connection",
}
OSQUERY_DEFAULT_OS: Final[dict[str, str]] = {
    "osquery.process_events": "linux",
    "osquery.es_process_events": "macos",
    "osquery.socket_events": "linux",
}

SYSLOG_PROGRAMS: Final[dict[str, str]] = {
    "sshd": "sshd",
    "sshd-session": "sshd",
    "sudo": "sudo",
    "su": "su",
    "cron": "cron",
    "crond": "cron",
    "CRON": "cron",
}
"""syslog program (``process.name``) → Sigma service."""

AUTH_ACTION_SERVICES: Final[tuple[tuple[str, str], ...]] = (
    ("ssh_", "sshd"),
    ("sudo", "sudo"),
    ("cron", "cron"),
)
"""``event.action`` prefix → Sigma service, for auth events whose program name is not known."""


def _slug(channel: str) -> str:
    """The ``windows.<slug>`` dataset name the Windows readers give a channel."""
    return re.sub(r"[^a-z0-9]+", "_", channel.lower()).strip("_")


def _channel_services() -> dict[str, str]:
    services: dict[str, str] = {}
    for service, channels in windows_logsource_mapping.items():
        for channel in [channels] if isinstance(channels, str) else channels:
            services.setdefault(f"windows.{_slug(channel)}", service)
    return services


WINDOWS_CHANNEL_SERVICES: Final[dict[str, str]] = _channel_services()
"""``event.dataset`` of a Windows channel → Sigma service."""


def event_logsources(event: Event) -> Route:
    """The Sigma log sources ``event`` belongs to (empty when it fits none)."""
    module = _text(event.get("event.module"))
    if module not in _ROUTERS:
        return _generic(
            _text(event.get("host.os.type")),
            _tuple(event.get("event.category")),
            _tuple(event.get("event.type")),
        )
    program = event.get("process.name") if module == "system" else None
    return _route(
        _text(module),
        _text(event.get("event.dataset")),
        _text(event.get("event.code")),
        _text(event.get("host.os.type")),
        _text(event.get("event.action")),
        _text(program),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _tuple(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return (value,) if isinstance(value, str) else ()


@lru_cache(maxsize=4096)
def _route(
    module: str | None,
    dataset: str | None,
    code: str | None,
    os: str | None,
    action: str | None,
    program: str | None,
) -> Route:
    return tuple(dict.fromkeys(_ROUTERS[module or ""]((dataset, code, os, action, program))))


GENERIC_CATEGORIES: Final[tuple[tuple[str, str, str], ...]] = (
    ("process", "start", "process_creation"),
    ("network", "connection", "network_connection"),
    ("file", "creation", "file_event"),
)
"""(ECS category, ECS type, Sigma category) for events of modules without their own routing."""


@lru_cache(maxsize=1024)
def _generic(os: str | None, categories: tuple[str, ...], types: tuple[str, ...]) -> Route:
    return tuple(
        LogSource(category=sigma, product=os)
        for category, kind, sigma in GENERIC_CATEGORIES
        if category in categories and kind in types
    )


def _categories(product: str | None, categories: tuple[str, ...], service: str | None = None) -> Route:
    return tuple(LogSource(category=category, product=product, service=service) for category in categories)


def _sysmon(key: Key) -> Route:
    _dataset, code, os, _action, _program = key
    product = os or "windows"
    return (
        *_categories(product, SYSMON_CATEGORIES.get(code or "", ())),
        LogSource(product=product, service="sysmon"),
    )


def _security(key: Key) -> Route:
    _dataset, code, _os, _action, _program = key
    return (
        *_categories("windows", SECURITY_CATEGORIES.get(code or "", ())),
        LogSource(product="windows", service="security"),
    )


def _powershell(key: Key) -> Route:
    dataset, code, _os, _action, _program = key
    service = POWERSHELL_SERVICES.get(dataset or "", "powershell")
    return (
        *_categories("windows", POWERSHELL_CATEGORIES.get(code or "", ())),
        LogSource(product="windows", service=service),
    )


def _windows(key: Key) -> Route:
    dataset = key[0]
    service = WINDOWS_CHANNEL_SERVICES.get(dataset or "")
    return (LogSource(product="windows", service=service),)


def _auditd(key: Key) -> Route:
    _dataset, _code, _os, action, _program = key
    category = AUDITD_CATEGORIES.get(action or "")
    found = (LogSource(category=category, product="linux"),) if category else ()
    return (*found, LogSource(product="linux", service="auditd"))


def _eslogger(key: Key) -> Route:
    dataset = key[0]
    return (LogSource(category="process_creation", product="macos"),) if dataset == "eslogger.exec" else ()


def _osquery(key: Key) -> Route:
    dataset, _code, os, action, _program = key
    category = OSQUERY_CATEGORIES.get(dataset or "")
    product = os or OSQUERY_DEFAULT_OS.get(dataset or "")
    if category is None and dataset == "osquery.processes" and action == "added" and os:
        category, product = "process_creation", os
    return (LogSource(category=category, product=product),) if category else ()


def _system(key: Key) -> Route:
    dataset, _code, _os, action, program = key
    if dataset == "system.auth":
        services = [_auth_action_service(action) or SYSLOG_PROGRAMS.get(program or ""), "auth"]
    else:
        own = program.lower() if program and program.isidentifier() else None
        services = [SYSLOG_PROGRAMS.get(program or ""), "syslog", own]
    return tuple(LogSource(product="linux", service=service) for service in services if service)


def _auth_action_service(action: str | None) -> str | None:
    for prefix, service in AUTH_ACTION_SERVICES:
        if action is not None and action.startswith(prefix):
            return service
    return "su" if action == "su" else None


def _zeek(key: Key) -> Route:
    dataset = key[0] or ""
    path = dataset.removeprefix("zeek.")
    flows = (LogSource(category="firewall"),) if path == "conn" else ()
    return (LogSource(product="zeek", service=path), *flows)


def _netflow(key: Key) -> Route:
    return (LogSource(category="firewall"),)


def _shell_history(key: Key) -> Route:
    os = key[2]
    return (LogSource(category="shell_history", product=os),)


_ROUTERS: Final[dict[str, Callable[[Key], Route]]] = {
    "sysmon": _sysmon,
    "security": _security,
    "powershell": _powershell,
    "windows": _windows,
    "auditd": _auditd,
    "eslogger": _eslogger,
    "osquery": _osquery,
    "system": _system,
    "zeek": _zeek,
    "netflow": _netflow,
    "shell_history": _shell_history,
}
"""``event.module`` → the function that routes its events."""
