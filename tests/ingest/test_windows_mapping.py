"""The shared Windows mapping: EventData to ECS, per provider and event id, and 4104 reassembly."""

from __future__ import annotations

from shellwatch.events import Event, entity_id
from shellwatch.ingest._windows import ScriptBlockAssembler, base_event, map_event, timestamp

SYSMON = ("Microsoft-Windows-Sysmon", "Microsoft-Windows-Sysmon/Operational")
SECURITY = ("Microsoft-Windows-Security-Auditing", "Security")
POWERSHELL = ("Microsoft-Windows-PowerShell", "Microsoft-Windows-PowerShell/Operational")


def _event(
    source: tuple[str, str],
    event_id: int,
    data: dict[str, object],
    when: str = "2024-01-02T03:04:05.1234567Z",
) -> Event:
    return map_event(base_event(source[0], source[1], event_id, "HOST1", when, 42, 1000, "S-1-5-18"), data)


def test_timestamps_are_utc_microseconds() -> None:
    assert timestamp("2021-06-03T13:05:20.242837300Z") == "2021-06-03T13:05:20.242837Z"
    assert timestamp("2022-05-11 18:10:20.395") == "2022-05-11T18:10:20.395000Z"
    assert timestamp("2020-10-22T02:57:56Z") == "2020-10-22T02:57:56.000000Z"
    assert timestamp("2023-04-19T17:46:27.0215678Z UTC") == "2023-04-19T17:46:27.021567Z"
    assert timestamp("2024-01-01T10:00:00+02:00") == "2024-01-01T08:00:00.000000Z"
    assert timestamp("yesterday") is None


def test_common_fields() -> None:
    event = _event(SYSMON, 4, {"State": "Started", "Empty": "", "Nothing": None, "Flag": True, "Count": 3})
    assert event["@timestamp"] == "2024-01-02T03:04:05.123456Z"
    assert event["event.code"] == event["winlog.event_id"] == "4"
    assert event["event.module"] == "sysmon" and event["event.dataset"] == "windows.sysmon_operational"
    assert event["host.name"] == event["winlog.computer_name"] == "HOST1"
    assert event["host.os.type"] == "windows"
    assert event["winlog.record_id"] == 42 and event["winlog.process.pid"] == 1000
    assert event["winlog.user.identifier"] == "S-1-5-18"
    assert event["winlog.event_data.State"] == "Started"
    assert event["winlog.event_data.Flag"] == "true" and event["winlog.event_data.Count"] == "3"
    assert "winlog.event_data.Empty" not in event and "winlog.event_data.Nothing" not in event


def test_item_names_with_spaces_lose_them() -> None:
    """Defender 5007 writes "New Value"; Sigma rules and other tools call it NewValue."""
    defender = ("Microsoft-Windows-Windows Defender", "Microsoft-Windows-Windows Defender/Operational")
    event = _event(defender, 5007, {"New Value": "HKLM\\x = 0x0", "Product Name": "Defender"})
    assert event["winlog.event_data.NewValue"] == "HKLM\\x = 0x0"
    assert event["winlog.event_data.ProductName"] == "Defender"
    assert not any(" " in key for key in event)


def test_sysmon_process_create() -> None:
    event = _event(
        SYSMON,
        1,
        {
            "ProcessGuid": "{0fd50764-28f3-6440-e008-000000001800}",
            "ProcessId": 9044,
            "Image": "C:\\Windows\\System32\\cmd.exe",
            "CommandLine": "cmd.exe /c whoami",
            "User": "DOM\\bob",
            "Hashes": "MD5=AA,SHA256=BB,IMPHASH=CC",
            "ParentProcessGuid": "0FD50764-8CF6-6439-B900-000000001800",
            "ParentProcessId": "7820",
            "ParentImage": "C:\\Program Files\\Office\\WINWORD.EXE",
            "OriginalFileName": "Cmd.Exe",
            "UtcTime": "2024-01-02 03:04:05.120",
            "RuleName": "-",
            "LogonGuid": "{0fd50764-8ce4-6439-fecd-060000000000}",
            "LogonId": "0x6cdfe",
            "IntegrityLevel": "High",
            "TerminalSessionId": 1,
        },
    )
    assert event["process.entity_id"] == "0FD50764-28F3-6440-E008-000000001800"
    assert event["process.pid"] == 9044 and event["process.parent.pid"] == 7820
    assert event["process.name"] == "cmd.exe" and event["process.parent.name"] == "WINWORD.EXE"
    assert event["user.name"] == "bob" and event["user.domain"] == "DOM"
    assert (event["process.hash.md5"], event["process.hash.sha256"], event["process.pe.imphash"]) == (
        "aa",
        "bb",
        "cc",
    )
    assert event["process.pe.original_file_name"] == "Cmd.Exe"
    assert event["process.start"] == "2024-01-02T03:04:05.120000Z"
    assert event["sysmon.logon.guid"] == "0FD50764-8CE4-6439-FECD-060000000000"
    assert event["winlog.logon.id"] == "0x6cdfe" and event["sysmon.integrity_level"] == "High"
    assert event["sysmon.terminal_session_id"] == "1"
    assert "sysmon.rule_name" not in event
    assert (event["event.category"], event["event.type"], event["event.action"]) == (
        ["process"],
        ["start"],
        "process-created",
    )


def test_sysmon_network_and_file_and_image_load() -> None:
    network = _event(
        SYSMON,
        3,
        {
            "Protocol": "TCP",
            "Initiated": False,
            "SourceIp": "10.0.0.5",
            "SourcePort": "445",
            "DestinationIp": "-",
            "DestinationHostname": "dc01",
        },
    )
    assert network["network.transport"] == "tcp" and network["network.direction"] == "ingress"
    assert network["source.ip"] == "10.0.0.5" and network["source.port"] == 445
    assert "destination.ip" not in network and network["destination.domain"] == "dc01"
    assert network["event.type"] == ["connection", "start"]
    created = _event(SYSMON, 11, {"TargetFilename": "C:\\Temp\\a.b.PS1"})
    assert (created["file.directory"], created["file.name"], created["file.extension"]) == (
        "C:\\Temp",
        "a.b.PS1",
        "ps1",
    )
    assert created["event.category"] == ["file"] and created["event.type"] == ["creation"]
    loaded = _event(SYSMON, 7, {"ImageLoaded": "C:\\x\\evil.dll", "Hashes": "SHA256=AB", "Signed": "true"})
    assert loaded["dll.path"] == "C:\\x\\evil.dll" and loaded["dll.name"] == "evil.dll"
    assert loaded["dll.hash.sha256"] == "ab" and loaded["dll.code_signature.signed"] is True
    assert loaded["event.category"] == ["library"] and loaded["event.action"] == "image-loaded"


def test_security_4688_hex_pids_and_entity_id() -> None:
    event = _event(
        SECURITY,
        4688,
        {
            "NewProcessId": "0x1a2c",
            "NewProcessName": "C:\\Windows\\System32\\cmd.exe",
            "ProcessId": "0x2170",
            "ParentProcessName": "C:\\Windows\\explorer.exe",
            "CommandLine": "cmd /c ver",
            "SubjectUserName": "alice",
            "SubjectDomainName": "CORP",
            "SubjectUserSid": "S-1-5-21-1-2-3-1001",
            "SubjectLogonId": "0x3e7",
            "TargetUserName": "-",
            "TargetUserSid": "S-1-0-0",
            "TokenElevationType": "%%1937",
            "MandatoryLabel": "S-1-16-12288",
        },
    )
    assert event["process.pid"] == 0x1A2C and event["process.parent.pid"] == 0x2170
    assert event["process.entity_id"] == entity_id("HOST1", 0x1A2C, "2024-01-02T03:04:05.123456Z")
    assert event["process.parent.name"] == "explorer.exe" and event["process.command_line"] == "cmd /c ver"
    assert (event["user.name"], event["user.domain"], event["user.id"]) == (
        "alice",
        "CORP",
        "S-1-5-21-1-2-3-1001",
    )
    assert "user.target.name" not in event and "user.target.id" not in event
    assert event["shellwatch.windows.token_elevation"] == "full"
    assert event["shellwatch.windows.integrity_level"] == "High"


def test_logons() -> None:
    types = {2: "Interactive", 3: "Network", 4: "Batch", 5: "Service", 7: "Unlock", 8: "NetworkCleartext",
             9: "NewCredentials", 10: "RemoteInteractive", 11: "CachedInteractive"}  # fmt: skip
    for number, name in types.items():
        assert _event(SECURITY, 4624, {"LogonType": str(number)})["winlog.logon.type"] == name
    ok = _event(
        SECURITY,
        4624,
        {
            "TargetUserName": "bob",
            "TargetDomainName": "CORP",
            "TargetUserSid": "S-1-5-21-9",
            "TargetLogonId": "0x2a",
            "IpAddress": "::ffff:10.1.2.3",
            "IpPort": "50100",
            "WorkstationName": "PC7",
            "ProcessName": "C:\\Windows\\System32\\svchost.exe",
            "ProcessId": "0x0",
        },
    )
    assert (ok["event.outcome"], ok["event.category"], ok["event.action"]) == (
        "success",
        ["authentication"],
        "logged-in",
    )
    assert (ok["user.name"], ok["user.domain"], ok["user.id"], ok["winlog.logon.id"]) == (
        "bob",
        "CORP",
        "S-1-5-21-9",
        "0x2a",
    )
    assert (ok["source.ip"], ok["source.port"], ok["source.domain"]) == ("10.1.2.3", 50100, "PC7")
    assert ok["process.name"] == "svchost.exe" and "process.pid" not in ok
    failed = _event(
        SECURITY,
        4625,
        {
            "TargetUserName": "x",
            "IpAddress": "-",
            "IpPort": "-",
            "Status": "0xc000006d",
            "SubStatus": "0xc0000064",
            "FailureReason": "%%2313",
        },
    )
    assert failed["event.outcome"] == "failure" and "source.ip" not in failed and "source.port" not in failed
    assert failed["winlog.logon.failure.status"] == "0xc000006d"
    assert failed["winlog.logon.failure.sub_status"] == "0xc0000064"
    assert (
        failed["winlog.logon.failure.reason"]
        == failed["event.reason"]
        == "Unknown user name or bad password."
    )
    explicit = _event(
        SECURITY, 4648, {"SubjectUserName": "a", "TargetUserName": "b", "TargetServerName": "srv"}
    )
    assert (explicit["user.name"], explicit["user.target.name"], explicit["destination.domain"]) == (
        "a",
        "b",
        "srv",
    )
    logoff = _event(SECURITY, 4634, {"TargetUserName": "bob", "LogonType": "3"})
    assert (logoff["event.type"], logoff["event.action"], logoff["winlog.logon.type"]) == (
        ["end"],
        "logged-out",
        "Network",
    )


def test_powershell_4104_and_4103() -> None:
    block = _event(
        POWERSHELL,
        4104,
        {
            "MessageNumber": "1",
            "MessageTotal": "1",
            "ScriptBlockText": "iex $x",
            "ScriptBlockId": "ab-cd",
            "Path": "C:\\s\\x.ps1",
        },
    )
    assert block["powershell.file.script_block_text"] == "iex $x"
    assert block["powershell.file.script_block_id"] == "AB-CD" and block["file.name"] == "x.ps1"
    context = (
        "        Severity = Informational\r\n        Host Name = ConsoleHost\r\n"
        "        Host Application = powershell.exe -nop -enc AAAA\r\n"
        "        Command Name = Invoke-Expression\r\n"
        "        Command Type = Cmdlet\r\n        User = CORP\\alice\r\n        Sequence Number = 22\r\n"
    )
    module = _event(
        POWERSHELL,
        4103,
        {"ContextInfo": context, "Payload": 'CommandInvocation(Invoke-Expression): "Invoke-Expression"\r\n'},
    )
    assert (
        module["process.command_line"] == "powershell.exe -nop -enc AAAA"
        and module["process.name"] == "powershell.exe"
    )
    assert (
        module["powershell.command.name"] == "Invoke-Expression"
        and module["powershell.command.type"] == "Cmdlet"
    )
    assert (
        module["user.name"] == "alice" and module["user.domain"] == "CORP" and module["event.sequence"] == 22
    )
    assert module["powershell.command.invocation_details"] == [
        'CommandInvocation(Invoke-Expression): "Invoke-Expression"'
    ]


def test_classic_powershell_800() -> None:
    details = (
        "\tDetailSequence=1\r\n\tUserId=CORP\\bob\r\n"
        '\tHostApplication="C:\\ps\\powershell.exe" -c dir\r\n\tEngineVersion=5.1\r\n'
    )
    event = map_event(
        base_event("PowerShell", "Windows PowerShell", 800, "H", None),
        {"param1": "Get-ChildItem", "param2": details},
    )
    assert event["event.dataset"] == "windows.powershell" and event["event.action"] == "pipeline-executed"
    assert event["process.command_line"] == '"C:\\ps\\powershell.exe" -c dir'
    assert event["process.executable"] == "C:\\ps\\powershell.exe"
    assert event["powershell.command.value"] == "Get-ChildItem" and event["user.name"] == "bob"
    assert event["powershell.engine.version"] == "5.1"


def test_unknown_provider_is_mapped_generically() -> None:
    event = map_event(base_event("Service Control Manager", "System", 7045, "H", None), {"ServiceName": "x"})
    assert event["event.module"] == "windows" and event["event.dataset"] == "windows.system"
    assert event["winlog.event_data.ServiceName"] == "x" and "event.category" not in event


def test_linux_sysmon_is_linux() -> None:
    event = map_event(
        base_event("Linux-Sysmon", "Linux-Sysmon/Operational", 1, "u5", None),
        {"Image": "/bin/bash", "User": "root"},
    )
    assert event["host.os.type"] == "linux" and event["event.dataset"] == "sysmon_linux.log"
    assert event["process.name"] == "bash" and event["user.name"] == "root" and "user.domain" not in event


def _part(number: int, total: int, text: str, record: int, block: str = "B1", host: str = "H") -> Event:
    data = {
        "MessageNumber": str(number),
        "MessageTotal": str(total),
        "ScriptBlockText": text,
        "ScriptBlockId": block,
    }
    return map_event(base_event(*POWERSHELL, 4104, host, "2024-01-01T00:00:00Z", record), data)


def test_reassembly_in_and_out_of_order() -> None:
    assembler = ScriptBlockAssembler()
    out = [
        e
        for part in (_part(2, 3, "b", 11), _part(3, 3, "c", 12), _part(1, 3, "a", 10))
        for e in assembler.add(part)
    ]
    assert len(out) == 1
    whole = out[0]
    assert whole["powershell.file.script_block_text"] == "abc"
    assert whole["powershell.file.script_block_part_count"] == 3
    assert whole["winlog.record_id"] == 10 and whole["shellwatch.powershell.record_ids"] == ["10", "11", "12"]
    assert (
        "shellwatch.powershell.incomplete" not in whole and "winlog.event_data.ScriptBlockText" not in whole
    )
    assert list(assembler.flush()) == []


def test_reassembly_missing_part_is_flushed_incomplete() -> None:
    assembler = ScriptBlockAssembler()
    single = _part(1, 1, "whole", 5)
    assert list(assembler.add(single)) == [single]
    assert list(assembler.add(_part(1, 3, "a", 10))) == []
    assert list(assembler.add(_part(3, 3, "c", 12))) == []
    assert list(assembler.add(_part(1, 2, "x", 20, host="OTHER"))) == []
    flushed = list(assembler.flush())
    assert [e["powershell.file.script_block_text"] for e in flushed] == ["ac", "x"]
    assert flushed[0]["shellwatch.powershell.incomplete"] is True
    assert flushed[0]["shellwatch.powershell.parts_seen"] == ["1", "3"]


def test_reassembly_memory_is_bounded() -> None:
    assembler = ScriptBlockAssembler(limit=2)
    out = [e for n in range(4) for e in assembler.add(_part(1, 2, f"p{n}", n, block=f"B{n}"))]
    assert [e["powershell.file.script_block_text"] for e in out] == ["p0", "p1"]
    assert all(e["shellwatch.powershell.incomplete"] for e in out)
    assert len(list(assembler.flush())) == 2
