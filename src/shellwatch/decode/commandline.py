"""Decoding a command line, and the event tagger that puts what decoding revealed on the event.

:func:`decode_command` picks the decoders for the shell that runs the line (PowerShell and the generic
encodings everywhere; cmd.exe tricks for Windows, bash tricks elsewhere; all of them when the shell is not
known) and peels every layer. :class:`CommandDecoder` runs in the context stage, before detection, on
events whose command line (or PowerShell script block) passes the cheap check of :mod:`.gate`, and writes:

* ``shellwatch.decoded.command_line`` (or ``shellwatch.decoded.script_block_text``): the final text, when
  at least one layer was peeled; ``shellwatch.decoded.layers`` (technique of each layer, in order),
  ``shellwatch.decoded.layer_details`` and ``shellwatch.decoded.stopped`` (the limit that stopped it);
* ``shellwatch.obfuscation.score`` and ``shellwatch.obfuscation.reasons`` (:mod:`.score`);
* ``shellwatch.command.segments`` and the other ``shellwatch.command.*`` lists of
  :func:`shellwatch.cmdline.segments_as_fields`: the commands of the (decoded) line, their operators,
  redirections and findings, for command lines that chain commands or passed the cheap check.

Detection then runs the rules a second time on the decoded text (:mod:`shellwatch.detect.stage`).
"""

from __future__ import annotations

import ntpath
import posixpath
import re
from typing import Final

from shellwatch.cmdline import analyze, guess_shell, segments_as_fields
from shellwatch.decode import bash, cmd, encodings, powershell
from shellwatch.decode.engine import decode
from shellwatch.decode.gate import looks_encoded
from shellwatch.decode.model import DEFAULT_LIMITS, Decoder, DecodeResult, Limits
from shellwatch.decode.score import obfuscation
from shellwatch.events import Event

# cmd.exe first: case and quote normalisation by the PowerShell steps would break what cmd.exe is
# case-sensitive about (``findstr`` searches, ``for /f`` delimiters) before the line is read as cmd.exe does.
WINDOWS_DECODERS: Final[tuple[Decoder, ...]] = (
    *cmd.STEPS[:1],
    *powershell.STEPS,
    *cmd.STEPS[1:],
    *encodings.STEPS,
)
POWERSHELL_DECODERS: Final[tuple[Decoder, ...]] = (*powershell.STEPS, *encodings.STEPS)
"""For text PowerShell reads itself (script blocks, powershell.exe's command line): cmd.exe never read it."""
UNIX_DECODERS: Final[tuple[Decoder, ...]] = (*powershell.STEPS, *bash.STEPS, *encodings.STEPS)
ALL_DECODERS: Final[tuple[Decoder, ...]] = (
    *cmd.STEPS[:1],
    *powershell.STEPS,
    *cmd.STEPS[1:],
    *bash.STEPS,
    *encodings.STEPS,
)
EVENT_LIMITS: Final = Limits(max_seconds=0.1, max_output=64 * 1024)
"""Tighter limits for the pipeline: one event must never hold up the scan."""

_CHAINED: Final = re.compile(r"[|;&\n`]|\$\(")
_WINDOWS_SHELLS: Final = frozenset({"cmd", "powershell", "pwsh", "powershell_ise", "wscript", "cscript"})
_POWERSHELL_EXECUTABLES: Final = frozenset({"powershell", "pwsh", "powershell_ise"})
_UNIX_SHELLS: Final = frozenset({"sh", "bash", "dash", "zsh", "ksh", "busybox", "ash", "mksh", "fish"})


def decoders_for(shell: str | None) -> tuple[Decoder, ...]:
    """The decoders for a command run by ``shell`` (windows, cmd, powershell, unix, bash, or None)."""
    if shell == "powershell":
        return POWERSHELL_DECODERS
    if shell in ("windows", "cmd"):
        return WINDOWS_DECODERS
    if shell in ("unix", "linux", "macos", "bash", "sh"):
        return UNIX_DECODERS
    return ALL_DECODERS


def decode_command(text: str, shell: str | None = None, limits: Limits = DEFAULT_LIMITS) -> DecodeResult:
    """Every layer the decoders for ``shell`` can peel off ``text``, within ``limits``."""
    return decode(text, decoders_for(shell), limits)


def platform_of(event: Event) -> str | None:
    """``windows`` or ``unix`` from the event's host or executable; None when neither says."""
    os_type = event.get("host.os.type")
    if os_type == "windows":
        return "windows"
    if os_type in ("linux", "macos", "unix"):
        return "unix"
    executable = event.get("process.executable") or event.get("process.name")
    if isinstance(executable, str) and executable:
        stem = _stem(executable)
        if stem in _WINDOWS_SHELLS or executable.lower().endswith(".exe"):
            return "windows"
        if stem in _UNIX_SHELLS or executable.startswith("/"):
            return "unix"
    return None


def _reader_of(event: Event) -> str | None:
    """Who reads a process command line: PowerShell for powershell.exe (no cmd.exe read it), else the
    platform's shells."""
    executable = event.get("process.executable") or event.get("process.name")
    if isinstance(executable, str) and _stem(executable) in _POWERSHELL_EXECUTABLES:
        return "powershell"
    return platform_of(event)


def _stem(path: str) -> str:
    name = ntpath.basename(path) if "\\" in path else posixpath.basename(path)
    return name.lower().removesuffix(".exe")


class CommandDecoder:
    """The context-stage tagger: decoded text, obfuscation score and segments on the event."""

    def __init__(self, limits: Limits = EVENT_LIMITS) -> None:
        self.limits = limits

    def __call__(self, event: Event) -> None:
        line = event.get("process.command_line")
        if isinstance(line, str) and line:
            self._tag(event, line, "command_line")
        block = event.get("powershell.file.script_block_text")
        if isinstance(block, str) and block:
            self._tag(event, block, "script_block_text", "powershell")

    def _tag(self, event: Event, text: str, name: str, platform: str | None = None) -> None:
        if not looks_encoded(text):
            if name == "command_line" and _CHAINED.search(text):
                self._segments(event, text, platform or platform_of(event))
            return
        result = decode_command(text, platform or _reader_of(event), self.limits)
        found = obfuscation(result)
        if found.score:
            event["shellwatch.obfuscation.score"] = max(
                found.score, _int(event.get("shellwatch.obfuscation.score"))
            )
            event["shellwatch.obfuscation.reasons"] = list(found.reasons)
        if name == "command_line":
            self._segments(event, result.text, platform or platform_of(event))
        if not result.layers:
            return
        event[f"shellwatch.decoded.{name}"] = result.text
        event["shellwatch.decoded.layers"] = [layer.technique for layer in result.layers]
        event["shellwatch.decoded.layer_details"] = [layer.detail for layer in result.layers]
        if result.stopped is not None:
            event["shellwatch.decoded.stopped"] = result.stopped

    @staticmethod
    def _segments(event: Event, text: str, platform: str | None) -> None:
        executable = event.get("process.executable")
        shell = guess_shell(text, executable if isinstance(executable, str) else None)
        if platform == "unix" and shell == "cmd":
            shell = "bash"
        event.update(segments_as_fields(analyze(text, shell)))


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
