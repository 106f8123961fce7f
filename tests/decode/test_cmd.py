"""cmd.exe emulation: each obfuscation technique is built here from the clear command, then decoded back."""

from __future__ import annotations

import random
import time

import pytest

from shellwatch.decode._cmd_data import ENVIRONMENT
from shellwatch.decode._cmd_parse import Environment, expand_delayed, expand_percent, strtol
from shellwatch.decode.cmd import carets, emulate, quotes
from shellwatch.decode.commandline import decode_command
from shellwatch.decode.model import Budget, Limits

ENV = dict(ENVIRONMENT)


def _run(line: str) -> str | None:
    step = emulate(line, Budget())
    return step.text if step else None


def _env(**values: str) -> Environment:
    return Environment.of(tuple(values.items()))


# --- phase 1 and phase 5 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("~2,3", "cde"),
        ("~-3", "def"),
        ("~1,-1", "bcde"),
        ("~-2,1", "e"),
        ("~10", ""),
        ("~0,-10", ""),
        ("~ -4,  +2", "cd"),
        ("b=X", "aXcdef"),
        ("B=X", "aXcdef"),
        ("*c=", "def"),
        ("*zz=", "abcdef"),
    ],
)
def test_percent_forms_follow_cmd(spec: str, expected: str) -> None:
    assert expand_percent(f"%v:{spec}%", _env(v="abcdef"), Budget()) == expected


def test_undefined_names_stay_and_the_scan_resumes_at_their_closing_percent() -> None:
    # the documented cmd.exe example: with only b set, ``%a %b% c%`` reads ``%a `` + b + `` c%``
    assert expand_percent("%a %b% c%", _env(b="a"), Budget()) == "%a a c%"
    assert expand_percent("%nosuch%", _env(), Budget()) == "%nosuch%"


def test_delayed_expansion_consumes_carets_and_keeps_undefined_names() -> None:
    env = _env(x="who", y="ami")
    assert expand_delayed("!x!^!y!", env, Budget()) == "who!y"  # the lone last ! is dropped
    assert expand_delayed("!x!!y!", env, Budget()) == "whoami"
    assert expand_delayed("!nope!z", env, Budget()) == "!nope!z"
    # the replacement's search text may hold the mark: ``!v:*v!=!`` drops everything up to ``v!``
    assert expand_delayed("!v:*v!=!", _env(v="!v!net user"), Budget()) == "net user"


def test_strtol_reads_like_c() -> None:
    assert strtol("  +12x") == 12
    assert strtol("-3") == -3
    assert strtol("x") is None


# --- techniques, built from the clear text ----------------------------------------------------------


def test_carets_are_consumed() -> None:
    assert decode_command("cmd /c " + "^".join("whoami"), "windows").text == "cmd /c whoami"
    assert _run("cmd /c " + "^".join("whoami")) is None  # carets alone are the carets step's layer
    step = carets("^".join("whoami"), Budget())
    assert step is not None
    assert step.text == "whoami"


def test_quotes_inside_words_are_dropped() -> None:
    clear = "whoami /all"
    rng = random.Random(11)
    hidden = "".join(f'"{char}"' if char.isalpha() and rng.random() < 0.3 else char for char in clear)
    hidden = hidden.replace("o", 'o""', 1)
    step = quotes(f"cmd /c {hidden}", Budget())
    assert step is not None
    assert step.text == f"cmd /c {clear}"
    for plain in ('"C:\\Program Files\\App\\a.exe" --name="x y"', 'cmd /c ""C:\\Program Files\\x.bat" arg"'):
        assert quotes(plain, Budget()) is None


def test_set_and_call_assemble_a_command() -> None:
    rng = random.Random(7)
    clear = "net user administrator"
    cuts = sorted(rng.sample(range(1, len(clear)), 4))
    pieces = [clear[a:b] for a, b in zip([0, *cuts], [*cuts, len(clear)], strict=True)]
    names = [f"v{index}" for index in range(len(pieces))]
    sets = "&&".join(f"set {name}={piece}" for name, piece in zip(names, pieces, strict=True))
    joined = "".join(f"%{name}%" for name in names)
    line = f'cmd /C"{sets}&&call set all={joined}&&call %all%"'
    step = emulate(line, Budget())
    assert step is not None
    assert step.text == clear
    assert "cmd-call" in step.detail


def test_characters_taken_from_the_default_environment() -> None:
    def pick(char: str, negative: bool) -> str:
        for name, value in ENVIRONMENT:
            at = value.find(char)
            if at >= 0 and "(" not in name:
                start = at - len(value) if negative else at
                return f"%{name}:~{start},1%"
        raise AssertionError(char)

    word = "".join(pick(char, negative=index % 2 == 1) for index, char in enumerate("cmd"))
    assert _run(f"{word} /c whoami") == "whoami"


def test_replacements_rebuild_the_command() -> None:
    clear = "net user"
    hidden = clear.replace("e", "Q").replace("u", "Z")
    line = f'cmd /V:ON /C "set a={hidden}&&set b=!a:Q=e!&&set c=!b:Z=u!&&call %c%"'
    assert _run(line) == clear


def test_for_l_reversal_under_delayed_expansion() -> None:
    clear = "net user"
    reverse = clear[::-1]
    count = len(clear)
    line = (
        f'cmd /V:ON /C "set r={reverse}&&for /L %i in ({count - 1},-1,0) do set o=!o!!r:~%i,1!'
        f'&&if %i equ 0 call %o:~-{count}%"'
    )
    step = emulate(line, Budget())
    assert step is not None
    assert step.text == clear
    assert step.technique == "cmd-for-loop"


def test_for_over_indexes_into_a_shuffled_alphabet() -> None:
    clear = "whoami /all"
    alphabet = "".join(sorted(set(clear), key=lambda _: random.Random(3).random()))
    random.Random(5).shuffle(letters := list(alphabet))
    alphabet = "".join(letters)
    indexes = ";".join(str(alphabet.index(char)) for char in clear)
    line = (
        f'cmd /V:ON /C "set a={alphabet}&&for %J in ({indexes};99) do set o=!o!!a:~%J,1!'
        f'&&if %J geq 99 call %o:~-{len(clear)}%"'
    )
    assert _run(line) == clear


@pytest.mark.parametrize(
    "source",
    [
        """FOR /F "tokens=1 delims=.=" %a IN ('assoc^|findstr mdf') DO %a /c whoami""",
        """for /f "tokens=2 delims=HF" %x in ('ftype^|find "SHC"') do %x /c whoami""",
        """for /f "tokens=4 delims=\\." %x in ('set ComS') do %x /c whoami""",
        """for,/f,"tokens=  +1  delims=.=";%a;in;(',assoc.cmd,')do;%a,/c,whoami""",
    ],
)
def test_for_f_reads_cmd_from_stock_listings(source: str) -> None:
    assert _run(source) == "whoami"


def test_pipes_into_cmd_and_powershell() -> None:
    assert _run('cmd /V /C "set x=whoami&&echo !x!|cmd"') == "whoami"
    step = emulate('cmd /c "set p=Get-Process&&call echo %p%|powershell -"', Budget())
    assert step is not None
    assert step.text == "Get-Process"
    assert "cmd-stdin" in step.detail


def test_pipe_sides_read_their_text_again() -> None:
    # one level of carets survives the first reading and escapes the pipe in the new cmd.exe
    assert _run("cmd /c echo who^^^&ami|cmd") is not None


def test_nested_instances_inherit_the_environment() -> None:
    assert _run('cmd /c "set inner=whoami&&cmd /v:on /c call %inner%"') == "whoami"


def test_a_process_command_line_reaches_cmd_as_written() -> None:
    # no cmd.exe read the line before: the caret still escapes ``&`` for the one that runs it
    assert _run("cmd /c set x=1^&whoami^&call echo %x%") is None
    assert _run('cmd /c "set x=1&whoami&call echo %x%"') == "whoami & echo 1"


# --- what must not be reported ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "cmd /c dir C:\\Users",
        'cmd.exe /c "ping -n 1 localhost && echo done"',
        "cmd /c echo %nosuchvariable%",
        'C:\\Windows\\system32\\cmd.exe /d /c "C:\\Program Files\\App\\start.bat"',
        "for %f in (*.log) do type %f",
        # stock variables, loops running commands and nested cmd are how admins write, not hiding
        "%%SystemRoot%%\\system32\\csrss.exe ObjectDirectory=\\Windows SharedSection=1024,20480,768",
        "cmd.exe /c %SYSTEMROOT%\\system32\\schtasks.exe /create /sc minute /tn t /tr C:\\x.exe",
        'cmd /c "for /l %i in (1,1,254) do ping -n 1 -w 100 10.0.0.%i"',
        'cmd /c "cmd /c echo %USERNAME%"',
    ],
)
def test_plain_lines_give_no_layer(line: str) -> None:
    assert emulate(line, Budget()) is None


# --- limits -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        'cmd /c "set a=call %a%&&call %a%"',
        'cmd /v /c "for /L %i in (1,1,100000000) do set x=!x!a"',
        'cmd /v /c "set a=x&&for /L %i in (1,1,40) do set a=!a!!a!"',
        "(" * 5000 + "echo a" + ")" * 5000,
    ],
)
def test_pathological_lines_stop_within_the_limits(line: str) -> None:
    started = time.monotonic()
    result = decode_command(line, "windows", Limits(max_seconds=0.5))
    assert time.monotonic() - started < 3
    assert result.text


def test_recorded_commands_keep_their_operators() -> None:
    line = 'cmd /c "set a=net&&call %a% user | find "adm" && call echo %a%"'
    assert _run(line) == 'net user | find "adm" && echo net'


def test_loop_variables_do_not_reach_a_new_cmd_instance() -> None:
    # ``%t`` belongs to the outer loop only: the new cmd.exe must not replace the ``%t`` of ``%temp%``
    line = 'for %t in (cmd) do %t /V:ON /c "set a=%&&echo !a!temp!a!|cmd"'
    assert _run(line) == ENV["TEMP"]
