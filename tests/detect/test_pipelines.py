"""The YAML processing pipelines: Sigma field names to our ECS names, per log source."""

from __future__ import annotations

import textwrap

import pytest
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule

from shellwatch.detect import pipelines
from shellwatch.detect.pipelines import apply, pipeline, pipeline_definitions, rule_fields, unmapped_fields


def make_rule(logsource: str, detection: str) -> SigmaRule:
    text = textwrap.dedent(
        """\
        title: test
        id: 5f0f2a3c-0000-4000-8000-000000000001
        status: test
        level: low
        logsource:
        {logsource}
        detection:
        {detection}
        """
    ).format(
        logsource=textwrap.indent(textwrap.dedent(logsource).strip(), "    "),
        detection=textwrap.indent(textwrap.dedent(detection).strip(), "    "),
    )
    return SigmaRule.from_yaml(text)


def mapped(logsource: str, detection: str) -> list[str]:
    return rule_fields(apply(make_rule(logsource, detection)))


WINDOWS_PROCESS = "category: process_creation\nproduct: windows"
LINUX_PROCESS = "category: process_creation\nproduct: linux"
AUDITD = "product: linux\nservice: auditd"


def test_every_pipeline_file_is_named_and_prioritised() -> None:
    definitions = pipeline_definitions()
    assert [definition["name"] for definition in definitions] == [
        "shellwatch lineage",
        "shellwatch linux auditd",
        "shellwatch linux and macos process creation",
        "shellwatch linux and macos network and file events",
        "shellwatch windows powershell",
        "shellwatch windows process creation",
        "shellwatch windows sysmon",
        "shellwatch zeek",
        "shellwatch windows services",
        "shellwatch windows event data",
    ]
    assert [definition["priority"] for definition in definitions] == [10, 20, 20, 20, 20, 20, 20, 20, 30, 90]


def test_processing_item_ids_are_unique() -> None:
    ids = [item.identifier for item in pipeline().items]
    assert len(ids) == len(set(ids))
    assert None not in ids


def test_pipeline_is_built_once() -> None:
    assert pipeline() is pipeline()


def test_apply_leaves_the_given_rule_unchanged() -> None:
    rule = make_rule(WINDOWS_PROCESS, "selection:\n    Image|endswith: '\\cmd.exe'\ncondition: selection")
    processed = apply(rule)
    assert rule_fields(rule) == ["Image"]
    assert rule_fields(processed) == ["process.executable"]
    assert processed is not rule


def test_windows_process_creation_fields() -> None:
    detection = """
        selection:
            Image|endswith: '\\cmd.exe'
            CommandLine|contains: whoami
            ParentImage|endswith: '\\winword.exe'
            ParentCommandLine|contains: docm
            OriginalFileName: Cmd.Exe
            CurrentDirectory|startswith: 'C:\\Users\\'
            LogonId: '0x3e7'
            ProcessId: 4
            ParentProcessId: 8
        condition: selection
    """
    assert mapped(WINDOWS_PROCESS, detection) == [
        "process.command_line",
        "process.executable",
        "process.parent.command_line",
        "process.parent.executable",
        "process.parent.pid",
        "process.pe.original_file_name",
        "process.pid",
        "process.working_directory",
        "winlog.logon.id",
    ]


def test_windows_user_and_hashes_stay_raw() -> None:
    detection = """
        selection:
            User|contains: 'AUTHORI'
            ParentUser|contains: 'AUTHORI'
            Hashes|contains: 'IMPHASH=ABC'
        condition: selection
    """
    assert mapped(WINDOWS_PROCESS, detection) == [
        "winlog.event_data.Hashes",
        "winlog.event_data.ParentUser",
        "winlog.event_data.User",
    ]


def test_integrity_level_maps_to_every_form_the_readers_write() -> None:
    rule = apply(make_rule(WINDOWS_PROCESS, "selection:\n    IntegrityLevel: System\ncondition: selection"))
    (detection,) = rule.detection.detections.values()
    (item,) = detection.detection_items
    assert isinstance(item, SigmaDetection)
    fields = [child.field for child in item.detection_items if isinstance(child, SigmaDetectionItem)]
    assert fields == [
        "sysmon.integrity_level",
        "shellwatch.windows.integrity_level",
        "winlog.event_data.MandatoryLabel",
    ]


def test_lineage_fields_on_every_platform() -> None:
    detection = """
        selection:
            GrandparentImage|endswith: '/nginx'
            GrandparentCommandLine|contains: worker
            EntryLeaderImage: /usr/sbin/sshd
            SessionLeaderImage: /bin/bash
            Interactive: 'true'
            Tty: pts/0
            RemoteIp|cidr: 10.0.0.0/8
        condition: selection
    """
    expected = [
        "process.entry_leader.executable",
        "process.entry_meta.source.ip",
        "process.interactive",
        "process.parent.parent.command_line",
        "process.parent.parent.executable",
        "process.session_leader.executable",
        "process.tty.name",
    ]
    assert mapped(LINUX_PROCESS, detection) == expected
    assert mapped(WINDOWS_PROCESS, detection) == expected
    assert mapped("category: process_creation\nproduct: macos", detection) == expected


def test_linux_process_creation_fields() -> None:
    detection = """
        selection:
            Image|endswith: /bash
            CommandLine|contains: /dev/tcp/
            ParentImage|endswith: /java
            ParentCommandLine|contains: tomcat
            User: root
            CurrentDirectory: /tmp
            LogonId: 0
        condition: selection
    """
    assert mapped(LINUX_PROCESS, detection) == [
        "process.command_line",
        "process.executable",
        "process.parent.command_line",
        "process.parent.executable",
        "process.working_directory",
        "user.name",
        "winlog.logon.id",
    ]


def test_powershell_script_block_and_module_fields() -> None:
    script = mapped(
        "category: ps_script\nproduct: windows",
        "selection:\n    ScriptBlockText|contains: IEX\n    Path|endswith: .ps1\ncondition: selection",
    )
    module = mapped(
        "category: ps_module\nproduct: windows",
        "selection:\n    Payload|contains: IEX\n    ContextInfo|contains: x\ncondition: selection",
    )
    assert script == ["file.path", "powershell.file.script_block_text"]
    assert module == ["powershell.command.value", "winlog.event_data.ContextInfo"]


def test_classic_powershell_data_is_any_unnamed_item() -> None:
    fields = mapped(
        "category: ps_classic_start\nproduct: windows",
        "selection:\n    Data|contains: 'HostName=ConsoleHost'\ncondition: selection",
    )
    assert fields == ["winlog.event_data.param1", "winlog.event_data.param2", "winlog.event_data.param3"]


def test_security_service_rule_fields() -> None:
    detection = """
        selection:
            EventID: 4624
            LogonType: 10
            IpAddress|cidr: 10.0.0.0/8
            TargetUserName: admin
            SubStatus: '0xc000006a'
            Channel: Security
            Provider_Name: Microsoft-Windows-Security-Auditing
        condition: selection
    """
    assert mapped("product: windows\nservice: security", detection) == [
        "event.code",
        "winlog.channel",
        "winlog.event_data.IpAddress",
        "winlog.event_data.LogonType",
        "winlog.event_data.SubStatus",
        "winlog.event_data.TargetUserName",
        "winlog.provider_name",
        "winlog.user_data.IpAddress",
        "winlog.user_data.LogonType",
        "winlog.user_data.SubStatus",
        "winlog.user_data.TargetUserName",
    ]


def test_generic_windows_service_fields_are_raw_event_or_user_data() -> None:
    detection = (
        "selection:\n    EventID: 7045\n    ImagePath|contains: cmd\n    message: x\ncondition: selection"
    )
    assert mapped("product: windows\nservice: system", detection) == [
        "event.code",
        "message",
        "winlog.event_data.ImagePath",
        "winlog.user_data.ImagePath",
    ]


def test_sysmon_categories() -> None:
    network = mapped(
        "category: network_connection\nproduct: windows",
        """
        selection:
            Image|endswith: '\\powershell.exe'
            DestinationIp|cidr: 10.0.0.0/8
            DestinationPort: 4444
            DestinationHostname|endswith: .example
            Initiated: 'true'
        condition: selection
        """,
    )
    image = mapped(
        "category: image_load\nproduct: windows",
        "selection:\n    ImageLoaded|endswith: '\\x.dll'\n    Signed: 'false'\ncondition: selection",
    )
    driver = mapped(
        "category: driver_load\nproduct: windows", "selection:\n    ImageLoaded: x\ncondition: selection"
    )
    file = mapped(
        "category: file_event\nproduct: windows", "selection:\n    TargetFilename: x\ncondition: selection"
    )
    dns = mapped(
        "category: dns_query\nproduct: windows", "selection:\n    QueryName: x\ncondition: selection"
    )
    assert network == [
        "destination.domain",
        "destination.ip",
        "destination.port",
        "process.executable",
        "winlog.event_data.Initiated",
    ]
    assert image == ["dll.path", "winlog.event_data.Signed"]
    assert driver == ["file.path"]
    assert file == ["file.path"]
    assert dns == ["dns.question.name", "winlog.event_data.QueryName"]


def test_auditd_execve_arguments_are_process_args() -> None:
    detection = "selection:\n    type: EXECVE\n    a0: nc\n    a1: '-e'\ncondition: selection"
    assert mapped(AUDITD, detection) == ["auditd.record_types", "process.args"]


def test_auditd_arguments_without_a_record_type_are_process_args() -> None:
    detection = "selection:\n    a3|startswith: '--cpu-priority'\ncondition: selection"
    assert mapped(AUDITD, detection) == ["process.args"]


def test_auditd_syscall_registers_stay_raw() -> None:
    detection = "selection:\n    type: SYSCALL\n    SYSCALL: syslog\n    a0: 4\ncondition: selection"
    assert mapped(AUDITD, detection) == ["auditd.data.a0", "auditd.data.syscall", "auditd.record_types"]


def test_auditd_named_and_fallback_fields() -> None:
    detection = """
        selection:
            type: SYSCALL
            exe|endswith: /nmap
            key: network_connect_4
            euid: 33
            name|startswith: /etc/systemd/
            unit: firewalld
        condition: selection
    """
    assert mapped(AUDITD, detection) == [
        "auditd.data.unit",
        "auditd.key",
        "auditd.record_types",
        "file.path",
        "process.executable",
        "user.effective.id",
    ]


def test_zeek_conn_and_other_logs() -> None:
    conn = mapped(
        "product: zeek\nservice: conn",
        "selection:\n    id.orig_h: 10.0.0.1\n    id.resp_p: 4444\n    conn_state: S0\ncondition: selection",
    )
    dns = mapped(
        "product: zeek\nservice: dns",
        "selection:\n    query|endswith: .example\n    id.resp_p: 53\ncondition: selection",
    )
    assert conn == ["destination.port", "source.ip", "zeek.connection.state"]
    assert dns == ["destination.port", "zeek.dns.query"]


def test_shell_history_fields() -> None:
    fields = mapped(
        "category: shell_history",
        "selection:\n    CommandLine|contains: /dev/tcp\n    User: alice\ncondition: selection",
    )
    assert fields == ["process.command_line", "user.name"]


def test_unmapped_fields_lists_names_no_reader_produces() -> None:
    rule = apply(
        make_rule(
            "category: process_creation\nproduct: macos",
            "selection:\n    OriginalFileName: meshagent\n    Image|endswith: /x\ncondition: selection",
        )
    )
    assert unmapped_fields(rule) == ["OriginalFileName"]
    okta = apply(
        make_rule("product: okta\nservice: okta", "selection:\n    eventType: x\ncondition: selection")
    )
    assert unmapped_fields(okta) == ["eventType"]


def test_fieldref_targets_are_mapped_and_listed() -> None:
    rule = apply(
        make_rule(WINDOWS_PROCESS, "selection:\n    Image|fieldref: ParentImage\ncondition: selection")
    )
    assert rule_fields(rule) == ["process.executable", "process.parent.executable"]


@pytest.mark.parametrize("name", ["message", "tags"])
def test_fallback_leaves_dotless_ecs_fields_alone(name: str) -> None:
    assert mapped(
        "product: windows\nservice: system", f"selection:\n    {name}: x\ncondition: selection"
    ) == [name]


def test_module_documents_every_pipeline_file() -> None:
    doc = pipelines.__doc__ or ""
    for definition in pipeline_definitions():
        stem = definition["name"]
        assert stem.startswith("shellwatch ")
    for stem in (
        "lineage",
        "windows_process_creation",
        "windows_sysmon",
        "windows_powershell",
        "windows_services",
        "windows_event_data",
        "linux_process_creation",
        "unix_events",
        "linux_auditd",
        "zeek",
    ):
        assert f"``{stem}``" in doc
