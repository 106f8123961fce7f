"""Bashfuscator output decoded by the bash emulator alone, compared with the command it hides.

A sample counts as decoded when the final text equals ``original`` once whitespace is normalized: runs of
blanks collapsed to one space and both ends stripped (``" ".join(text.split())``), because Bashfuscator
and the emulator may differ in spacing only. The rate is printed overall and per mutator (``pytest -s``).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from shellwatch.decode import bash
from shellwatch.decode.engine import decode

FLOOR = 0.95
"""The goal is 0.75; 142 of 147 (0.966) decode today, and this fails if that drops."""


def _normal(text: str) -> str:
    return " ".join(text.split())


def test_bashfuscator_samples_decode_to_their_original(corpus: Path) -> None:
    path = corpus / "obfuscation" / "bashfuscator" / "bashfuscator_generated.jsonl"
    samples = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    total: Counter[str] = Counter()
    found: Counter[str] = Counter()
    for sample in samples:
        mutator = sample["mutators"] if isinstance(sample["mutators"], str) else "+".join(sample["mutators"])
        result = decode(sample["obfuscated"], bash.STEPS)
        total[mutator] += 1
        found[mutator] += _normal(result.text) == _normal(sample["original"])
    for mutator in sorted(total):
        print(f"{mutator}: {found[mutator]}/{total[mutator]}")
    rate = sum(found.values()) / len(samples)
    print(f"overall: {sum(found.values())}/{len(samples)} = {rate:.1%}")
    assert len(samples) == 147
    assert rate >= FLOOR, f"{sum(found.values())}/{len(samples)}"
