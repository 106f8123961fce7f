"""Value types of command-line analysis: segments, findings and the analysis of one line."""

from __future__ import annotations

from dataclasses import dataclass

VERDICTS: tuple[str, ...] = ("benign", "suspicious", "malicious")
SEVERITIES: tuple[str, ...] = VERDICTS


@dataclass(frozen=True, slots=True)
class Segment:
    """One simple command of a line.

    ``operator`` is the operator that follows the segment ("" for none); ``depth`` is 0 for the top
    level and grows by one per command substitution, script block or ``cmd /c`` body.
    """

    text: str
    command: str
    argv: tuple[str, ...]
    redirections: tuple[str, ...]
    operator: str
    depth: int
    shell: str


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule that matched; ``segment`` indexes ``Analysis.segments`` (-1 for the whole line)."""

    kind: str
    reason: str
    segment: int
    severity: str


@dataclass(frozen=True, slots=True)
class Analysis:
    """Segments of a line, what matched, one verdict per segment and the overall verdict."""

    segments: tuple[Segment, ...]
    findings: tuple[Finding, ...]
    verdicts: tuple[str, ...]
    verdict: str


def worst(severities: list[str] | tuple[str, ...]) -> str:
    """The most severe of ``severities``; ``benign`` when empty."""
    rank = 0
    for severity in severities:
        rank = max(rank, VERDICTS.index(severity) if severity in VERDICTS else 0)
    return VERDICTS[rank]
