"""Real obfuscated commands: Invoke-DOSfuscation and Bashfuscator output, the Atomic Red Team T1059 tests.

These measure how far decoding gets on real tool output and fail when a change makes it worse. The figures
are in docs/decoding.md: the goals are 90 % of DOSfuscation commands back to their base command and 75 % of
Bashfuscator payloads back to their original; the floors below sit just under today's results.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from shellwatch.decode.commandline import decode_command


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# The base commands Invoke-DOSfuscation's test harness obfuscates (its samples do not say which one each
# line hides), as they read once decoded: lower case, whitespace collapsed, the empty quotes (``net us""er``)
# the harness inserts on purpose removed. The long PowerShell ones are known by their first characters.
DOSFUSCATION_BASE_COMMANDS = (
    "net user",
    "netstat -ano",
    "dir c:\\windows\\system32\\ca",
    'dir "c:\\windows\\system32\\ca',
    "dir c:\\windows\\system32\\net.exe",
    "echo %temp%",
    "echo c:\\users\\user\\appdata\\local\\temp",
    "echo bla",
    "echo _ >",
    "del c:\\users\\",
    "write-output",
    "write-host",
    "$45wthq",
    "'de','l'",
    "sv 'ofs'",
    "'del b'+'la.txt",
    "set o07stn",
    "'8a62m15u118",
    "$env:public[13]",
    "[string]::join(",
    "${)}=+$()",
)


def _as_decoded(text: str) -> str:
    return " ".join(text.lower().replace('\\"', '"').replace('""', "").split())


def test_dosfuscation_commands_decode_to_their_base_command(corpus: Path) -> None:
    files = sorted((corpus / "obfuscation" / "invoke-dosfuscation").glob("*.txt"))
    if not files:
        pytest.skip("no Invoke-DOSfuscation samples")
    total = found = 0
    for path in files:
        for line in _lines(path):
            result = decode_command(line, "windows")
            # a layer may show the base command before PowerShell decoding takes it further
            texts = [_as_decoded(text) for text in (result.text, *(layer.after for layer in result.layers))]
            total += 1
            found += any(base in text for text in texts for base in DOSFUSCATION_BASE_COMMANDS)
    assert total == 4000
    assert found / total >= 0.99, f"{found}/{total}"


def test_bashfuscator_payloads_decode_to_their_original(corpus: Path) -> None:
    path = corpus / "obfuscation" / "bashfuscator" / "bashfuscator_generated.jsonl"
    if not path.exists():
        pytest.skip("no Bashfuscator samples")
    samples = [json.loads(line) for line in _lines(path)]
    back = sum(
        " ".join(sample["original"].split())
        in " ".join(decode_command(sample["obfuscated"], "unix").text.split())
        for sample in samples
    )
    assert len(samples) == 147
    assert back / len(samples) >= 0.95, f"{back}/{len(samples)}"


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
