"""Split a bash command line into segments: bashlex first, a hand tokenizer when bashlex gives up."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import bashlex  # type: ignore[import-untyped]

from shellwatch.cmdline._words import (
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_SEGMENTS,
    POSIX_SHELLS,
    body_segments,
    effective,
    make_segment,
    number_pipelines,
    redirection,
    shell_body,
    with_operator,
)
from shellwatch.cmdline.model import Redirection, Segment

SHELL = "bash"
BASHLEX_MAX_LENGTH = 16_384
"""Longer lines go straight to the hand tokenizer, several times faster than bashlex on big input."""

_REDIRECT = re.compile(r"(?:\d+|\{\w+\})?(?:&>>|&>|>>|>&|>\||<<<|<<-|<<|<>|<&|>|<)")
_DUPLICATE = re.compile(r"[0-9]+-?|-")
_OPERATORS = ("&&", "||", "|&", ";;&", ";;", ";&", "|", ";", "&", "\n")
_OPERATOR_STARTS = frozenset("&|;\n")
_CASE_ENDS = frozenset({";;", ";&", ";;&"})
_CASE_HEAD = re.compile(r"case\s+\S+\s+in\s+")
_CASE_PATTERN = re.compile(r"\(?[^()\s|]*+(?:\s*+\|\s*+[^()\s|]*+)*+\)\s*")
# bashlex rejects quoted here-document delimiters; the same delimiter unquoted, padded to the same
# length, parses alike and keeps every position valid.
_QUOTED_HEREDOC = re.compile(r"<<(-?)(\s*)(['\"])(\w+)\3")
_HEREDOC_START = re.compile(r"<<(-?)\s*(?:'([^']*)'|\"([^\"]*)\"|\\?([^\s;&|<>()]+))")
_SUBSTITUTIONS = frozenset({"commandsubstitution", "processsubstitution"})


def split_bash(line: str, depth: int = 0) -> list[Segment]:
    """Segments of a bash line, nested substitutions and bodies at ``depth + 1``; never raises."""
    line = line[:MAX_LENGTH]
    if not line.strip():
        return []
    if len(line) <= BASHLEX_MAX_LENGTH:
        try:
            return number_pipelines(_Walker(line, depth).run())
        except Exception:  # noqa: BLE001 - bashlex raises many kinds of error; the fallback takes over
            pass
    try:
        return number_pipelines(_fallback(line, depth))
    except Exception:  # noqa: BLE001 - the last resort keeps the promise never to raise
        return [make_segment(line, line.split(), [], "", depth, SHELL)]


def stdin_script(argv: tuple[str, ...], redirections: tuple[Redirection, ...], depth: int) -> list[Segment]:
    """Segments of a here-document or here-string fed to a shell (``bash <<EOF``), at ``depth + 1``."""
    args = effective(argv, SHELL)
    if depth >= MAX_DEPTH or not args or args[0].rsplit("/", 1)[-1] not in POSIX_SHELLS:
        return []
    if shell_body(argv, SHELL) is not None:
        return []
    out: list[Segment] = []
    for found in redirections:
        if found.operator.startswith("<<") and found.body.strip():
            out.extend(split_bash(found.body, depth + 1))
    return out


# --- bashlex --------------------------------------------------------------------------------------------


def _for_bashlex(line: str) -> str:
    return _QUOTED_HEREDOC.sub(lambda m: f"<<{m[1]}{m[2]} {m[4]} ", line)


class _TooManySegments(Exception):
    """Raised to stop the walk: the segments so far are kept."""


class _Walker:
    """Walk bashlex's tree and emit one segment per simple command, in the order they appear."""

    def __init__(self, line: str, depth: int) -> None:
        self.line = line
        self.parsed = _for_bashlex(line)
        self.depth = depth
        self.out: list[Segment] = []

    def run(self) -> list[Segment]:
        trees = bashlex.parse(self.parsed)
        try:
            for index, tree in enumerate(trees):
                emitted = self.visit(tree, self.depth)
                if emitted and index + 1 < len(trees) and not self.out[emitted[-1]].operator:
                    self.out[emitted[-1]] = with_operator(self.out[emitted[-1]], "\n")
        except _TooManySegments:
            pass
        return self.out

    def visit(self, node: Any, depth: int) -> list[int]:
        """Emit the segments under ``node``; return the indices of those at ``depth``."""
        kind = node.kind
        if kind == "command":
            return [self.command(node, depth)]
        if kind == "function":
            return self.visit(node.body, depth)
        if kind in _SUBSTITUTIONS:
            if depth < MAX_DEPTH:
                self.visit(node.command, depth + 1)
            return []
        parts = getattr(node, "parts", None) or getattr(node, "list", None) or []
        emitted = self.sequence(parts, depth)
        for redirect in getattr(node, "redirects", None) or []:
            self.redirect_group(redirect, emitted, depth)
        return emitted

    def sequence(self, parts: list[Any], depth: int) -> list[int]:
        emitted: list[int] = []
        for part in parts:
            operator = ""
            if part.kind == "operator":
                operator = part.op
            elif part.kind == "pipe":
                operator = part.pipe
            elif part.kind == "reservedword":
                operator = part.word if part.word in {";", "&"} else ""
            elif part.kind in {"word", "assignment"}:
                self.nested(part, depth)
            else:
                emitted.extend(self.visit(part, depth))
            if operator and emitted:
                self.out[emitted[-1]] = with_operator(self.out[emitted[-1]], operator)
        return emitted

    def redirect_group(self, node: Any, emitted: list[int], depth: int) -> None:
        """A redirection of a ``{ ...; }``, ``( ... )`` or loop applies to every command inside it."""
        found = self.redirection(node)
        for index in emitted:
            segment = self.out[index]
            if segment.depth == depth:
                self.out[index] = replace(segment, redirections=(*segment.redirections, found))
        self.nested(node, depth)

    def nested(self, node: Any, depth: int) -> None:
        """Emit the substitutions inside a word or a redirection."""
        stack = [node]
        while stack:
            current = stack.pop()
            if current.kind in _SUBSTITUTIONS:
                if depth < MAX_DEPTH:
                    self.visit(current.command, depth + 1)
                continue
            for name in ("parts", "output"):
                child = getattr(current, name, None)
                if isinstance(child, list):
                    stack.extend(reversed(child))
                elif child is not None and hasattr(child, "kind"):
                    stack.append(child)

    def redirection(self, node: Any) -> Redirection:
        output: Any = getattr(node, "output", None)
        heredoc: Any = getattr(node, "heredoc", None)
        start, end = node.pos
        if heredoc is not None and hasattr(output, "pos"):
            end = self.end_of(output.pos[1])
        word = output.word if hasattr(output, "word") else None
        body = _heredoc_body(heredoc.value, word or "") if heredoc is not None else ""
        return redirection(self.line[start:end], word, body)

    def end_of(self, end: int) -> int:
        """``end`` moved past the closing quote of a here-document delimiter that was unquoted for bashlex."""
        quoted = end < len(self.line) and self.line[end] != self.parsed[end]
        return end + 1 if quoted else end

    def command(self, node: Any, depth: int) -> int:
        if len(self.out) >= MAX_SEGMENTS:
            raise _TooManySegments
        argv: list[str] = []
        redirections: list[Redirection] = []
        for part in node.parts:
            if part.kind in {"word", "assignment"}:
                argv.append(part.word)
            elif part.kind == "redirect":
                redirections.append(self.redirection(part))
        start, end = node.pos
        index = len(self.out)
        segment = make_segment(self.line[start : self.end_of(end)], argv, redirections, "", depth, SHELL)
        self.out.append(segment)
        for part in node.parts:
            self.nested(part, depth)
        self.out.extend(body_segments(segment.argv, SHELL, depth))
        self.out.extend(stdin_script(segment.argv, segment.redirections, depth))
        return index


def _heredoc_body(value: str, delimiter: str) -> str:
    """A here-document's text without its closing delimiter line."""
    head, _, last = value.rpartition("\n")
    return head if last.strip() == delimiter.strip() else value


# --- hand tokenizer -------------------------------------------------------------------------------------


def _skip_single(text: str, i: int) -> int:
    """Index after the closing quote of a single-quoted string that opens at ``i``."""
    end = text.find("'", i + 1)
    return len(text) if end < 0 else end + 1


def _skip_double(text: str, i: int) -> int:
    """Index after the closing quote of a double-quoted string that opens at ``i``."""
    j = i + 1
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == '"':
            return j + 1
        if c == "$" and text.startswith("$(", j):
            j = _match_paren(text, j + 1)
            continue
        if c == "`":
            j = _skip_backtick(text, j)
            continue
        j += 1
    return len(text)


def _skip_backtick(text: str, i: int) -> int:
    j = i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == "`":
            return j + 1
        j += 1
    return len(text)


def _match_paren(text: str, i: int) -> int:
    """Index after the ``)`` that closes the ``(`` at ``i``, skipping quotes."""
    level = 0
    j = i
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "'":
            j = _skip_single(text, j)
            continue
        if c == '"':
            j = _skip_double(text, j)
            continue
        if c == "`":
            j = _skip_backtick(text, j)
            continue
        if c == "(":
            level += 1
        elif c == ")":
            level -= 1
            if level == 0:
                return j + 1
        j += 1
    return len(text)


def _substitutions(text: str) -> list[str]:
    """Bodies of the ``$(...)``, backtick and ``<(...)`` substitutions directly inside ``text``."""
    bodies: list[str] = []
    i = 0
    in_double = False
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "'" and not in_double:
            i = _skip_single(text, i)
            continue
        if c == '"':
            in_double = not in_double
            i += 1
            continue
        if c == "$" and text.startswith("$((", i):
            i = _match_paren(text, i + 1)
            continue
        if (c == "$" and text.startswith("$(", i)) or (
            not in_double and c in "<>" and text.startswith("(", i + 1)
        ):
            end = _match_paren(text, i + 1)
            bodies.append(text[i + 2 : end - 1])
            i = end
            continue
        if c == "`":
            end = _skip_backtick(text, i)
            bodies.append(text[i + 1 : end - 1].replace("\\`", "`"))
            i = end
            continue
        i += 1
    return bodies


class _Part:
    """One piece of a line cut at an operator: its text, the operator after it, its here-documents."""

    __slots__ = ("bodies", "operator", "text")

    def __init__(self, text: str, operator: str, bodies: list[str]) -> None:
        self.text = text
        self.operator = operator
        self.bodies = bodies


def _heredoc_bodies(text: str, start: int, pending: list[tuple[str, bool]]) -> tuple[list[str], int]:
    """The here-documents that begin on the line after ``start``; and the index after the last one."""
    bodies: list[str] = []
    i = start
    for delimiter, strip_tabs in pending:
        lines: list[str] = []
        while i < len(text):
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            line = text[i:end]
            i = end + 1
            if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                break
            lines.append(line.lstrip("\t") if strip_tabs else line)
        bodies.append("\n".join(lines))
    return bodies, min(i, len(text))


def _skip_quoted(text: str, i: int) -> int:
    """Index after the escape, quoted string or substitution at ``i``; ``i`` when there is none."""
    c = text[i]
    if c == "\\":
        return i + 2
    if c == "'":
        return _skip_single(text, i)
    if c == '"':
        return _skip_double(text, i)
    if c == "`":
        return _skip_backtick(text, i)
    if (c == "$" or c in "<>") and text.startswith("(", i + 1):
        return _match_paren(text, i + 1)
    return i


def _chain(text: str) -> list[_Part]:
    """Split on unquoted chain operators, keeping comments and here-document bodies out of the split."""
    parts: list[_Part] = []
    pending: list[tuple[str, bool, int]] = []  # here-documents waiting for the end of their line
    start = 0
    cut: int | None = None  # where a comment began in the current part
    i = 0
    at_word = True
    while i < len(text):
        c = text[i]
        skipped = _skip_quoted(text, i)
        if skipped != i:
            i = skipped
            at_word = False
            continue
        if c == "#" and at_word:
            cut = i
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        if text.startswith("<<", i) and not text.startswith("<<<", i):
            heredoc = _HEREDOC_START.match(text, i)
            if heredoc:
                delimiter = heredoc[2] if heredoc[2] is not None else heredoc[3] or heredoc[4] or ""
                pending.append((delimiter, heredoc[1] == "-", len(parts)))
                i = heredoc.end()
                continue
        operator = _operator_at(text, i)
        if operator:
            parts.append(_Part(text[start : i if cut is None else cut], operator, []))
            i = start = i + len(operator)
            cut = None
            at_word = True
            if operator == "\n" and pending:
                i = start = _attach_heredocs(text, i, pending, parts)
                pending = []
            continue
        at_word = c in " \t\n(){}"
        i += 1
    parts.append(_Part(text[start : len(text) if cut is None else cut], "", []))
    for _, _, owner in pending:
        parts[owner].bodies.append("")
    return parts


def _operator_at(text: str, i: int) -> str:
    """The chain operator at ``i``, or "" (also for the ``&`` and ``|`` of ``>&``, ``&>`` and ``>|``)."""
    if text[i] not in _OPERATOR_STARTS:
        return ""
    operator = next((op for op in _OPERATORS if text.startswith(op, i)), "")
    prev = text[i - 1] if i else ""
    nxt = text[i + len(operator) : i + len(operator) + 1]
    if (operator == "&" and (prev in "<>" or nxt == ">")) or (operator == "|" and prev == ">"):
        return ""
    return operator


def _attach_heredocs(text: str, i: int, pending: list[tuple[str, bool, int]], parts: list[_Part]) -> int:
    """Give each pending here-document its body (the lines from ``i``); return the index after them."""
    bodies, end = _heredoc_bodies(text, i, [(delimiter, strip) for delimiter, strip, _ in pending])
    for (_, _, owner), body in zip(pending, bodies, strict=True):
        parts[owner].bodies.append(body)
    return end


def _words(text: str, bodies: list[str]) -> tuple[list[str], list[Redirection]]:
    """Words (quotes removed) and redirections of one simple command."""
    words: list[str] = []
    redirections: list[Redirection] = []
    here = iter(bodies)
    i = 0
    n = len(text)
    pending: int | None = None  # start of a redirection that waits for its target
    while i < n:
        while i < n and text[i] in " \t\n":
            i += 1
        if i >= n:
            break
        start = i
        match = _REDIRECT.match(text, i)
        if match and match.group() in {"<", ">"} and text.startswith("(", match.end()):
            match = None
        if match and pending is None:
            i = match.end()
            dup = _DUPLICATE.match(text, i) if match.group().endswith("&") else None
            if dup:
                i = dup.end()
                redirections.append(redirection(text[start:i]))
                continue
            if i < n and text[i] not in " \t\n":
                word, i = _word(text, i)
                redirections.append(_redirection(text[start:i], word, match.group(), here))
                continue
            pending = start
            continue
        word, i = _word(text, i)
        if pending is not None:
            operator = _REDIRECT.match(text, pending)
            redirections.append(
                _redirection(text[pending:i], word, operator.group() if operator else "", here)
            )
            pending = None
        elif word not in {"(", ")", "{", "}"}:
            words.append(word)
    if pending is not None:
        redirections.append(redirection(text[pending:]))
    return [w for w in words if w], redirections


def _redirection(text: str, word: str, operator: str, here: Any) -> Redirection:
    body = next(here, "") if operator.endswith(("<<", "<<-")) else ""
    return redirection(text, word, body)


def _word(text: str, i: int) -> tuple[str, int]:
    """One word from ``i``: quotes removed, substitutions kept as written."""
    out: list[str] = []
    n = len(text)
    start = i
    while i < n and text[i] not in " \t\n":
        c = text[i]
        if c in "<>" and out and not text.startswith("(", i + 1):
            break
        if c == "(" and out and out[-1].endswith("="):
            end = _match_paren(text, i)
            out.append(text[i:end])
            i = end
        elif c in "()":
            if out:
                break
            return c, i + 1
        elif c == "\\":
            out.append(text[i + 1 : i + 2])
            i += 2
        elif c == "'":
            end = _skip_single(text, i)
            out.append(text[i + 1 : end - 1])
            i = end
        elif c == '"':
            end = _skip_double(text, i)
            out.append(text[i + 1 : end - 1])
            i = end
        elif (c == "$" and text.startswith("$(", i)) or (c in "<>" and text.startswith("(", i + 1)):
            end = _match_paren(text, i + 1)
            out.append(text[i:end])
            i = end
        elif c == "`":
            end = _skip_backtick(text, i)
            out.append(text[i:end])
            i = end
        else:
            out.append(c)
            i += 1
    return "".join(out), max(i, start + 1)


def _without_case_pattern(text: str, after: str) -> str:
    """``text`` without a leading ``case WORD in`` and ``pattern)``: the command of a case branch."""
    head = _CASE_HEAD.match(text)
    if head is None and after not in _CASE_ENDS:
        return text
    rest = text[head.end() :] if head else text
    pattern = _CASE_PATTERN.match(rest)
    return rest[pattern.end() :] if pattern else rest


def _fallback(line: str, depth: int) -> list[Segment]:
    out: list[Segment] = []
    previous = ""
    for part in _chain(line):
        if len(out) >= MAX_SEGMENTS:
            break
        stripped = part.text.strip()
        command = _without_case_pattern(stripped, previous)
        previous = part.operator
        if not command.strip():
            if part.operator and out and not out[-1].operator:
                out[-1] = with_operator(out[-1], part.operator)
            continue
        argv, redirections = _words(command, part.bodies)
        segment = make_segment(stripped, argv, redirections, part.operator, depth, SHELL)
        out.append(segment)
        if depth < MAX_DEPTH:
            for body in _substitutions(command):
                if len(out) >= MAX_SEGMENTS:
                    break
                out.extend(split_bash(body, depth + 1))
            out.extend(body_segments(segment.argv, SHELL, depth))
            out.extend(stdin_script(segment.argv, segment.redirections, depth))
    return out
