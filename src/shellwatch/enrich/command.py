"""The command that ran: its full argv, the executable resolved, the interpreter and its script or code.

Playbook step "Command Line Extraction". Sources disagree on what they give: auditd and Sysmon give the
resolved executable and the argv, 4688 without command-line auditing gives only the image, shell history
gives only the typed line. This enricher writes one view whatever the source:

- ``shellwatch.command.argv``: ``process.args`` when the event has them, else the command line split the
  way the host's platform splits it (``CommandLineToArgvW`` rules on Windows, POSIX quoting elsewhere);
- ``shellwatch.command.executable``: the absolute path that ran: ``process.executable`` when the source
  resolved it, else argv[0] when it is a path (joined to ``process.working_directory`` when relative);
  ``shellwatch.command.executable_resolved`` says whether it is an absolute path;
- ``shellwatch.command.invoked_as``: argv[0] when it names another file than the executable (``sh`` for
  ``/usr/bin/dash``, a symlink, a renamed copy), which is worth a look in itself;
- ``shellwatch.command.interpreter``: the family of a shell or script host (``sh``, ``python``, ``perl``,
  ``ruby``, ``php``, ``node``, ``powershell``, ``cmd``, ``wsh``, ``osascript``, ``mshta``), then either
  ``shellwatch.command.inline`` (the code given with ``-c``, ``-e``, ``-Command``, ``/c``) or
  ``shellwatch.command.script`` (the script file it ran, made absolute against the working directory).
"""

from __future__ import annotations

import ntpath
import posixpath
import re
from typing import Final

from shellwatch.events import Alert
from shellwatch.ingest._argv import split_command_line, split_posix

PREFIX: Final = "shellwatch.command"

_FAMILIES: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern, re.IGNORECASE), family)
    for pattern, family in (
        (r"(?:ba|da|z|k|c|tc|fi|mk|a|ya|)sh|busybox", "sh"),
        (r"python(?:\d+(?:\.\d+)*)?w?(?:\.exe)?", "python"),
        (r"perl(?:\d+(?:\.\d+)*)?(?:\.exe)?", "perl"),
        (r"ruby(?:\d+(?:\.\d+)*)?(?:\.exe)?", "ruby"),
        (r"php(?:\d+(?:\.\d+)*)?(?:-cli)?(?:\.exe)?", "php"),
        (r"node(?:js)?(?:\.exe)?", "node"),
        (r"(?:powershell|pwsh)(?:_ise)?(?:\.exe)?", "powershell"),
        (r"cmd(?:\.exe)?", "cmd"),
        (r"[cw]script(?:\.exe)?", "wsh"),
        (r"osascript", "osascript"),
        (r"mshta(?:\.exe)?", "mshta"),
    )
)
# Options that take the code inline, per family; the next argument (or the rest, for cmd) is the code.
_INLINE: Final[dict[str, frozenset[str]]] = {
    "sh": frozenset({"-c"}),
    "python": frozenset({"-c"}),
    "perl": frozenset({"-e", "-E"}),
    "ruby": frozenset({"-e"}),
    "php": frozenset({"-r"}),
    "node": frozenset({"-e", "--eval", "-p", "--print"}),
    "powershell": frozenset({"-c", "-command", "-com", "-comm", "-comma", "-comman"}),
    "cmd": frozenset({"/c", "/k", "/r"}),
    "osascript": frozenset({"-e"}),
}
_POWERSHELL_FILE: Final = frozenset({"-f", "-file", "-fi", "-fil"})
# Options of these interpreters that take a value, so that value is not taken for the script.
_VALUED: Final[dict[str, frozenset[str]]] = {
    "sh": frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"}),
    "python": frozenset({"-m", "-W", "-X", "-Q"}),
    "perl": frozenset({"-I", "-M", "-m"}),
    "ruby": frozenset({"-I", "-r"}),
    "php": frozenset({"-c", "-d", "-z"}),
    "node": frozenset({"-r", "--require", "--import", "--loader"}),
    "powershell": frozenset(
        {
            "-executionpolicy",
            "-ep",
            "-exec",
            "-windowstyle",
            "-w",
            "-win",
            "-version",
            "-v",
            "-configurationname",
        }
        | {
            "-encodedcommand",
            "-enc",
            "-e",
            "-ec",
            "-inputformat",
            "-outputformat",
            "-settingsfile",
            "-workingdirectory",
        }
    ),
    "wsh": frozenset(),
    "osascript": frozenset({"-l"}),
    "mshta": frozenset(),
}


_WINDOWS_FAMILIES: Final = frozenset({"powershell", "cmd", "wsh", "mshta"})
_SLASH_OPTIONS: Final = ("/", "-")
_DASH_OPTIONS: Final = ("-", "+")


def _windows(alert: Alert, text: str) -> bool:
    return alert.get("host.os.type") == "windows" or bool(re.match(r"[a-zA-Z]:\\|\\\\", text))


def family_of(program: str) -> str | None:
    """The interpreter family of an executable path or name, or None when it is no shell or script host."""
    name = ntpath.basename(program) if "\\" in program else posixpath.basename(program)
    for pattern, family in _FAMILIES:
        if pattern.fullmatch(name):
            return family
    return None


def argv_of(alert: Alert) -> list[str]:
    """``process.args``, else the command line split as the host's platform splits it."""
    args = alert.get("process.args")
    if isinstance(args, list) and args:
        return [str(item) for item in args]
    line = alert.get("process.command_line")
    if not isinstance(line, str) or not line.strip():
        return []
    return split_command_line(line) if _windows(alert, line) else split_posix(line)


def _absolute(alert: Alert, path: str) -> str:
    windows = _windows(alert, path)
    module = ntpath if windows else posixpath
    if module.isabs(path):
        return path
    cwd = alert.get("process.working_directory")
    return module.normpath(module.join(cwd, path)) if isinstance(cwd, str) and cwd else path


def _code_or_script(family: str, argv: list[str]) -> tuple[str | None, str | None]:
    """``(inline code, script path)`` of an interpreter's argv (argv[0] excluded)."""
    inline = _INLINE.get(family, frozenset())
    valued = _VALUED.get(family, frozenset())
    index = 0
    while index < len(argv):
        arg = argv[index]
        # Windows programs take their options in any case; Unix ones are case-sensitive (perl -e, -E).
        folded = arg.casefold() if family in _WINDOWS_FAMILIES else arg
        if folded in inline or (family == "sh" and re.fullmatch(r"-[a-z]*c[a-z]*", arg)):
            rest = argv[index + 1 :]
            if family == "cmd":
                return " ".join(rest) or None, None
            return (rest[0] if rest else None), None
        if family == "cmd" and folded.startswith(("/c", "/k", "/r")) and len(arg) > 2:
            return " ".join([arg[2:], *argv[index + 1 :]]), None
        if family == "powershell" and folded in _POWERSHELL_FILE:
            return None, argv[index + 1] if index + 1 < len(argv) else None
        if folded in valued:
            index += 2
            continue
        if arg == "--":
            return None, argv[index + 1] if index + 1 < len(argv) else None
        if not arg.startswith(
            _SLASH_OPTIONS if family in _WINDOWS_FAMILIES - {"powershell"} else _DASH_OPTIONS
        ):
            return None, arg
        index += 1
    return None, None


class CommandEnricher:
    """Writes the argv, the resolved executable and the interpreter's code or script (see the docstring)."""

    name = "command"

    def enrich(self, alert: Alert) -> None:
        argv = argv_of(alert)
        executable = alert.get("process.executable")
        exe = executable if isinstance(executable, str) and executable else None
        if exe is None and argv and ("/" in argv[0] or "\\" in argv[0]):
            exe = _absolute(alert, argv[0])
        if not argv and exe is None:
            return
        if argv:
            alert[f"{PREFIX}.argv"] = argv
        if exe is not None:
            alert[f"{PREFIX}.executable"] = exe
            module = ntpath if _windows(alert, exe) else posixpath
            alert[f"{PREFIX}.executable_resolved"] = module.isabs(exe)
            # a login shell's argv[0] is "-bash": the same program
            if argv and _basename(argv[0].lstrip("-")).casefold() != _basename(exe).casefold():
                alert[f"{PREFIX}.invoked_as"] = argv[0]
        family = family_of(exe or argv[0])
        if family is None:
            return
        alert[f"{PREFIX}.interpreter"] = family
        code, script = _code_or_script(family, argv[1:])
        if code is not None:
            alert[f"{PREFIX}.inline"] = code
        elif script is not None:
            alert[f"{PREFIX}.script"] = script if "://" in script else _absolute(alert, script)


def _basename(path: str) -> str:
    name = ntpath.basename(path) if "\\" in path else posixpath.basename(path)
    return name.removesuffix(".exe").removesuffix(".EXE")
