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
