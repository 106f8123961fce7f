"""Helpers shared by the tokenizers: command names, wrappers, redirections and the shells that run a body."""

from __future__ import annotations

import base64
import binascii
import functools
import ntpath
import posixpath
import re
from dataclasses import dataclass, replace

from shellwatch.cmdline.model import PIPES, Redirection, Segment

MAX_DEPTH = 8
MAX_LENGTH = 65_536
MAX_SEGMENTS = 2_048

# Commands that run the command named in their arguments, with the options of theirs that take a value.
_WRAPPER_OPTIONS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-U", "-C", "-h", "-p", "-r", "-t", "-D", "-R", "-T"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C", "-S", "--unset", "--chdir", "--split-string"}),
    "nohup": frozenset(),
    "exec": frozenset({"-a"}),
    "command": frozenset(),
    "builtin": frozenset(),
    "time": frozenset({"-f", "-o"}),
    "nice": frozenset({"-n"}),
    "ionice": frozenset({"-c", "-n", "-p"}),
    "setsid": frozenset(),
    "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "busybox": frozenset(),
    "xargs": frozenset({"-I", "-n", "-P", "-L", "-d", "-s", "-a", "-E"}),
    "chroot": frozenset({"--userspec", "--groups"}),
    "runuser": frozenset({"-u", "-g", "-G"}),
    "strace": frozenset({"-o", "-e", "-p", "-s"}),
    "watch": frozenset({"-n", "-d"}),
    "call": frozenset(),
}
# Wrappers whose first positional argument is theirs (a duration, a new root), not the command.
_WRAPPER_POSITIONALS = {"timeout": 1, "chroot": 1}
WRAPPERS = frozenset(_WRAPPER_OPTIONS)

RESERVED = frozenset(
    {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "case", "esac", "!"}
    | {"{", "}", "(", ")", "function", "select", "in"}
)
POSIX_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "busybox", "rbash", "fish"})
POWERSHELLS = frozenset({"powershell", "pwsh", "powershell_ise"})

_PS_ASSIGNMENT_OPS = frozenset({"=", "+=", "-=", "*=", "/=", "%=", "??="})
_PS_VARIABLE = re.compile(r"\$(?:\{[^}]*\}|[\w:?^$]+)(?:[.\[][^\s=]*)?")
_PS_NAME_THEN_GROUP = re.compile(r"([?%]|[A-Za-z_][\w.\\:-]*?)([({].*)", re.DOTALL)
_DYNAMIC = re.compile(r"^(?:\$|`|<\(|%[^%\s]+%$)")
_REDIRECTION = re.compile(
    r"(?P<fd>\d+|\{\w+\}|\*)?(?P<op>&>>|&>|>>|>&|>\||<<<|<<-|<<|<>|<&|>|<)\s*(?P<target>.*)", re.DOTALL
)
_FD_TARGET = re.compile(r"(\d+)-?|-")
_EXECUTABLE_SUFFIXES = (".exe", ".com")


def is_assignment(word: str) -> bool:
    """True for ``NAME=value`` and ``NAME+=value`` words."""
    name, sep, _ = word.partition("=")
    name = name.removesuffix("+")
    return bool(sep) and bool(name) and name.replace("_", "a").isalnum() and not name[:1].isdigit()


def basename(word: str, shell: str) -> str:
    """The basename of a path: POSIX for bash; for Windows lowercased and without ``.exe``."""
    if shell == "bash":
        return posixpath.basename(word) or word
    name = (ntpath.basename(word.strip("\"'")) or word).lower()
    return name[:-4] if name.endswith(_EXECUTABLE_SUFFIXES) else name


@functools.lru_cache(maxsize=8192)
def command_name(word: str, shell: str) -> str:
    """The command a program word names: its basename, or the word itself when it is computed."""
    if shell == "powershell":
        if not word or word[0] in "$([@{'\"-!" or word[0].isdigit():
            return ""
        head = _PS_NAME_THEN_GROUP.fullmatch(word)
        return basename(head.group(1) if head else word, shell)
    if shell == "cmd":
        word = word.lstrip("@")
    if _DYNAMIC.match(word):
        return word.lower() if shell == "cmd" else word
    return basename(word, shell)


def name_at(argv: tuple[str, ...], index: int, shell: str) -> str:
    """:func:`command_name` of ``argv[index]``; after PowerShell's ``&`` or ``.`` any path is a command."""
    if index >= len(argv):
        return ""
    word = argv[index]
    called = shell == "powershell" and index > 0 and argv[index - 1] in {"&", "."}
    if called and word[:1] not in {"(", "{", "@"} and not word.startswith("$("):
        return basename(word, shell)
    return command_name(word, shell)


def command_start(argv: tuple[str, ...], shell: str) -> int:
    """Index of the program word: past assignments and reserved words (bash), ``$x =``, ``&`` and ``.``."""
    i = 0
    while i < len(argv):
        if shell == "powershell" and i + 1 < len(argv) and argv[i + 1] in _PS_ASSIGNMENT_OPS:
            i += 2
        elif _is_prefix(argv[i], shell):
            i += 1
        else:
            return i
    return len(argv)


def _is_prefix(word: str, shell: str) -> bool:
    """True for the words before a program: assignments, reserved words, call operators, ``@``."""
    if shell == "bash":
        return is_assignment(word) or word in RESERVED
    if shell == "powershell":
        return word in {"&", "."}
    return word == "@"


@functools.lru_cache(maxsize=8192)
def effective_start(argv: tuple[str, ...], shell: str) -> int:
    """Index of the program that really runs: past ``sudo``, ``env``, ``nohup`` and their options."""
    i = command_start(argv, shell)
    while i < len(argv):
        name = name_at(argv, i, shell)
        if name not in WRAPPERS or i + 1 >= len(argv):
            return i
        options = _WRAPPER_OPTIONS[name]
        i += 1
        while i < len(argv) and (argv[i].startswith("-") or is_assignment(argv[i])):
            if argv[i] == "--":
                i += 1
                break
            i += 2 if argv[i] in options else 1
        i += _WRAPPER_POSITIONALS.get(name, 0)
        if shell == "bash":
            while i < len(argv) and is_assignment(argv[i]):
                i += 1
    return len(argv)


def effective(argv: tuple[str, ...], shell: str) -> tuple[str, ...]:
    """``argv`` from the program that really runs (see :func:`effective_start`)."""
    return argv[effective_start(argv, shell) :]


def split_ps_assignment(words: list[str]) -> list[str]:
    """``$x=Get-Item a`` as ``$x``, ``=``, ``Get-Item``, ``a``: an assignment glued to its value."""
    if not words or not words[0].startswith("$"):
        return words
    head = _PS_VARIABLE.match(words[0])
    if head is None or head.end() == len(words[0]):
        return words
    rest = words[0][head.end() :]
    operator = next((op for op in ("??=", "+=", "-=", "*=", "/=", "%=", "=") if rest.startswith(op)), "")
    if not operator or rest.startswith("=="):
        return words
    value = rest[len(operator) :]
    return [head.group(), operator, *([value] if value else []), *words[1:]]


def split_ps_call(words: list[str]) -> list[str]:
    """``IEX($x)`` and ``ForEach{...}`` as a command name and its first argument."""
    start = command_start(tuple(words), "powershell")
    if start >= len(words):
        return words
    match = _PS_NAME_THEN_GROUP.fullmatch(words[start])
    if match is None or "::" in match.group(1):
        return words
    return [*words[:start], match.group(1), match.group(2), *words[start + 1 :]]


def redirection(text: str, target: str | None = None, body: str = "") -> Redirection:
    """A redirection from its text (``2>&1``, ``>> /tmp/x``, ``<<EOF``); ``target`` is the unquoted word."""
    text = text.strip()
    match = _REDIRECTION.fullmatch(text)
    if match is None:
        return Redirection(text, "", None, target_path=target or text)
    operator, written_fd = match["op"], match["fd"]
    raw_target = match["target"].strip()
    word = raw_target if target is None else target
    if operator.startswith("<<"):
        here_fd = int(written_fd) if written_fd and written_fd.isdigit() else 0
        return Redirection(
            text, operator, here_fd, body=body or (_unquote(word) if operator == "<<<" else "")
        )
    duplicate = _FD_TARGET.fullmatch(raw_target) if operator.endswith("&") else None
    fd: int | None
    if written_fd:
        fd = int(written_fd) if written_fd.isdigit() else None
    elif operator.startswith("&") or (operator == ">&" and duplicate is None):
        fd = None
    else:
        fd = 0 if operator.startswith("<") else 1
    if duplicate is not None:
        target_fd = int(duplicate.group(1)) if duplicate.group(1) else None
        return Redirection(text, operator, fd, target_fd=target_fd)
    return Redirection(text, operator, fd, target_path=_unquote(word))


def _unquote(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "'\"":
        return word[1:-1]
    return word


def make_segment(
    text: str,
    argv: list[str],
    redirections: list[Redirection],
    operator: str,
    depth: int,
    shell: str,
) -> Segment:
    words = tuple(argv)
    start = command_start(words, shell)
    path = words[start] if start < len(words) else ""
    return Segment(
        text=text.strip(),
        command=name_at(words, start, shell),
        argv=words,
        redirections=tuple(redirections),
        operator=operator,
        depth=depth,
        shell=shell,
        command_path=path.lstrip("@") if shell == "cmd" else path,
    )


def with_operator(segment: Segment, operator: str) -> Segment:
    return replace(segment, operator=operator)


def number_pipelines(segments: list[Segment]) -> list[Segment]:
    """Set each segment's ``position`` in its pipeline, and clear a trailing newline operator."""
    out: list[Segment] = []
    last_at_depth: dict[int, int] = {}
    for segment in segments:
        for deeper in [d for d in last_at_depth if d > segment.depth]:
            del last_at_depth[deeper]
        previous = last_at_depth.get(segment.depth)
        position = 0
        if previous is not None and out[previous].operator in PIPES:
            position = out[previous].position + 1
        last_at_depth[segment.depth] = len(out)
        out.append(segment if segment.position == position else replace(segment, position=position))
    for index in last_at_depth.values():
        if out[index].operator in {"\n", "\r\n"}:
            out[index] = replace(out[index], operator="")
    return out


@dataclass(frozen=True, slots=True)
class Body:
    """Code a shell runs from its arguments: its shell, its text, and where it starts in ``argv``."""

    shell: str
    text: str
    start: int


@functools.lru_cache(maxsize=8192)
def shell_body(argv: tuple[str, ...], shell: str) -> Body | None:
    """The body run by ``bash -c``, ``eval``, ``su -c``, ``cmd /c`` or ``powershell -Command``."""
    offset = effective_start(argv, shell)
    args = argv[offset:]
    if not args:
        return None
    name = basename(args[0], "cmd")
    rest = args[1:]
    found: tuple[str, str, int] | None = None
    if name == "eval":
        found = ("bash", " ".join(rest), 0) if rest else None
    elif name in POSIX_SHELLS or name == "su":
        found = _posix_body(rest)
    elif name == "cmd":
        found = _cmd_body(rest)
    elif name in POWERSHELLS:
        found = powershell_body(rest)
    if found is None or not found[1].strip():
        return None
    return Body(found[0], found[1], offset + 1 + found[2])


def _posix_body(rest: tuple[str, ...]) -> tuple[str, str, int] | None:
    for i, word in enumerate(rest):
        if word == "--command" or (word.startswith("-") and not word.startswith("--") and "c" in word[1:]):
            return ("bash", rest[i + 1], i + 1) if i + 1 < len(rest) else None
    return None


def _cmd_body(rest: tuple[str, ...]) -> tuple[str, str, int] | None:
    for i, word in enumerate(rest):
        low = word.lower()
        if low in {"/c", "/k", "/r"}:
            return ("cmd", " ".join(rest[i + 1 :]), i + 1) if i + 1 < len(rest) else None
        if low[:2] in {"/c", "/k", "/r"} and not low[2:3].isalpha():
            return "cmd", " ".join((word[2:], *rest[i + 1 :])), i
    return None


# powershell.exe / pwsh parameters: any unambiguous prefix works; ties go to the first listed.
_PS_PARAMETERS = (
    "command",
    "encodedcommand",
    "file",
    "executionpolicy",
    "noprofile",
    "noninteractive",
    "nologo",
    "noexit",
    "windowstyle",
    "version",
    "inputformat",
    "outputformat",
    "configurationname",
    "custompipename",
    "psconsolefile",
    "workingdirectory",
    "settingsfile",
    "encodedarguments",
    "sta",
    "mta",
    "login",
    "interactive",
)
_PS_ALIASES = {
    "ec": "encodedcommand",
    "ep": "executionpolicy",
    "ea": "encodedarguments",
    "wd": "workingdirectory",
}
_PS_VALUED = frozenset(
    {
        "executionpolicy",
        "windowstyle",
        "version",
        "inputformat",
        "outputformat",
        "configurationname",
        "custompipename",
        "psconsolefile",
        "workingdirectory",
        "settingsfile",
        "encodedarguments",
    }
)


def _ps_parameter(word: str) -> str:
    """The powershell.exe parameter a ``-word`` names, or "" when it names none."""
    if not word.startswith(("-", "/")) or len(word) < 2:
        return ""
    name = word[1:].lower().split(":", 1)[0]
    if name in _PS_ALIASES:
        return _PS_ALIASES[name]
    return next((p for p in _PS_PARAMETERS if p.startswith(name)), "")


def powershell_body(rest: tuple[str, ...]) -> tuple[str, str, int] | None:
    """The script of ``powershell [options] -Command ...``, ``-EncodedCommand ...`` or ``[options] code``."""
    i = 0
    while i < len(rest):
        word = rest[i]
        parameter = _ps_parameter(word)
        if parameter == "encodedcommand":
            return _decode_ps(rest[i + 1], i + 1) if i + 1 < len(rest) else None
        if parameter == "command":
            body = rest[i + 1 :]
            return ("powershell", " ".join(body), i + 1) if body and body != ("-",) else None
        if parameter == "file":
            return None
        if parameter:
            i += 2 if parameter in _PS_VALUED and ":" not in word else 1
            continue
        if word.startswith("-"):
            i += 1
            continue
        return "powershell", " ".join(rest[i:]), i
    return None


def _decode_ps(text: str, index: int) -> tuple[str, str, int] | None:
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=False)
    except (binascii.Error, ValueError):
        return None
    return "powershell", raw.decode("utf-16-le", errors="replace"), index


def body_segments(argv: tuple[str, ...], shell: str, depth: int) -> list[Segment]:
    """Segments of the body run by ``bash -c``, ``eval``, ``cmd /c`` or ``powershell -Command``."""
    if depth >= MAX_DEPTH:
        return []
    found = shell_body(argv, shell)
    if found is None:
        return []
    return split(found.text, found.shell, depth + 1)


def split(text: str, shell: str, depth: int = 0) -> list[Segment]:
    """Split ``text`` as ``shell`` would; never raises."""
    from shellwatch.cmdline import bash, windows  # they import this module

    if depth > MAX_DEPTH:
        return []
    text = text[:MAX_LENGTH]
    if shell == "cmd":
        return windows.split_cmd(text, depth)[:MAX_SEGMENTS]
    if shell == "powershell":
        return windows.split_powershell(text, depth)[:MAX_SEGMENTS]
    return bash.split_bash(text, depth)[:MAX_SEGMENTS]
