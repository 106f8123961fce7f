"""Helpers shared by the tokenizers: command names, wrappers and the shells that run a body."""

from __future__ import annotations

import base64
import binascii
import ntpath
import posixpath

from shellwatch.cmdline.model import Segment

MAX_DEPTH = 8
MAX_LENGTH = 65_536

# Commands that run the command named in their arguments.
WRAPPERS = frozenset(
    {
        "sudo",
        "doas",
        "env",
        "nohup",
        "exec",
        "command",
        "builtin",
        "time",
        "nice",
        "setsid",
        "timeout",
        "stdbuf",
        "busybox",
        "xargs",
        "chroot",
        "runuser",
    }
)
RESERVED = frozenset(
    {
        "if",
        "then",
        "else",
        "elif",
        "fi",
        "do",
        "done",
        "while",
        "until",
        "for",
        "case",
        "esac",
        "!",
        "{",
        "}",
        "(",
        ")",
        "function",
        "select",
        "in",
    }
)
POSIX_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "busybox", "rbash", "fish"})
WINDOWS_SHELLS = frozenset({"cmd"})
POWERSHELLS = frozenset({"powershell", "pwsh"})


def is_assignment(word: str) -> bool:
    """True for ``NAME=value`` words."""
    name, sep, _ = word.partition("=")
    return bool(sep) and name.replace("_", "a").isalnum() and not name[:1].isdigit()


def basename(word: str, shell: str) -> str:
    """The name of a command word: its basename, for Windows lowercased and without ``.exe``."""
    if shell == "bash":
        return posixpath.basename(word) or word
    name = ntpath.basename(word.strip("\"'")) or word
    name = name.lower()
    return name[:-4] if name.endswith((".exe", ".com")) else name


def command_of(argv: tuple[str, ...], shell: str) -> str:
    """The first word that is neither an assignment nor a reserved word."""
    for word in argv:
        if shell == "bash" and (is_assignment(word) or word in RESERVED):
            continue
        return basename(word, shell)
    return ""


def effective(argv: tuple[str, ...], shell: str) -> tuple[str, ...]:
    """``argv`` from the command that really runs: past assignments, ``sudo``, ``env`` and such."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if shell == "bash" and (is_assignment(word) or word in RESERVED):
            i += 1
            continue
        name = basename(word, shell)
        if name in WRAPPERS and i + 1 < len(argv):
            i += 1
            while i < len(argv) and (argv[i].startswith("-") or is_assignment(argv[i])):
                if name in {"sudo", "doas", "runuser"} and argv[i] in {"-u", "-g", "-U", "-C", "-h"}:
                    i += 1
                i += 1
            if name == "timeout" and i < len(argv):
                i += 1
            continue
        return argv[i:]
    return ()


def make_segment(
    text: str, argv: list[str], redirections: list[str], operator: str, depth: int, shell: str
) -> Segment:
    words = tuple(argv)
    return Segment(
        text=text.strip(),
        command=command_of(words, shell),
        argv=words,
        redirections=tuple(redirections),
        operator=operator,
        depth=depth,
        shell=shell,
    )


def shell_body(argv: tuple[str, ...], shell: str) -> tuple[str, str] | None:
    """The body a shell runs from its arguments: (``bash``/``cmd``/``powershell``, body) or None."""
    args = effective(argv, shell)
    if not args:
        return None
    name = basename(args[0], "cmd")
    rest = args[1:]
    if name in POSIX_SHELLS or name == "eval":
        if name == "eval":
            return ("bash", " ".join(rest)) if rest else None
        for i, word in enumerate(rest):
            if word.startswith("-") and not word.startswith("--") and "c" in word[1:] and i + 1 < len(rest):
                return "bash", rest[i + 1]
        return None
    if name in WINDOWS_SHELLS:
        for i, word in enumerate(rest):
            if word.lower() in {"/c", "/k", "/r"}:
                return ("cmd", " ".join(rest[i + 1 :])) if i + 1 < len(rest) else None
        return None
    if name in POWERSHELLS:
        return powershell_body(rest)
    return None


def powershell_body(rest: tuple[str, ...]) -> tuple[str, str] | None:
    """The script of ``powershell -Command ...`` or ``-EncodedCommand ...``."""
    for i, word in enumerate(rest):
        low = word.lower().lstrip("-/")
        if not word.startswith(("-", "/")) or not low:
            continue
        encoded = low == "ec" or ("encodedcommand".startswith(low) and not low.startswith("ex"))
        if encoded and i + 1 < len(rest):
            try:
                raw = base64.b64decode(rest[i + 1] + "===", validate=False)
                return "powershell", raw.decode("utf-16-le", errors="replace")
            except (binascii.Error, ValueError):
                return None
        if low.startswith("c") and "command".startswith(low) and i + 1 < len(rest):
            return "powershell", " ".join(rest[i + 1 :])
    if rest and not rest[0].startswith(("-", "/")) and not rest[0].lower().endswith(".ps1"):
        return "powershell", " ".join(rest)
    return None


def body_segments(argv: tuple[str, ...], shell: str, depth: int) -> list[Segment]:
    """Segments of the body run by ``bash -c``, ``eval``, ``cmd /c`` or ``powershell -Command``."""
    if depth >= MAX_DEPTH:
        return []
    found = shell_body(argv, shell)
    if found is None or not found[1].strip():
        return []
    return split(found[1], found[0], depth + 1)


def split(text: str, shell: str, depth: int = 0) -> list[Segment]:
    """Split ``text`` as ``shell`` would; never raises."""
    from shellwatch.cmdline import bash, windows

    if depth > MAX_DEPTH:
        return []
    text = text[:MAX_LENGTH]
    if shell == "cmd":
        return windows.split_cmd(text, depth)
    if shell == "powershell":
        return windows.split_powershell(text, depth)
    return bash.split_bash(text, depth)
