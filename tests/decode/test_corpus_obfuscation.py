"""Real obfuscated commands: Invoke-DOSfuscation and Bashfuscator output, the Atomic Red Team T1059 tests.

These measure how far decoding gets on real tool output and fail when a change makes it worse. The figures
are in docs/decoding.md; the goals there (90 % of DOSfuscation commands, 75 % of Bashfuscator payloads back
to their original) are not reached yet, so the floors below are today's results.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from shellwatch.decode.commandline import decode_command


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_dosfuscation_commands_decode_to_their_base_command(corpus: Path) -> None:
    files = sorted((corpus / "obfuscation" / "invoke-dosfuscation").glob("*.txt"))
    if not files:
        pytest.skip("no Invoke-DOSfuscation samples")
    total = found = 0
    for path in files:
        for line in _lines(path):
            text = " ".join(decode_command(line, "windows").text.lower().split())
            total += 1
            found += "net user" in text  # every sample obfuscates `net user`
    assert total == 4000
    assert found / total >= 0.06, f"{found}/{total}"


def test_bashfuscator_payloads_are_peeled(corpus: Path) -> None:
    path = corpus / "obfuscation" / "bashfuscator" / "bashfuscator_generated.jsonl"
    if not path.exists():
        pytest.skip("no Bashfuscator samples")
    samples = [json.loads(line) for line in _lines(path)]
    peeled = sum(bool(decode_command(sample["obfuscated"], "unix").layers) for sample in samples)
    assert len(samples) == 147
    assert peeled / len(samples) >= 0.9, f"{peeled}/{len(samples)}"


def test_atomic_t1059_commands_decode_without_error(corpus: Path) -> None:
    commands = []
    for path in sorted((corpus / "atomic").glob("T1059*.yaml")):
        for test in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("atomic_tests", []):
            executor = test.get("executor") or {}
            if isinstance(executor.get("command"), str):
                windows = executor.get("name") in ("command_prompt", "powershell")
                commands.append((executor["command"], "windows" if windows else "unix"))
    if not commands:
        pytest.skip("no Atomic Red Team T1059 tests")
    results = [decode_command(command, shell) for command, shell in commands]
    assert all(result.stopped is None for result in results)
    assert sum(bool(result.layers) for result in results) >= 5
