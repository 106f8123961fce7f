"""Detection benchmark: SigmaHQ Windows rules over the EVTX files of ``evtx-bench``.

Usage: ``.venv/bin/python bench/bench_detect.py [RULES_DIR] [--evtx DIR]``
(defaults: ``../shared/corpus/sigma/rules/windows`` and ``../shared/corpus/evtx-bench``).

Reports, as a Markdown table: rules loaded and failed; ``RuleSet.build`` time cold (empty cache
directory) and warm (from that cache); detector µs per event (events read once beforehand; best of 3
after a warm-up pass); candidates evaluated per event; alerts; and end to end, in one process, EVTX
reading plus detection in events per second (one pass, fresh rule set from the warm cache).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from shellwatch.detect.engine import Detector
from shellwatch.detect.ruleset import RuleSet
from shellwatch.events import Event
from shellwatch.pipeline import FileReport, IngestConfig, ingest_source
from shellwatch.sources.files import expand

HERE = Path(__file__).resolve().parent
DEFAULT_RULES = HERE.parent.parent / "shared" / "corpus" / "sigma" / "rules" / "windows"
DEFAULT_EVTX = HERE.parent.parent / "shared" / "corpus" / "evtx-bench"


def read_events(files: list[str]) -> Iterator[Event]:
    config = IngestConfig(format="evtx")
    for source in expand(files):
        yield from ingest_source(source, FileReport(source.name), config)


def build(rules: Path, cache: Path) -> tuple[RuleSet, float]:
    started = time.perf_counter()
    ruleset = RuleSet.build([rules], builtin=False, cache_directory=cache)
    return ruleset, time.perf_counter() - started


def detect_pass(detector: Detector, events: list[Event]) -> tuple[float, int]:
    started = time.perf_counter()
    alerts = sum(len(detector.match(event)) for event in events)
    return time.perf_counter() - started, alerts


def candidates_per_event(ruleset: RuleSet, events: list[Event]) -> float:
    """Rules evaluated per event after routing and prefilter (internal API, for the report only)."""
    total = 0
    for event in events:
        bundle = ruleset._route(event)
        if bundle.rules:
            total += len(bundle.prefilter.candidates(event))
    return total / max(len(events), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rules", nargs="?", type=Path, default=DEFAULT_RULES)
    parser.add_argument("--evtx", type=Path, default=DEFAULT_EVTX)
    args = parser.parse_args()
    files = sorted(str(path) for path in args.evtx.rglob("*.evtx"))

    started = time.perf_counter()
    events = list(read_events(files))
    read_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as directory:
        cache = Path(directory)
        ruleset, cold = build(args.rules, cache)
        _, warm = build(args.rules, cache)
        detector = Detector(ruleset)
        first, alerts = detect_pass(detector, events)
        best = min(detect_pass(detector, events)[0] for _ in range(3))
        candidates = candidates_per_event(ruleset, events)

        started = time.perf_counter()
        fresh = Detector(RuleSet.build([args.rules], builtin=False, cache_directory=cache))
        count = end_to_end_alerts = 0
        for event in read_events(files):
            count += 1
            end_to_end_alerts += len(fresh.match(event))
        end_to_end = time.perf_counter() - started

    n = max(len(events), 1)
    rows = [
        ("EVTX files / events", f"{len(files)} / {len(events)}"),
        ("rules loaded / failed", f"{len(ruleset)} / {len(ruleset.errors)}"),
        ("RuleSet.build cold (no cache)", f"{cold:.2f} s"),
        ("RuleSet.build warm (from cache)", f"{warm:.3f} s"),
        ("reader alone", f"{read_seconds / n * 1e6:.1f} µs/event"),
        ("detector, first pass (lazy matchers)", f"{first / n * 1e6:.1f} µs/event"),
        ("detector, best of 3 after warm-up", f"{best / n * 1e6:.1f} µs/event"),
        ("candidates evaluated per event", f"{candidates:.2f}"),
        ("alerts", f"{alerts}"),
        (
            "end to end EVTX → alerts (start-up included)",
            f"{count / end_to_end:,.0f} events/s ({end_to_end:.2f} s, {end_to_end_alerts} alerts)",
        ),
    ]
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
