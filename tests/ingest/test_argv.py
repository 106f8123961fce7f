from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shellwatch.ingest._argv import _split_arguments, split_command_line

# Cases from the documented CommandLineToArgvW / MSVC rules.
CASES = [
    ("", []),
    ("cmd.exe", ["cmd.exe"]),
    ('"C:\\Program Files\\App\\app.exe" /x "a b"', ["C:\\Program Files\\App\\app.exe", "/x", "a b"]),
    (
        "C:\\Windows\\system32\\cmd.exe /c whoami && net user",
        ["C:\\Windows\\system32\\cmd.exe", "/c", "whoami", "&&", "net", "user"],
    ),
    ('prog "a b c" d e', ["prog", "a b c", "d", "e"]),
    ('prog "ab\\"c" "\\\\" d', ["prog", 'ab"c', "\\", "d"]),
    ('prog a\\\\\\b d"e f"g h', ["prog", "a\\\\\\b", "de fg", "h"]),
    ('prog a\\\\\\"b c d', ["prog", 'a\\"b', "c", "d"]),
    ('prog a\\\\\\\\"b c" d e', ["prog", "a\\\\b c", "d", "e"]),
    ('prog "a""b" c', ["prog", 'a"b', "c"]),
    ('"C:\\path with space\\p.exe"', ["C:\\path with space\\p.exe"]),
    ("   spaced   out   ", ["spaced", "out"]),
    ('prog ""', ["prog", ""]),
    (
        "powershell.exe -nop -w hidden -enc SQBFAFgA",
        ["powershell.exe", "-nop", "-w", "hidden", "-enc", "SQBFAFgA"],
    ),
]


@pytest.mark.parametrize(("line", "argv"), CASES)
def test_split_command_line(line: str, argv: list[str]) -> None:
    assert split_command_line(line) == argv


def test_split_posix_quotes_and_unbalanced_fallback() -> None:
    from shellwatch.ingest._argv import split_posix

    assert split_posix("bash -c 'id; uname -a'") == ["bash", "-c", "id; uname -a"]
    assert split_posix("echo 'unbalanced") == ["echo", "'unbalanced"]


@given(st.text(alphabet=' \t"\\ab', max_size=40))
def test_fast_paths_agree_with_the_full_rules(rest: str) -> None:
    """The shortcuts for plain and simply-quoted arguments agree with the full CommandLineToArgvW loop."""
    assert split_command_line("prog " + rest) == ["prog", *_split_arguments(" " + rest)]
