"""Shell history: escapes (fish), continuation and metafication (zsh), and what is not shell history."""

from __future__ import annotations

import io

from shellwatch.ingest.base import ReadContext
from shellwatch.ingest.shell_history import ShellHistoryReader


def commands(data: bytes, path: str) -> list[str | None]:
    ctx = ReadContext(path, "shell_history")
    events = list(ShellHistoryReader().read(io.BytesIO(data), ctx))
    assert ctx.errors == 0
    return [event["process.command_line"] for event in events]  # type: ignore[misc]


def test_fish_unescape_is_one_pass() -> None:
    data = (
        b"- cmd: echo a\\\\nb\n  when: 1\n- cmd: printf x\\ny\n  when: 2\n- cmd: dir C:\\\\\\\\\n  when: 3\n"
    )
    assert commands(data, "fish_history") == ["echo a\\nb", "printf x\ny", "dir C:\\\\"]


def test_zsh_backslash_newline_is_a_newline() -> None:
    data = b": 1458993293:0;echo dfgdfg \\\\\n& touch /tmp/afile\n: 1458993297:0;ls\n"
    assert commands(data, ".zsh_history") == ["echo dfgdfg \\\n& touch /tmp/afile", "ls"]


def test_zsh_metafied_bytes_are_restored() -> None:
    # "é" is C3 A9; zsh writes A9 (a Meta character) as 83 89.
    assert commands(b": 1458993293:0;echo caf\xc3\x83\x89\n", ".zsh_history") == ["echo café"]


def test_powershell_transcript_is_not_shell_history() -> None:
    head = "\ufeff**********************\r\nWindows PowerShell transcript start\r\n".encode()
    assert not ShellHistoryReader.sniff(head, "PowerShell_transcript.HOST.abc.20220721023749.txt")
