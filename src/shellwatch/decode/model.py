"""The data of decoding: limits and their budget, one step's result, the layers of a decode.

Every decoder is a *step*: a plain function ``step(text, budget) -> Step | None`` that rewrites the text
by rules (it never runs anything) or returns None when it has nothing to do. Steps must reject text that
is not theirs cheaply, call :meth:`Budget.tick` inside any loop whose length depends on the input, and
never build text longer than ``budget.limits.max_output`` characters (:meth:`Budget.room`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final, Protocol


class BudgetExceeded(Exception):
    """A decode went over one of its limits; the message says which."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How far a decode may go. A decode that reaches a limit stops, keeps what it found, and says why."""

    max_depth: int = 12
    """Layers peeled at most."""
    max_output: int = 256 * 1024
    """Characters of text any layer may produce (a decompression bomb stops here)."""
    max_seconds: float = 0.5
    """Wall time of one decode."""
    max_ticks: int = 200_000
    """Units of emulation work (characters scanned, loop iterations, expansions) of one decode."""


DEFAULT_LIMITS: Final = Limits()


class Budget:
    """What is left of the limits during one decode."""

    __slots__ = ("_deadline", "_next_check", "_ticks", "limits", "memo")

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.memo: dict[str, object] = {}
        """What a decoder keeps for the rest of this decode (a parse shared by the steps of one round)."""
        self._ticks = 0
        self._next_check = 256
        self._deadline = time.monotonic() + limits.max_seconds

    def tick(self, work: int = 1) -> None:
        """Count ``work`` units; raise :class:`BudgetExceeded` past the tick or time limit."""
        self._ticks += work
        if self._ticks > self.limits.max_ticks:
            raise BudgetExceeded(f"work limit ({self.limits.max_ticks} steps)")
        if self._ticks >= self._next_check:
            self._next_check = self._ticks + 256
            self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self._deadline:
            raise BudgetExceeded(f"time limit ({self.limits.max_seconds} s)")

    def room(self, size: int) -> None:
        """Raise :class:`BudgetExceeded` when text of ``size`` characters would be over the output limit."""
        if size > self.limits.max_output:
            raise BudgetExceeded(f"output limit ({self.limits.max_output} characters)")


@dataclass(frozen=True, slots=True)
class Step:
    """What one decoder did: its technique name, the whole new text, and a short note for the analyst."""

    technique: str
    text: str
    detail: str = ""


class Decoder(Protocol):
    def __call__(self, text: str, budget: Budget) -> Step | None: ...


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer peeled: the technique, the text before and after, and a note."""

    technique: str
    before: str
    after: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class DecodeResult:
    """A decode: the input, the final text, each layer in order, why it stopped early (None: it did not)."""

    original: str
    text: str
    layers: tuple[Layer, ...] = ()
    stopped: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.layers)
