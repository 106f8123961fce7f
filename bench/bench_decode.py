"""Decoding benchmark: what the decode tagger costs per event on real logs, and per obfuscated command.

Usage: ``.venv/bin/python bench/bench_decode.py [--corpus DIR]`` (default ``../shared/corpus``).

Two parts, printed as Markdown tables:

* **per event**: every event with a command line or script block of ``evtx-bench``, the Sysmon-for-Linux
  and auditd corpora, run through :class:`~shellwatch.decode.commandline.CommandDecoder` (events read
  once beforehand; best of 3): µs per event, the share that passes the cheap check, and the share that
  decodes to something;
* **per obfuscated command**: the Invoke-DOSfuscation, Bashfuscator and Atomic Red Team T1059 commands:
  mean and worst ms per command with the CLI's limits, and how many stopped at a limit.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

from shellwatch.decode.commandline import CommandDecoder, decode_command
from shellwatch.decode.gate import looks_encoded
from shellwatch.events import Event
from shellwatch.pipeline import FileReport, IngestConfig, ingest_source
from shellwatch.sources.files import expand

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpus"
FIELDS = ("process.command_line", "powershell.file.script_block_text")


def events_with_commands(paths: list[Path]) -> list[Event]:
    found: list[Event] = []
    for source in expand([str(path) for path in paths if path.exists()]):
        for event in ingest_source(source, FileReport(source.name), IngestConfig()):
            if any(isinstance(event.get(name), str) for name in FIELDS):
                found.append(event)
    return found


def per_event(events: list[Event]) -> None:
    tagger = CommandDecoder()
    best = float("inf")
    for _ in range(3):
        copies = [dict(event) for event in events]
        started = time.perf_counter()
        for event in copies:
            tagger(event)
        best = min(best, time.perf_counter() - started)
    gated = sum(
        any(isinstance(event.get(name), str) and looks_encoded(str(event[name])) for name in FIELDS)
        for event in events
    )
    decoded = sum("shellwatch.decoded.layers" in event for event in copies)
    print("| events with a command | µs per event | pass the cheap check | decoded |")
    print("|---:|---:|---:|---:|")
    print(
        f"| {len(events):,} | {best / max(1, len(events)) * 1e6:.1f} | {gated:,} ({gated / len(events):.1%}) "
        f"| {decoded:,} ({decoded / len(events):.1%}) |"
    )


def obfuscated(corpus: Path) -> Iterator[tuple[str, str, str | None]]:
    for path in sorted((corpus / "obfuscation" / "invoke-dosfuscation").glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield "Invoke-DOSfuscation", line, "cmd"
    bashfuscator = corpus / "obfuscation" / "bashfuscator" / "bashfuscator_generated.jsonl"
    if bashfuscator.exists():
        for line in bashfuscator.read_text(encoding="utf-8").splitlines():
            yield "Bashfuscator", json.loads(line)["obfuscated"], "bash"
    for path in sorted((corpus / "atomic").glob("T1059*.yaml")):
        for test in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("atomic_tests", []):
            executor = test.get("executor") or {}
            command = executor.get("command")
            if isinstance(command, str):
                shells = {"command_prompt": "cmd", "powershell": "powershell"}
                shell = shells.get(executor.get("name"), "bash")
                yield "Atomic Red Team T1059", command, shell


def per_command(corpus: Path) -> None:
    times: dict[str, list[float]] = {}
    stopped: dict[str, int] = {}
    for name, command, shell in obfuscated(corpus):
        started = time.perf_counter()
        result = decode_command(command, shell)
        times.setdefault(name, []).append(time.perf_counter() - started)
        stopped[name] = stopped.get(name, 0) + (result.stopped is not None)
    print("| commands | count | mean ms | worst ms | stopped at a limit |")
    print("|---|---:|---:|---:|---:|")
    for name, spent in times.items():
        print(
            f"| {name} | {len(spent):,} | {sum(spent) / len(spent) * 1e3:.2f} | {max(spent) * 1e3:.1f} "
            f"| {stopped[name]} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    corpus: Path = args.corpus
    events = events_with_commands(
        [corpus / "evtx-bench", corpus / "evtx", corpus / "sysmon-linux", corpus / "auditd"]
    )
    per_event(events)
    print()
    per_command(corpus)


if __name__ == "__main__":
    main()
