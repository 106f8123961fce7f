"""Value types of command-line analysis: redirections, segments, findings and the analysis of one line."""

from __future__ import annotations

from dataclasses import dataclass

VERDICTS: tuple[str, ...] = ("benign", "suspicious", "malicious")
PIPES: frozenset[str] = frozenset({"|", "|&"})


@dataclass(frozen=True, slots=True)
class Redirection:
    """One redirection of a segment.

    ``fd`` is the descriptor redirected (``2`` in ``2>&1``; the implied 0 or 1 when none is written; None
    for ``&>`` and ``*>``, which redirect several). The target is either another descriptor
    (``target_fd``, ``2>&1``) or a file (``target_path``, quotes removed). Here-documents and here-strings
    have no target: their text is in ``body``.
    """

    text: str
    operator: str
    fd: int | None
    target_fd: int | None = None
    target_path: str = ""
    body: str = ""

    @property
    def writes(self) -> bool:
        """True when the redirection writes to (or truncates) ``target_path``."""
        return bool(self.target_path) and (">" in self.operator)


@dataclass(frozen=True, slots=True)
class Segment:
    """One simple command of a line.

    ``command`` is the basename of the program word (lowercased, without ``.exe``, on Windows) and
    ``command_path`` that word as written after quote removal. ``operator`` is the operator that joins the
    segment to the next one ("" for none); ``position`` is its place in its pipeline (0 for the first
    command, or a command that is not piped). ``depth`` is 0 for the top level and grows by one per
    command substitution, script block or shell body (``bash -c``, ``cmd /c``, ``powershell -Command``).
    """

    text: str
    command: str
    argv: tuple[str, ...]
    redirections: tuple[Redirection, ...]
    operator: str
    depth: int
    shell: str
    command_path: str = ""
    position: int = 0

    @property
    def nested(self) -> bool:
        """True for segments inside a substitution, a script block or a shell body."""
        return self.depth > 0


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule that matched; ``segment`` indexes ``Analysis.segments``."""

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
    shell: str = ""


def worst(severities: list[str] | tuple[str, ...]) -> str:
    """The most severe of ``severities``; ``benign`` when empty."""
    rank = 0
    for severity in severities:
        rank = max(rank, VERDICTS.index(severity) if severity in VERDICTS else 0)
    return VERDICTS[rank]
