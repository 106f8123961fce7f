"""Command-line analysis: split a bash, cmd.exe or PowerShell line into segments and flag risky ones.

``analyze`` splits a line (``bash``: bashlex with a hand tokenizer behind it; ``cmd`` and ``powershell``:
the tokenizers of ``windows``), checks every segment against the rules of ``flags`` and gives one verdict
per segment (``benign``, ``suspicious`` or ``malicious``) and one for the line. Results are cached per
(line, shell) in a bounded LRU cache, so a line seen again costs a dictionary look-up.
"""

from __future__ import annotations

import functools
import ntpath
import re

from shellwatch.cmdline import flags
from shellwatch.cmdline._words import split
from shellwatch.cmdline.model import Analysis, Finding, Redirection, Segment, worst

__all__ = ["Analysis", "Finding", "Redirection", "Segment", "analyze", "guess_shell", "segments_as_fields"]

SHELLS = ("bash", "cmd", "powershell")
PREFIX = "shellwatch.command."

_EXECUTABLES = {
    "cmd": "cmd",
    "powershell": "powershell",
    "powershell_ise": "powershell",
    "pwsh": "powershell",
    "bash": "bash",
    "sh": "bash",
    "dash": "bash",
    "zsh": "bash",
    "ksh": "bash",
    "ash": "bash",
    "busybox": "bash",
}
_POWERSHELL_CUES = re.compile(
    r"\$env:|\$_\b|\b(?:get|set|new|remove|invoke|start|stop|add|write|out|import|select|where|foreach)-"
    r"[a-z]+\b|\[(?:system\.)?[a-z.]+\]::|\biex\b|-(?:encodedcommand|executionpolicy|nop|noprofile)\b|\bpowershell\b|"
    r"\bpwsh\b",
    re.IGNORECASE,
)
_CMD_CUES = re.compile(
    r"%\w+%|\^[&|<>^]|\b[a-z]:\\|\bcmd(?:\.exe)?\s+/[ckr]\b|\.(?:exe|bat|cmd|dll|vbs)\b|\s/[a-z?]\b|"
    r"(?:^|[&|(]\s*)@?(?:reg|schtasks|sc|net1?|wmic|certutil|bitsadmin|findstr|rundll32|regsvr32|mshta|type|del|dir|"
    r"copy|move|ren|set|call|start|echo\.)(?:\.exe)?\s",
    re.IGNORECASE,
)
_FIRST_WORD = re.compile(r'[^\s"]+')
_BASH_CUES = re.compile(
    r"(?:^|[\s;|&<>=])(?:/(?:bin|usr|tmp|etc|dev|var|home|proc|opt|root|sys|srv|run|mnt|lib)\b|~/|\./)|"
    r"\$\{?[A-Za-z_]\w*|\$\{[@*!#]|<<<|\$'|\bsudo\b|\|\s*(?:ba)?sh\b|(?:^|[;|&]\s*)(?:ls|cat|grep|find|awk|sed|chmod|chown|"
    r"rm|cp|mv|ps|kill|uname|id|which|export|unset|source|nohup)\s"
)


def guess_shell(command_line: str, executable: str | None = None) -> str:
    """``bash``, ``cmd`` or ``powershell`` for a line, from its executable when known, else from cues."""
    if executable:
        name = _program_name(executable)
        if name in _EXECUTABLES:
            return _EXECUTABLES[name]
    return _guess_from_text(command_line)


def _program_name(path: str) -> str:
    return ntpath.basename(path.strip().strip('"').replace("/", "\\")).lower().removesuffix(".exe")


@functools.lru_cache(maxsize=4096)
def _guess_from_text(command_line: str) -> str:
    head = command_line.lstrip().lstrip("@").lstrip('"')
    first = _FIRST_WORD.match(head)
    first_name = _program_name(first.group()) if first else ""
    if first_name in {"powershell", "pwsh"}:
        return "powershell"
    if first_name == "cmd":
        return "cmd"
    ps = len(_POWERSHELL_CUES.findall(command_line))
    cmd = len(_CMD_CUES.findall(command_line))
    sh = len(_BASH_CUES.findall(command_line))
    if ps and ps >= cmd and ps >= sh:
        return "powershell"
    if cmd and cmd > sh:
        return "cmd"
    return "bash"


@functools.lru_cache(maxsize=4096)
def _analyze(command_line: str, shell: str) -> Analysis:
    segments = tuple(split(command_line, shell))
    findings = tuple(flags.check(segments))
    per_segment: list[list[str]] = [[] for _ in segments]
    for finding in findings:
        per_segment[finding.segment].append(finding.severity)
    verdicts = tuple(worst(severities) for severities in per_segment)
    return Analysis(segments, findings, verdicts, worst(verdicts), shell)


def analyze(command_line: str, shell: str | None = None) -> Analysis:
    """Segments, findings and verdicts of ``command_line``; ``shell`` None guesses it. Never raises."""
    if not isinstance(command_line, str):
        command_line = str(command_line)
    chosen = shell.lower() if shell else guess_shell(command_line)
    if chosen not in SHELLS:
        chosen = guess_shell(command_line, chosen)
    return _analyze(command_line, chosen)


def segments_as_fields(analysis: Analysis) -> dict[str, str | list[str]]:
    """Flat ECS fields of an analysis: lists of strings, one string for the verdict."""
    return {
        f"{PREFIX}segments": [s.text for s in analysis.segments],
        f"{PREFIX}segment_commands": [s.command for s in analysis.segments],
        f"{PREFIX}segment_operators": [s.operator for s in analysis.segments],
        f"{PREFIX}segment_verdicts": list(analysis.verdicts),
        f"{PREFIX}findings": [f.kind for f in analysis.findings],
        f"{PREFIX}finding_reasons": [f.reason for f in analysis.findings],
        f"{PREFIX}verdict": analysis.verdict,
    }
