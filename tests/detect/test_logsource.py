"""Routing events to Sigma log sources."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from shellwatch.detect import logsource
from shellwatch.detect.logsource import WINDOWS_CHANNEL_SERVICES, event_logsources
from shellwatch.detect.model import LogSource
from shellwatch.events import Event

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ingest"

WIN_PROCESS = LogSource("process_creation", "windows")
SYSMON = LogSource(product="windows", service="sysmon")
SECURITY = LogSource(product="windows", service="security")
AUDITD = LogSource(product="linux", service="auditd")


def sysmon(code: str, os: str = "windows") -> Event:
    dataset = "windows.sysmon_operational" if os == "windows" else "sysmon_linux.log"
    return {"event.module": "sysmon", "event.dataset": dataset, "event.code": code, "host.os.type": os}


def windows(module: str, dataset: str, code: str) -> Event:
    return {"event.module": module, "event.dataset": dataset, "event.code": code, "host.os.type": "windows"}


def auditd(action: str, code: str = "SYSCALL") -> Event:
    return {
        "event.module": "auditd",
        "event.dataset": "auditd.log",
        "event.code": code,
        "event.action": action,
        "host.os.type": "linux",
    }


def syslog(dataset: str, action: str | None, program: str | None) -> Event:
    event: Event = {"event.module": "system", "event.dataset": dataset}
    if action is not None:
        event["event.action"] = action
    if program is not None:
        event["process.name"] = program
    return event


@pytest.mark.parametrize(
    ("code", "categories"),
    [
        ("1", ["process_creation"]),
        ("3", ["network_connection"]),
        ("5", ["process_termination"]),
        ("6", ["driver_load"]),
        ("7", ["image_load"]),
        ("8", ["create_remote_thread"]),
        ("10", ["process_access"]),
        ("11", ["file_event"]),
        ("12", ["registry_add", "registry_delete", "registry_event"]),
        ("13", ["registry_set", "registry_event"]),
        ("14", ["registry_rename", "registry_event"]),
        ("15", ["create_stream_hash"]),
        ("17", ["pipe_created"]),
        ("18", ["pipe_created"]),
        ("19", ["wmi_event"]),
        ("21", ["wmi_event"]),
        ("22", ["dns_query"]),
        ("23", ["file_delete"]),
        ("25", ["process_tampering"]),
        ("26", ["file_delete", "file_delete_detected"]),
        ("4", ["sysmon_status"]),
        ("999", []),
    ],
)
def test_sysmon_event_ids_to_categories(code: str, categories: list[str]) -> None:
    expected = (*(LogSource(category, "windows") for category in categories), SYSMON)
    assert event_logsources(sysmon(code)) == expected


def test_sysmon_for_linux_is_linux() -> None:
    assert event_logsources(sysmon("1", "linux")) == (
        LogSource("process_creation", "linux"),
        LogSource(product="linux", service="sysmon"),
    )
    assert event_logsources(sysmon("3", "linux"))[0] == LogSource("network_connection", "linux")


def test_security_4688_is_process_creation() -> None:
    assert event_logsources(windows("security", "windows.security", "4688")) == (WIN_PROCESS, SECURITY)
    assert event_logsources(windows("security", "windows.security", "4624")) == (SECURITY,)


@pytest.mark.parametrize(
    ("dataset", "code", "expected"),
    [
        ("windows.powershell_operational", "4104", ("ps_script", "powershell")),
        ("windows.powershell_operational", "4103", ("ps_module", "powershell")),
        ("windows.powershell", "400", ("ps_classic_start", "powershell-classic")),
        ("windows.powershell", "600", ("ps_classic_provider_start", "powershell-classic")),
        ("windows.powershell", "800", ("ps_classic_script", "powershell-classic")),
        ("windows.powershell_operational", "4105", (None, "powershell")),
    ],
)
def test_powershell(dataset: str, code: str, expected: tuple[str | None, str]) -> None:
    category, service = expected
    found = event_logsources(windows("powershell", dataset, code))
    assert found[-1] == LogSource(product="windows", service=service)
    assert found[:-1] == ((LogSource(category, "windows"),) if category else ())


@pytest.mark.parametrize(
    ("dataset", "service"),
    [
        ("windows.system", "system"),
        ("windows.application", "application"),
        ("windows.security", "security"),
        ("windows.microsoft_windows_taskscheduler_operational", "taskscheduler"),
        ("windows.microsoft_windows_wmi_activity_operational", "wmi"),
        ("windows.microsoft_windows_windows_defender_operational", "windefend"),
        ("windows.microsoft_windows_bits_client_operational", "bits-client"),
        ("windows.some_vendor_log", None),
    ],
)
def test_other_windows_channels(dataset: str, service: str | None) -> None:
    assert event_logsources(windows("windows", dataset, "1")) == (
        LogSource(product="windows", service=service),
    )


def test_channel_table_comes_from_pysigma() -> None:
    assert WINDOWS_CHANNEL_SERVICES["windows.microsoft_windows_powershell_operational"] == "powershell"
    assert WINDOWS_CHANNEL_SERVICES["windows.windows_powershell"] == "powershell-classic"


@pytest.mark.parametrize(
    ("action", "category"),
    [
        ("executed", "process_creation"),
        ("connected-to", "network_connection"),
        ("accepted-connection-from", "network_connection"),
        ("created-file", "file_event"),
        ("opened-file", None),
        ("user_login", None),
    ],
)
def test_auditd(action: str, category: str | None) -> None:
    expected = (LogSource(category, "linux"), AUDITD) if category else (AUDITD,)
    assert event_logsources(auditd(action)) == expected


def test_auoms_execution() -> None:
    event = {**auditd("executed", "AUOMS_EXECVE"), "event.dataset": "auditd.auoms"}
    assert event_logsources(event) == (LogSource("process_creation", "linux"), AUDITD)


def test_macos_and_osquery_process_events() -> None:
    exec_event: Event = {
        "event.module": "eslogger",
        "event.dataset": "eslogger.exec",
        "host.os.type": "macos",
    }
    fork_event: Event = {
        "event.module": "eslogger",
        "event.dataset": "eslogger.fork",
        "host.os.type": "macos",
    }
    assert event_logsources(exec_event) == (LogSource("process_creation", "macos"),)
    assert event_logsources(fork_event) == ()
    linux: Event = {
        "event.module": "osquery",
        "event.dataset": "osquery.process_events",
        "event.action": "execve",
    }
    mac: Event = {"event.module": "osquery", "event.dataset": "osquery.es_process_events"}
    sockets: Event = {"event.module": "osquery", "event.dataset": "osquery.socket_events"}
    snapshot: Event = {
        "event.module": "osquery",
        "event.dataset": "osquery.processes",
        "event.action": "added",
        "host.os.type": "linux",
    }
    assert event_logsources(linux) == (LogSource("process_creation", "linux"),)
    assert event_logsources(mac) == (LogSource("process_creation", "macos"),)
    assert event_logsources(sockets) == (LogSource("network_connection", "linux"),)
    assert event_logsources(snapshot) == (LogSource("process_creation", "linux"),)


@pytest.mark.parametrize(
    ("event", "services"),
    [
        (syslog("system.auth", "ssh_login", "sshd"), ["sshd", "auth"]),
        (syslog("system.auth", "sudo-command", "su"), ["sudo", "auth"]),
        (syslog("system.auth", "sudo-command", "python3"), ["sudo", "auth"]),
        (syslog("system.auth", "cron-command", "sh"), ["cron", "auth"]),
        (syslog("system.auth", "su", "su"), ["su", "auth"]),
        (syslog("system.auth", "session-opened", "sudo"), ["sudo", "auth"]),
        (syslog("system.auth", "user-created", "useradd"), ["auth"]),
        (syslog("system.syslog", None, "vsftpd"), ["syslog", "vsftpd"]),
        (syslog("system.syslog", None, "CRON"), ["cron", "syslog"]),
        (syslog("system.syslog", None, "systemd-logind"), ["syslog"]),
        (syslog("system.syslog", None, None), ["syslog"]),
    ],
)
def test_syslog_services(event: Event, services: list[str]) -> None:
    assert event_logsources(event) == tuple(
        LogSource(product="linux", service=service) for service in services
    )


def test_network_sensors() -> None:
    conn: Event = {"event.module": "zeek", "event.dataset": "zeek.conn"}
    dns: Event = {"event.module": "zeek", "event.dataset": "zeek.dns"}
    flow: Event = {"event.module": "netflow", "event.dataset": "netflow.log"}
    assert event_logsources(conn) == (LogSource(product="zeek", service="conn"), LogSource("firewall"))
    assert event_logsources(dns) == (LogSource(product="zeek", service="dns"),)
    assert event_logsources(flow) == (LogSource("firewall"),)


def test_shell_history_is_its_own_category() -> None:
    bash: Event = {"event.module": "shell_history", "event.dataset": "shell_history.bash"}
    mac: Event = {**bash, "host.os.type": "macos"}
    assert event_logsources(bash) == (LogSource("shell_history"),)
    assert event_logsources(mac) == (LogSource("shell_history", "macos"),)
    assert not LogSource("process_creation", "linux").covers(event_logsources(mac)[0])


def test_other_modules_route_by_ecs_category() -> None:
    edr: Event = {
        "event.module": "exampleedr",
        "event.category": ["process"],
        "event.type": ["start"],
        "host.os.type": "windows",
    }
    net: Event = {"event.module": "x", "event.category": "network", "event.type": ["connection", "start"]}
    assert event_logsources(edr) == (WIN_PROCESS,)
    assert event_logsources(net) == (LogSource("network_connection"),)
    assert event_logsources({"event.module": "x"}) == ()
    assert event_logsources({}) == ()


def test_rules_cover_the_routed_log_sources() -> None:
    sources = event_logsources(sysmon("1"))
    assert any(LogSource("process_creation", "windows").covers(source) for source in sources)
    assert any(LogSource(product="windows").covers(source) for source in sources)
    assert any(LogSource(product="windows", service="sysmon").covers(source) for source in sources)
    assert not any(LogSource(product="windows", service="security").covers(source) for source in sources)
    assert not any(LogSource("process_creation", "linux").covers(source) for source in sources)


def test_routes_are_cached_per_key() -> None:
    logsource._route.cache_clear()
    for pid in range(50):
        event_logsources({**sysmon("1"), "process.pid": pid})
    info = logsource._route.cache_info()
    assert (info.misses, info.hits) == (1, 49)


NOT_AN_EXEC = {
    "fork": "a copy of the parent, same image: Sigma's process_creation is an exec",
    "daemon_start": "the audit daemon reporting its own start",
    "user_cmd": "sudo's audit record of the command it will run, not the exec itself",
}


def golden_events() -> list[Event]:
    events: list[Event] = []
    for path in sorted(FIXTURES.glob("*/*.expected.jsonl")):
        events.extend(orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip())
    return events


def test_every_golden_process_start_of_a_known_os_has_a_process_creation_source() -> None:
    """Each reader's real process-start events reach process_creation rules of their OS (history excepted)."""
    missing = []
    for event in golden_events():
        categories, types = event.get("event.category", []), event.get("event.type", [])
        os = event.get("host.os.type")
        if "process" not in categories or "start" not in types or os is None:  # type: ignore[operator]
            continue
        if event.get("event.action") in NOT_AN_EXEC:
            continue
        if LogSource("process_creation", str(os)) not in event_logsources(event):
            missing.append((event.get("event.dataset"), event.get("event.code"), event.get("event.action")))
    assert missing == []


def test_every_golden_event_routes_to_known_products() -> None:
    products = {source.product for event in golden_events() for source in event_logsources(event)}
    assert products == {"windows", "linux", "macos", "zeek", None}
