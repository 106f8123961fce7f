"""Command lines split into argv: Windows (``CommandLineToArgvW`` rules) and POSIX shell-like.

The program name ends at the first white space, or at the closing quote when it starts with one, and takes
no escapes. In the arguments, ``2n`` backslashes before a quote give ``n`` backslashes and toggle quoting,
``2n+1`` give ``n`` backslashes and a literal quote, other backslashes are literal, and ``""`` inside
quotes is a literal quote.
"""

from __future__ import annotations

import re
import shlex

_BLANKS = " \t"
_PROGRAM = re.compile(r"[^ \t]*")
_WORD = re.compile(r'(?:[^ \t"]+|"[^"]*"?)+')


def split_command_line(command_line: str) -> list[str]:
    """argv of a Windows command line."""
    text = command_line.lstrip(_BLANKS)
    if not text:
        return []
    if text[0] == '"':
        end = text.find('"', 1)
        end = len(text) if end < 0 else end
        program, rest = text[1:end], text[end + 1 :]
    else:
        program = _PROGRAM.match(text).group()  # type: ignore[union-attr]
        rest = text[len(program) :]
    if '"' not in rest:
        return [program, *rest.split()]
    if '\\"' not in rest and '""' not in rest:
        # No escaped or doubled quotes: a word is a run of unquoted text and quoted spans, quotes dropped.
        return [program, *(word.replace('"', "") for word in _WORD.findall(rest))]
    return [program, *_split_arguments(rest)]


def _split_arguments(text: str) -> list[str]:
    args: list[str] = []
    current: list[str] = []
    in_word = quoted = False
    index, size = 0, len(text)
    while index < size:
        char = text[index]
        if char == "\\":
            run = index
            while index < size and text[index] == "\\":
                index += 1
            count = index - run
            if index < size and text[index] == '"':
                current.append("\\" * (count // 2))
                if count % 2:
                    current.append('"')
                    index += 1
                in_word = True
            else:
                current.append("\\" * count)
                in_word = True
            continue
        if char == '"':
            if quoted and index + 1 < size and text[index + 1] == '"':
                current.append('"')
                index += 2
                continue
            quoted = not quoted
            in_word = True
        elif char in _BLANKS and not quoted:
            if in_word:
                args.append("".join(current))
                current, in_word = [], False
        else:
            current.append(char)
            in_word = True
        index += 1
    if in_word:
        args.append("".join(current))
    return args


def split_posix(command_line: str) -> list[str]:
    """argv of a POSIX shell-like command line; plain white-space split when its quoting is unbalanced."""
    try:
        return shlex.split(command_line)
    except ValueError:
        return command_line.split()
