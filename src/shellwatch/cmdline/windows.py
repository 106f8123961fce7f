"""Tokenizers for cmd.exe and PowerShell lines: chains, pipes, redirections and nested blocks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from shellwatch.cmdline._words import (
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_SEGMENTS,
    body_segments,
    command_start,
    make_segment,
    number_pipelines,
    redirection,
    split_ps_assignment,
    split_ps_call,
    with_operator,
)
from shellwatch.cmdline.model import Redirection, Segment

_OPERATOR_STARTS = frozenset("&|;\r\n")


def _operator_at(text: str, i: int, operators: tuple[str, ...]) -> str:
    if text[i] not in _OPERATOR_STARTS:
        return ""
    return next((op for op in operators if text.startswith(op, i)), "")


# --- cmd.exe --------------------------------------------------------------------------------------------

_CMD_OPERATORS = ("&&", "||", "&", "|", "\r\n", "\n")
_CMD_REDIRECT = re.compile(r"[0-9]?(?:>>|>|<)(?:&[0-9])?")
_CMD_PREFIX = re.compile(
    r'^\s*@?"?(?:[^"\s&|<>]*\\)?cmd(?:\.exe)?"?(?P<opts>(?:\s+/[a-bd-jl-qs-z](?::\S*)?)*)\s*/[ckr]\b\s*(?P<body>.*)$',
    re.IGNORECASE | re.DOTALL,
)
_BLOCK_KEYWORD_BEFORE = re.compile(r"(?:^|[\s)])(?:do|else)\s*$", re.IGNORECASE)
_IF_COMMAND = re.compile(r"[\s@(]*if\s", re.IGNORECASE)


def split_cmd(line: str, depth: int = 0) -> list[Segment]:
    """Segments of a cmd.exe line; ``cmd /c "..."`` bodies at ``depth + 1``; never raises."""
    try:
        return number_pipelines(_split_cmd(line[:MAX_LENGTH], depth))
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
        return [seg, *_split_cmd(body, depth + 1)]
    return _chain_segments(_cmd_chain(line), _cmd_words, "cmd", depth)


def _strip_outer_quotes(body: str) -> str:
    """cmd's rule for ``/c "..."``: drop the first quote and the last one."""
    body = body.strip()
    if body.startswith('"') and body.count('"') >= 2:
        last = body.rfind('"')
        return body[1:last] + body[last + 1 :]
    return body


def _cmd_chain(line: str) -> list[tuple[str, str]]:
    """Split on unquoted operators; the parentheses of ``( ... )`` blocks become blanks."""
    chars = list(line)
    parts: list[tuple[str, str]] = []
    start = 0
    i = 0
    quoted = False
    groups = 0
    blank = True  # nothing but blanks, ``@`` and block parentheses since ``start``
    while i < len(chars):
        c = chars[i]
        if c == '"':
            quoted = not quoted
        elif not quoted:
            if c == "^":
                i += 2
                blank = False
                continue
            if c == "(" and (blank or _opens_block(line, start, i)):
                groups += 1
                chars[i] = " "
            elif c == ")" and groups:
                groups -= 1
                chars[i] = " "
            operator = _operator_at(line, i, _CMD_OPERATORS)
            if operator and not (operator == "&" and i and line[i - 1] in "<>"):
                parts.append(("".join(chars[start:i]), "\n" if operator == "\r\n" else operator))
                i += len(operator)
                start = i
                blank = True
                continue
        blank = blank and chars[i] in " \t@"
        i += 1
    parts.append(("".join(chars[start:]), ""))
    return parts


def _opens_block(line: str, start: int, i: int) -> bool:
    """True when the ``(`` at ``i`` follows ``do`` or ``else``, or a blank in an ``if`` command."""
    if _BLOCK_KEYWORD_BEFORE.search(line, max(start, i - 16), i):
        return True
    return _IF_COMMAND.match(line, start) is not None and line[i - 1] in " \t"


def _cmd_target(text: str, i: int) -> tuple[str, int]:
    """The file a redirection names from ``i`` (quotes and carets removed) and the index after it."""
    n = len(text)
    while i < n and text[i] in " \t":
        i += 1
    start = i
    quoted = False
    while i < n and (quoted or text[i] not in " \t\r\n<>"):
        if text[i] == '"':
            quoted = not quoted
        i += 1
    return text[start:i].replace('"', "").replace("^", ""), i


def _cmd_words(text: str) -> tuple[list[str], list[Redirection]]:
    """Words (quotes and carets removed) and redirections of one cmd command."""
    words: list[str] = []
    redirections: list[Redirection] = []
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
                start, i = i, match.end()
                target = ""
                if not match.group()[-1].isdigit():
                    target, i = _cmd_target(text, i)
                redirections.append(redirection(text[start:i], target or None))
                continue
        current.append(c)
        has_word = True
        i += 1
    flush()
    return words, redirections


# --- PowerShell -----------------------------------------------------------------------------------------

_PS_OPERATORS = ("&&", "||", ";", "|", "\r\n", "\n")
_PS_REDIRECT = re.compile(r"(?:[1-6*])?(?:>>|>&[12]|>)")
_CLOSE = {"(": ")", "{": "}", "[": "]"}
_PS_COMMAND_HEAD = re.compile(r"\s*[A-Za-z_][\w.-]*")
_PS_COMMAND_START = re.compile(r"\s*[A-Za-z_][\w.-]*(?:\s|[|;)]|$)")


def split_powershell(line: str, depth: int = 0) -> list[Segment]:
    """Segments of a PowerShell line; ``{...}``, ``$(...)`` and command groups at ``depth + 1``."""
    try:
        return number_pipelines(_split_ps(line[:MAX_LENGTH], depth))
    except Exception:  # noqa: BLE001 - the last resort keeps the promise never to raise
        return [make_segment(line, line.split(), [], "", depth, "powershell")]


def _split_ps(line: str, depth: int) -> list[Segment]:
    return _chain_segments(_ps_chain(line), _ps_words, "powershell", depth, _ps_nested_segments)


def _ps_nested_segments(text: str, depth: int) -> list[Segment]:
    return [segment for body in _ps_nested(text) for segment in _split_ps(body, depth)]


def _chain_segments(
    chain: Iterable[tuple[str, str]],
    words: Callable[[str], tuple[list[str], list[Redirection]]],
    shell: str,
    depth: int,
    nested: Callable[[str, int], list[Segment]] | None = None,
) -> list[Segment]:
    """One segment per command of ``chain``, each followed by the segments of its nested bodies."""
    out: list[Segment] = []
    for text, operator in chain:
        if len(out) >= MAX_SEGMENTS:
            break
        stripped = text.strip()
        if not stripped:
            if operator and out and not out[-1].operator:
                out[-1] = with_operator(out[-1], operator)
            continue
        argv, redirections = words(stripped)
        segment = make_segment(stripped, argv, redirections, operator, depth, shell)
        out.append(segment)
        if nested is not None and depth < MAX_DEPTH:
            out.extend(nested(stripped, depth + 1))
        out.extend(body_segments(segment.argv, shell, depth))
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
        operator = _operator_at(text, i, _PS_OPERATORS)
        if operator:
            parts.append((text[start:i], "\n" if operator == "\r\n" else operator))
            i += len(operator)
            start = i
            continue
        i += 1
    parts.append((text[start:], ""))
    return parts


def _ps_nested(text: str, level: int = 0) -> list[str]:
    """Bodies of the script blocks, subexpressions and command groups directly inside one segment."""
    bodies: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "`":
            i += 2
            continue
        if c == "'" or text.startswith("@'", i):
            i = _ps_skip_quote(text, i)
            continue
        if c == '"' or text.startswith('@"', i):
            end = _ps_skip_quote(text, i)
            bodies.extend(_ps_string_subexpressions(text[i + 1 : end - 1]))
            i = end
            continue
        if c in _CLOSE:
            end = _ps_match(text, i)
            inner = text[i + 1 : end - 1]
            if _runs_statements(text, i, inner):
                bodies.append(inner)
            elif level < MAX_DEPTH:
                bodies.extend(_ps_nested(inner, level + 1))
            i = end
            continue
        i += 1
    return bodies


def _runs_statements(text: str, i: int, inner: str) -> bool:
    """True for ``{...}`` blocks, ``$(...)``, and ``(...)``/``@(...)`` that start with a command."""
    c = text[i]
    prev = text[i - 1] if i else ""
    if c == "{":
        return prev not in "$@"
    if c != "(":
        return False
    if prev == "$":
        return True
    at_word_start = (
        not prev or prev in "@ \t\r\n=(,!|;{+" or _PS_COMMAND_HEAD.fullmatch(text, 0, i) is not None
    )
    return at_word_start and _PS_COMMAND_START.match(inner) is not None


def _ps_string_subexpressions(inner: str) -> list[str]:
    """Bodies of the ``$(...)`` inside an expandable string."""
    bodies: list[str] = []
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
    return bodies


def _ps_words(text: str) -> tuple[list[str], list[Redirection]]:
    """Words (quotes removed, groups kept as written) and redirections of one PowerShell command."""
    raw: list[str] = []
    redirections: list[Redirection] = []
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
                redirections.append(redirection(text[start:i]))
                continue
            if i < n and text[i] not in " \t\r\n":
                word, i = _ps_word(text, i)
                redirections.append(redirection(text[start:i], word))
                continue
            pending = start
            continue
        word, i = _ps_word(text, i)
        if pending is not None:
            redirections.append(redirection(text[pending:i], word))
            pending = None
        elif word:
            raw.extend(_split_call_operator(text[start:i]))
    if pending is not None:
        redirections.append(redirection(text[pending:]))
    return _unquote_words(split_ps_call(split_ps_assignment(raw))), redirections


def _split_call_operator(word: str) -> list[str]:
    """``&"C:\\x.exe"`` and ``.(cmd)`` as the call operator and what it calls."""
    if len(word) > 1 and (word[0] == "&" or (word[0] == "." and word[1] in "($'\"{")):
        return [word[0], word[1:]]
    return [word]


def _unquote_words(raw: list[str]) -> list[str]:
    """Quotes removed, except from a string literal in command position: it is a value, not a command."""
    start = command_start(tuple(raw), "powershell")
    called = 0 < start <= len(raw) and raw[start - 1] in {"&", "."}
    words: list[str] = []
    for index, word in enumerate(raw):
        literal = index == start and word[:1] in "'\"" and not called
        words.append(word if literal else _ps_word(word, 0)[0])
    return words


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
