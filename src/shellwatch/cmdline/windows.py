"""Tokenizers for cmd.exe and PowerShell lines: chains, pipes, redirections and nested blocks."""

from __future__ import annotations

import re

from shellwatch.cmdline._words import MAX_DEPTH, MAX_LENGTH, body_segments, make_segment
from shellwatch.cmdline.model import Segment

# --- cmd.exe --------------------------------------------------------------------------------------------

_CMD_OPERATORS = ("&&", "||", "&", "|", "\r\n", "\n")
_CMD_REDIRECT = re.compile(r"[0-9]?(?:>>|>|<)(?:&[0-9])?")
_CMD_PREFIX = re.compile(
    r'^\s*@?"?(?:[^"\s&|<>]*\\)?cmd(?:\.exe)?"?(?P<opts>(?:\s+/[a-bd-jl-qs-z](?::\S*)?)*)\s*/[ckr]\b\s*(?P<body>.*)$',
    re.IGNORECASE | re.DOTALL,
)


def split_cmd(line: str, depth: int = 0) -> list[Segment]:
    """Segments of a cmd.exe line; ``cmd /c "..."`` bodies at ``depth + 1``; never raises."""
    try:
        return _split_cmd(line[:MAX_LENGTH], depth)
    except Exception:  # noqa: BLE001 - the last resort keeps the promise never to raise
        return [make_segment(line, line.split(), [], "", depth, "cmd")]


def _split_cmd(line: str, depth: int) -> list[Segment]:
    if not line.strip():
        return []
    prefix = _CMD_PREFIX.match(line)
    if prefix and depth < MAX_DEPTH:
        # A process command line ``cmd /c a & b``: everything after /c belongs to the inner cmd.
        argv, redirections = _cmd_words(line[: prefix.start("body")])
        body = _strip_outer_quotes(prefix.group("body"))
        argv.append(body)
        seg = make_segment(line, argv, redirections, "", depth, "cmd")
        return [seg, *split_cmd(body, depth + 1)]
    out: list[Segment] = []
    for text, operator in _cmd_chain(line):
        stripped = text.strip().strip("()").strip() if _balanced_parens(text) else text.strip(" \t\r\n()")
        if not stripped:
            continue
        argv, redirections = _cmd_words(stripped)
        out.append(make_segment(stripped, argv, redirections, operator, depth, "cmd"))
        out.extend(body_segments(tuple(argv), "cmd", depth))
    return out


def _balanced_parens(text: str) -> bool:
    s = text.strip()
    return s.startswith("(") and s.endswith(")") and s.count("(") == s.count(")")


def _strip_outer_quotes(body: str) -> str:
    """cmd's rule for ``/c "..."``: drop the first quote and the last one."""
    body = body.strip()
    if body.startswith('"') and body.count('"') >= 2:
        last = body.rfind('"')
        return body[1:last] + body[last + 1 :]
    return body


def _cmd_chain(line: str) -> list[tuple[str, str]]:
    parts: list[tuple[str, str]] = []
    start = 0
    i = 0
    quoted = False
    while i < len(line):
        c = line[i]
        if c == '"':
            quoted = not quoted
        elif not quoted:
            if c == "^":
                i += 2
                continue
            operator = next((op for op in _CMD_OPERATORS if line.startswith(op, i)), "")
            if operator and not (operator == "&" and i and line[i - 1] in "<>"):
                parts.append((line[start:i], "\n" if operator == "\r\n" else operator))
                i += len(operator)
                start = i
                continue
        i += 1
    parts.append((line[start:], ""))
    return parts


def _cmd_words(text: str) -> tuple[list[str], list[str]]:
    """Words (quotes and carets removed) and redirections of one cmd command."""
    words: list[str] = []
    redirections: list[str] = []
    current: list[str] = []
    has_word = False
    i = 0
    quoted = False
    n = len(text)

    def flush() -> None:
        nonlocal has_word
        if has_word:
            words.append("".join(current))
        current.clear()
        has_word = False

    while i < n:
        c = text[i]
        if c == '"':
            quoted = not quoted
            has_word = True
            i += 1
            continue
        if not quoted:
            if c == "^" and i + 1 < n:
                current.append(text[i + 1])
                has_word = True
                i += 2
                continue
            if c in " \t\r\n":
                flush()
                i += 1
                continue
            match = _CMD_REDIRECT.match(text, i)
            if match and (c in "<>" or not current):
                flush()
                start = i
                i = match.end()
                if not match.group().endswith(tuple("0123456789")):
                    while i < n and text[i] in " \t":
                        i += 1
                    target_quoted = False
                    while i < n and (target_quoted or text[i] not in " \t\r\n<>"):
                        if text[i] == '"':
                            target_quoted = not target_quoted
                        i += 1
                redirections.append(text[start:i].replace('"', ""))
                continue
        current.append(c)
        has_word = True
        i += 1
    flush()
    return [w for w in words if w not in {"(", ")"}], redirections


# --- PowerShell -----------------------------------------------------------------------------------------

_PS_OPERATORS = ("&&", "||", ";", "|", "\r\n", "\n")
_PS_REDIRECT = re.compile(r"(?:[1-6*])?(?:>>|>&[12]|>)")
_CLOSE = {"(": ")", "{": "}", "[": "]"}


def split_powershell(line: str, depth: int = 0) -> list[Segment]:
    """Segments of a PowerShell line; ``{...}`` and ``$(...)`` at ``depth + 1``; never raises."""
    try:
        return _split_ps(line[:MAX_LENGTH], depth)
    except Exception:  # noqa: BLE001 - the last resort keeps the promise never to raise
        return [make_segment(line, line.split(), [], "", depth, "powershell")]


def _split_ps(line: str, depth: int) -> list[Segment]:
    out: list[Segment] = []
    for text, operator in _ps_chain(line):
        stripped = text.strip()
        if not stripped:
            if operator and out and not out[-1].operator:
                last = out[-1]
                out[-1] = make_segment(
                    last.text, list(last.argv), list(last.redirections), operator, last.depth, "powershell"
                )
            continue
        argv, redirections = _ps_words(stripped)
        out.append(make_segment(stripped, argv, redirections, operator, depth, "powershell"))
        if depth < MAX_DEPTH:
            for body in _ps_nested(stripped):
                out.extend(split_powershell(body, depth + 1))
            out.extend(body_segments(tuple(argv), "powershell", depth))
    return out


def _ps_skip_quote(text: str, i: int) -> int:
    """Index after the string that opens at ``i`` (single, double or here-string)."""
    if text.startswith(("@'", '@"'), i):
        close = "\n" + text[i + 1] + "@"
        end = text.find(close, i + 2)
        return len(text) if end < 0 else end + len(close)
    quote = text[i]
    j = i + 1
    while j < len(text):
        c = text[j]
        if quote == '"' and c == "`":
            j += 2
            continue
        if quote == '"' and text.startswith("$(", j):
            j = _ps_match(text, j + 1)
            continue
        if c == quote:
            if text.startswith(quote, j + 1):
                j += 2
                continue
            return j + 1
        j += 1
    return len(text)


def _ps_match(text: str, i: int) -> int:
    """Index after the bracket that closes the one at ``i``."""
    stack = [_CLOSE[text[i]]]
    j = i + 1
    while j < len(text) and stack:
        c = text[j]
        if c == "`":
            j += 2
            continue
        if c in "'\"" or text.startswith(("@'", '@"'), j):
            j = _ps_skip_quote(text, j)
            continue
        if text.startswith("<#", j):
            end = text.find("#>", j + 2)
            j = len(text) if end < 0 else end + 2
            continue
        if c in _CLOSE:
            stack.append(_CLOSE[c])
        elif c == stack[-1]:
            stack.pop()
        j += 1
    return j


def _ps_comment(text: str, i: int) -> int:
    """Index after the comment at ``i``, or ``i`` when there is none."""
    if text.startswith("<#", i):
        end = text.find("#>", i + 2)
        return len(text) if end < 0 else end + 2
    if text[i] == "#" and (i == 0 or text[i - 1] in " \t\r\n;|"):
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    return i


def _ps_chain(text: str) -> list[tuple[str, str]]:
    parts: list[tuple[str, str]] = []
    start = 0
    i = 0
    while i < len(text):
        c = text[i]
        if c == "`":
            i += 2
            continue
        if c in "'\"" or text.startswith(("@'", '@"'), i):
            i = _ps_skip_quote(text, i)
            continue
        skipped = _ps_comment(text, i)
        if skipped != i:
            parts.append((text[start:i], ""))
            i = start = skipped
            continue
        if c in _CLOSE:
            i = _ps_match(text, i)
            continue
        operator = next((op for op in _PS_OPERATORS if text.startswith(op, i)), "")
        if operator:
            parts.append((text[start:i], "\n" if operator == "\r\n" else operator))
            i += len(operator)
            start = i
            continue
        i += 1
    parts.append((text[start:], ""))
    return parts


def _ps_nested(text: str) -> list[str]:
    """Bodies of the ``{...}``, ``$(...)`` and ``@(...)`` blocks directly inside one segment."""
    bodies: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "`":
            i += 2
            continue
        if c == "'" or text.startswith(("@'",), i):
            i = _ps_skip_quote(text, i)
            continue
        if c == '"':
            # Only subexpressions run inside a double-quoted string.
            end = _ps_skip_quote(text, i)
            inner = text[i + 1 : end - 1]
            j = 0
            while j < len(inner):
                if inner[j] == "`":
                    j += 2
                    continue
                if inner.startswith("$(", j):
                    close = _ps_match(inner, j + 1)
                    bodies.append(inner[j + 2 : close - 1])
                    j = close
                    continue
                j += 1
            i = end
            continue
        if c in _CLOSE:
            end = _ps_match(text, i)
            prev = text[i - 1] if i else ""
            nested = (c == "{" and prev not in "$@") or (c == "(" and prev in "$@")
            if nested:
                bodies.append(text[i + 1 : end - 1])
            else:
                bodies.extend(_ps_nested(text[i + 1 : end - 1]))
            i = end
            continue
        i += 1
    return bodies


def _ps_words(text: str) -> tuple[list[str], list[str]]:
    """Words (quotes removed, groups kept as written) and redirections of one PowerShell command."""
    words: list[str] = []
    redirections: list[str] = []
    i = 0
    n = len(text)
    pending: int | None = None
    while i < n:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            break
        start = i
        match = _PS_REDIRECT.match(text, i)
        if match and pending is None:
            i = match.end()
            if match.group()[-1].isdigit():
                redirections.append(text[start:i])
                continue
            if i < n and text[i] not in " \t\r\n":
                _, i = _ps_word(text, i)
                redirections.append(text[start:i])
                continue
            pending = start
            continue
        word, i = _ps_word(text, i)
        if pending is not None:
            redirections.append(text[pending:i])
            pending = None
        else:
            words.append(word)
    if pending is not None:
        redirections.append(text[pending:].strip())
    return [w for w in words if w], redirections


def _ps_word(text: str, i: int) -> tuple[str, int]:
    out: list[str] = []
    n = len(text)
    start = i
    while i < n and text[i] not in " \t\r\n":
        c = text[i]
        if c == ">" and i > start:
            break
        if c == "`":
            out.append(text[i + 1 : i + 2])
            i += 2
        elif c in "'\"":
            end = _ps_skip_quote(text, i)
            out.append(text[i + 1 : end - 1])
            i = end
        elif c in _CLOSE:
            end = _ps_match(text, i)
            out.append(text[i:end])
            i = end
        else:
            out.append(c)
            i += 1
    return "".join(out), max(i, start + 1)
