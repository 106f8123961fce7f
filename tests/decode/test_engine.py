"""The engine: layers in order, cycles, and every limit stops a decode cleanly with a reason."""

from __future__ import annotations

import base64
import time

from shellwatch.decode.engine import decode
from shellwatch.decode.model import Budget, Limits, Step


def _unwrap_base64(text: str, budget: Budget) -> Step | None:
    if not text.startswith("b64:"):
        return None
    return Step("base64", base64.b64decode(text[4:]).decode(), "prefix b64:")


def _reverse(text: str, budget: Budget) -> Step | None:
    return Step("reverse", text[4:][::-1]) if text.startswith("rev:") else None


def test_layers_are_peeled_outermost_first_until_nothing_changes() -> None:
    inner = "rev:" + "id; uname -a"[::-1]
    text = "b64:" + base64.b64encode(inner.encode()).decode()
    result = decode(text, [_reverse, _unwrap_base64])
    assert result.text == "id; uname -a"
    assert [layer.technique for layer in result.layers] == ["base64", "reverse"]
    assert result.layers[0].before == text and result.layers[0].after == inner
    assert result.stopped is None


def test_nothing_to_do_gives_no_layer() -> None:
    result = decode("ls -la", [_reverse, _unwrap_base64])
    assert not result.changed and result.text == "ls -la"


def test_a_cycle_stops_without_looping() -> None:
    def swap(text: str, budget: Budget) -> Step | None:
        return Step("swap", "b" if text == "a" else "a")

    result = decode("a", [swap])
    assert result.text == "b"
    assert len(result.layers) == 1


def test_depth_limit() -> None:
    def grow(text: str, budget: Budget) -> Step | None:
        return Step("grow", text + "x")

    result = decode("", [grow], Limits(max_depth=5))
    assert len(result.layers) == 5
    assert result.stopped == "depth limit (5 layers)"


def test_output_limit_stops_a_bomb() -> None:
    def bomb(text: str, budget: Budget) -> Step | None:
        return Step("bomb", text * 100)

    result = decode("ab", [bomb], Limits(max_output=1000))
    assert result.text == "ab" * 100
    assert result.stopped == "output limit (1000 characters)"


def test_work_and_time_limits() -> None:
    def busy(text: str, budget: Budget) -> Step | None:
        while True:
            budget.tick()

    started = time.monotonic()
    result = decode("x", [busy], Limits(max_ticks=10_000))
    assert result.stopped == "work limit (10000 steps)"
    result = decode("x", [busy], Limits(max_ticks=10**12, max_seconds=0.05))
    assert result.stopped == "time limit (0.05 s)"
    assert time.monotonic() - started < 2
