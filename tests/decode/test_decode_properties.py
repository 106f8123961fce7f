"""Any input: decoding never raises, never hangs, and stays within its limits."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from shellwatch.decode.commandline import decode_command
from shellwatch.decode.model import Limits

LIMITS = Limits(max_depth=4, max_output=4096, max_seconds=0.2, max_ticks=20_000)
SHELLY = st.text(alphabet=st.sampled_from(list("%!^&|;\"'`$(){}[]<>=~,:*\\/+-_ aZ09x\n")), max_size=200)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), SHELLY), st.sampled_from([None, "windows", "unix"]))
def test_random_input_ends_within_the_limits(text: str, shell: str | None) -> None:
    started = time.monotonic()
    result = decode_command(text, shell, LIMITS)
    assert time.monotonic() - started < 2.0
    assert len(result.layers) <= LIMITS.max_depth
    assert all(len(layer.after) <= LIMITS.max_output for layer in result.layers)
    assert result.original == text


CMD_PIECES = [
    "set ",
    "call ",
    "for /f ",
    "for /l ",
    "for ",
    " in (",
    ") do ",
    "if ",
    " geq ",
    "==",
    "%a",
    "%x%",
    "%x:~1,2%",
    "%x:a=b%",
    "!x!",
    "!x:~-3!",
    "cmd /v:on /c ",
    'cmd /c "',
    "&&",
    "&",
    "||",
    "|",
    "(",
    ")",
    "^",
    "^^^",
    '"',
    "'",
    "x=",
    "ab",
    "assoc",
    "ftype",
    "findstr m",
    "echo ",
    ",",
    ";",
    " ",
    "1,1,9",
    "-",
]
CMDY = st.lists(st.sampled_from(CMD_PIECES), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(CMDY)
def test_cmd_like_input_ends_within_the_limits(text: str) -> None:
    started = time.monotonic()
    result = decode_command(text, "windows", LIMITS)
    assert time.monotonic() - started < 2.0
    assert len(result.layers) <= LIMITS.max_depth
    assert all(len(layer.after) <= LIMITS.max_output for layer in result.layers)
