"""Shared test helpers: where the real corpus is, and how to read a file into events."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

from shellwatch.events import Event
from shellwatch.ingest.base import ParseIssue, ReaderOptions
from shellwatch.pipeline import FileReport, IngestConfig, ingest_source
from shellwatch.sources.files import Source, expand

# Property tests draw the same examples on every run, so a red build is reproducible and never flaky;
# HYPOTHESIS_PROFILE=explore draws new ones each run to look for bugs.
settings.register_profile("default", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = Path(os.environ.get("SHELLWATCH_CORPUS", ROOT.parent / "shared" / "corpus"))


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The real public corpus in ../shared/corpus; tests that use it skip when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"real corpus not present at {CORPUS}")
    return CORPUS


def read_events(
    path: Path,
    fmt: str | None = None,
    options: ReaderOptions | None = None,
    name: str | None = None,
) -> tuple[list[Event], list[ParseIssue], FileReport]:
    """Read one file (or archive member) through the real pipeline stage; return events, issues, report."""
    sources = list(expand([path]))
    assert len(sources) == 1, f"{path} holds {len(sources)} sources"
    source = sources[0]
    if name is not None:
        source = Source(name, source.opener, source.size, source.mtime)
    issues: list[ParseIssue] = []
    report = FileReport(source.name)
    config = IngestConfig(format=fmt, options=options or ReaderOptions())
    events = list(ingest_source(source, report, config, issues.append))
    return events, issues, report


ReadEvents = Callable[..., tuple[list[Event], list[ParseIssue], FileReport]]


@pytest.fixture()
def read() -> ReadEvents:
    return read_events
