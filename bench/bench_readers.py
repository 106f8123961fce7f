"""Reader throughput on the real corpus: events per second per format, and EVTX against raw `evtx` iteration.

    .venv/bin/python bench/bench_readers.py [--corpus ../shared/corpus] [--repeat 3]

Each measurement runs in this process, after one warm-up pass, and reports the best of --repeat passes
(the least disturbed by other load on the machine). Output is a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import evtx
import orjson

from shellwatch.ingest.base import ReaderOptions
from shellwatch.pipeline import FileReport, IngestConfig, ingest_source
from shellwatch.sources.files import Source, expand

ROOT = Path(__file__).resolve().parents[1]

# (label, reader, globs under the corpus)
SETS: list[tuple[str, str, list[str]]] = [
    ("EVTX (evtx-bench, 593 files)", "evtx", ["evtx-bench/**/*.evtx"]),
    ("EVTX (corpus/evtx)", "evtx", ["evtx/**/*.evtx"]),
    ("auditd raw", "auditd", ["auditd/**/*.log", "auditd/laurel/*.txt"]),
    ("syslog / auth.log", "syslog", ["syslog/loghub/*.log", "syslog/plaso/syslog*"]),
    ("Sysmon for Linux (Sentinel export)", "", ["sysmon-linux/**/*.json"]),
    ("Windows JSON (OTRF zips)", "", ["windows-json/**/*.zip"]),
    ("Zeek conn.log (TSV + JSON)", "zeek", ["zeek/**/*conn.log"]),
    ("macOS eslogger", "eslogger", ["macos/**/*.jsonl"]),
    ("shell history", "shell_history", ["shell-history/plaso_*history*"]),
]


def _files(corpus: Path, globs: list[str]) -> list[Path]:
    return sorted({path for pattern in globs for path in corpus.glob(pattern) if path.is_file()})


def _read_all(sources: list[Source], fmt: str | None) -> tuple[int, int, int]:
    config = IngestConfig(format=fmt or None, options=ReaderOptions())
    records = events = errors = 0
    for source in sources:
        report = FileReport(source.name)
        for _ in ingest_source(source, report, config):
            pass
        records, events, errors = records + report.records, events + report.events, errors + report.errors
    return records, events, errors


def _best(run: Callable[[], object], repeat: int) -> float:
    run()
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return min(timings)


def _raw_evtx(paths: list[Path]) -> int:
    count = 0
    for path in paths:
        for record in evtx.PyEvtxParser(str(path)).records_json():
            orjson.loads(record["data"])
            count += 1
    return count


def _raw_evtx_stdlib_json(paths: list[Path]) -> int:
    count = 0
    for path in paths:
        for record in evtx.PyEvtxParser(str(path)).records_json():
            json.loads(record["data"])
            count += 1
    return count


def _raw_evtx_no_json(paths: list[Path]) -> int:
    count = 0
    for path in paths:
        for _ in evtx.PyEvtxParser(str(path)).records_json():
            count += 1
    return count


# Line formats are small in the corpus: these inputs repeat them to a size where per-file costs vanish.
REPEATED: list[tuple[str, str, list[str], int]] = [
    ("auditd raw, all corpus logs x200", "auditd", ["auditd/**/*.log", "auditd/laurel/*.txt"], 200),
    ("OpenSSH_2k.log x50", "syslog", ["syslog/loghub/OpenSSH_2k.log"], 50),
    ("Zeek APT29 JSON conn logs x20", "zeek", ["zeek/otrf-apt29/*_conn.log"], 20),
]


def _repeated(corpus: Path, repeat: int) -> None:
    print()
    print("| repeated input | reader | MB | records | events | errors | best s | events/s | records/s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as scratch:
        for label, fmt, globs, times in REPEATED:
            paths = _files(corpus, globs)
            if not paths:
                continue
            blob = b"".join(path.read_bytes().rstrip(b"\n") + b"\n" for path in paths) * times
            target = Path(scratch) / f"{fmt}.log"
            target.write_bytes(blob)
            sources = list(expand([target]))
            records, events, errors = _read_all(sources, fmt)
            seconds = _best(lambda sources=sources, fmt=fmt: _read_all(sources, fmt), repeat)
            size = len(blob) / 1e6
            print(
                f"| {label} | {fmt} | {size:.1f} | {records} | {events} | {errors} | {seconds:.3f} "
                f"| {events / seconds:,.0f} | {records / seconds:,.0f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print()
    print("| input | reader | files | records | events | errors | best s | events/s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for label, fmt, globs in SETS:
        paths = _files(args.corpus, globs)
        if not paths:
            continue
        sources = list(expand(paths))
        records, events, errors = _read_all(sources, fmt)
        seconds = _best(lambda sources=sources, fmt=fmt: _read_all(sources, fmt), args.repeat)
        rate = events / seconds if seconds else 0.0
        print(
            f"| {label} | {fmt or 'sniffed'} | {len(paths)} | {records} | {events} | {errors} "
            f"| {seconds:.3f} | {rate:,.0f} |"
        )
    _repeated(args.corpus, args.repeat)
    bench = _files(args.corpus, ["evtx-bench/**/*.evtx"])
    if bench:
        raw_count = _raw_evtx(bench)
        raw = _best(lambda: _raw_evtx(bench), args.repeat)
        bare = _best(lambda: _raw_evtx_no_json(bench), args.repeat)
        stdlib = _best(lambda: _raw_evtx_stdlib_json(bench), args.repeat)
        ours = _best(lambda: _read_all(list(expand(bench)), "evtx"), args.repeat)
        print()
        print("| EVTX reference on evtx-bench | records | best s | records/s | ratio to ours |")
        print("|---|---:|---:|---:|---:|")
        rows = [
            ("raw `evtx` records_json(), no JSON decode", bare),
            ("raw `evtx` records_json() + orjson.loads", raw),
            ("raw `evtx` records_json() + json.loads", stdlib),
            ("shellwatch `evtx` reader (normalized ECS)", ours),
        ]
        for label, seconds in rows:
            rate, ratio = raw_count / seconds, ours / seconds
            print(f"| {label} | {raw_count} | {seconds:.3f} | {rate:,.0f} | {ratio:.2f} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(f"peak RSS of the benchmark process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
