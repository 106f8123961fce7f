"""Peel layers until nothing changes: every decoder is tried in turn on the current text.

The first decoder that changes the text wins the round; its result becomes the next layer and the round
starts again from the first decoder. Decoding stops when a round changes nothing, when the text comes
back to one seen before (a cycle), or at a limit (depth, output size, work, time); what was found up to
then is kept and the reason is reported.
"""

from __future__ import annotations

from collections.abc import Sequence

from shellwatch.decode.model import (
    DEFAULT_LIMITS,
    Budget,
    BudgetExceeded,
    Decoder,
    DecodeResult,
    Layer,
    Limits,
)


def decode(text: str, decoders: Sequence[Decoder], limits: Limits = DEFAULT_LIMITS) -> DecodeResult:
    """Every layer ``decoders`` can peel off ``text``, within ``limits``."""
    budget = Budget(limits)
    layers: list[Layer] = []
    current = text
    seen = {text}
    stopped: str | None = None
    try:
        budget.room(len(text))
        while True:
            if len(layers) >= limits.max_depth:
                stopped = f"depth limit ({limits.max_depth} layers)"
                break
            step = None
            for decoder in decoders:
                budget.check_time()
                found = decoder(current, budget)
                if found is not None and found.text not in seen:
                    step = found
                    break
            if step is None:
                break
            budget.room(len(step.text))
            layers.append(Layer(step.technique, current, step.text, step.detail))
            current = step.text
            seen.add(current)
    except BudgetExceeded as exc:
        stopped = str(exc)
    return DecodeResult(text, current, tuple(layers), stopped)
