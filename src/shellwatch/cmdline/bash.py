"""Split a bash command line into segments: bashlex first, a hand tokenizer when bashlex gives up."""

from __future__ import annotations

import re
from typing import Any

import bashlex  # type: ignore[import-untyped]

from shellwatch.cmdline._words import MAX_DEPTH, MAX_LENGTH, body_segments, make_segment
from shellwatch.cmdline.model import Segment

SHELL = "bash"

# A redirection operator at the start of a word: optional fd, the operator, an optional ``&fd``.
_REDIRECT = re.compile(r"(?:\d+|\{\w+\})?(?:&>>|&>|>>|>&|>\||<<<|<<-|<<|<>|<&|>|<)")
_OPERATORS = ("&&", "||", "|&", ";;", "|", ";", "&", "\n")


def split_bash(line: str, depth: int = 0) -> list[Segment]:
    """Segments of a bash line, nested substitutions at ``depth + 1``; never raises."""
    line = line[:MAX_LENGTH]
    if not line.strip():
        return []
    try:
        return _Walker(line, depth).run()
    except Exception:  # noqa: BLE001 - bashlex raises many kinds of error; the fallback takes over
        pass
    try:
        return _fallback(line, depth)
    except Exception:  # noqa: BLE001 - the last resort keeps the promise never to raise
        return [make_segment(line, line.split(), [], "", depth, SHELL)]


# --- bashlex --------------------------------------------------------------------------------------------


class _Walker:
    def __init__(self, line: str, depth: int) -> None:
        self.line = line
        self.depth = depth
        self.out: list[Segment] = []

    def run(self) -> list[Segment]:
        trees = bashlex.parse(self.line)
        for index, tree in enumerate(trees):
            last = self.visit(tree, self.depth)
            if last is not None and index + 1 < len(trees) and not self.out[last].operator:
                self.set_operator(last, "\n")
        return self.out

    def set_operator(self, index: int, operator: str) -> None:
        seg = self.out[index]
        self.out[index] = make_segment(
            seg.text, list(seg.argv), list(seg.redirections), operator, seg.depth, SHELL
        )

    def visit(self, node: Any, depth: int) -> int | None:
        """Emit the segments under ``node``; return the index of the last one at ``depth``."""
        kind = node.kind
        if kind == "command":
            return self.command(node, depth)
        last: int | None = None
        if kind in {"list", "pipeline"}:
            for part in node.parts:
                if part.kind == "operator" and last is not None:
                    self.set_operator(last, part.op)
                elif part.kind == "pipe" and last is not None:
                    self.set_operator(last, part.pipe)
                elif part.kind not in {"operator", "pipe"}:
                    last = self.visit(part, depth)
            return last
        if kind == "compound":
            for part in getattr(node, "list", []):
                if part.kind == "reservedword" and part.word in {";", "&"} and last is not None:
                    self.set_operator(last, part.word)
                else:
                    found = self.visit(part, depth)
                    last = found if found is not None else last
            for redirect in getattr(node, "redirects", []) or []:
                self.nested(redirect, depth)
            return last
        if kind in {"commandsubstitution", "processsubstitution"}:
            self.visit(node.command, depth + 1)
            return None
        for name in ("parts", "list"):
            for part in getattr(node, name, None) or []:
                if part.kind == "reservedword" and part.word == ";" and last is not None:
                    self.set_operator(last, ";")
                    continue
                found = self.visit(part, depth)
                last = found if found is not None else last
        body = getattr(node, "body", None)
        if body is not None:
            found = self.visit(body, depth)
            last = found if found is not None else last
        for name in ("output", "command"):
            child = getattr(node, name, None)
            if child is not None and hasattr(child, "kind"):
                self.visit(child, depth)
        return last

    def nested(self, node: Any, depth: int) -> None:
        """Emit the substitutions inside a word or a redirection."""
        stack = [node]
        while stack:
            current = stack.pop()
            if current.kind in {"commandsubstitution", "processsubstitution"}:
                if depth < MAX_DEPTH:
                    self.visit(current.command, depth + 1)
                continue
            for name in ("parts", "output"):
                child = getattr(current, name, None)
                if isinstance(child, list):
                    stack.extend(reversed(child))
                elif child is not None and hasattr(child, "kind"):
                    stack.append(child)

    def command(self, node: Any, depth: int) -> int:
        argv: list[str] = []
        redirections: list[str] = []
        for part in node.parts:
            if part.kind in {"word", "assignment"}:
                argv.append(part.word)
            elif part.kind == "redirect":
                redirections.append(self.line[part.pos[0] : part.pos[1]])
        start, end = node.pos
        index = len(self.out)
        self.out.append(make_segment(self.line[start:end], argv, redirections, "", depth, SHELL))
        for part in node.parts:
            self.nested(part, depth)
        self.out.extend(body_segments(tuple(argv), SHELL, depth))
        return index


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


def _chain(text: str) -> list[tuple[str, str]]:
    """Split on unquoted chain operators: a list of (segment text, operator after it)."""
    parts: list[tuple[str, str]] = []
    start = 0
    i = 0
    at_word = True
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            at_word = False
            continue
        if c == "'":
            i = _skip_single(text, i)
            at_word = False
            continue
        if c == '"':
            i = _skip_double(text, i)
            at_word = False
            continue
        if c == "`":
            i = _skip_backtick(text, i)
            continue
        if c == "$" and text.startswith("$(", i):
            i = _match_paren(text, i + 1)
            continue
        if c in "<>" and text.startswith("(", i + 1):
            i = _match_paren(text, i + 1)
            continue
        if c == "#" and at_word:
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            text = text[:i] + " " * (end - i) + text[end:]
            continue
        operator = next((op for op in _OPERATORS if text.startswith(op, i)), "")
        if operator:
            prev = text[i - 1] if i else ""
            nxt = text[i + len(operator) : i + len(operator) + 1]
            redirect = (operator == "&" and (prev in "<>" or nxt == ">")) or (operator == "|" and prev == ">")
            if not redirect:
                parts.append((text[start:i], operator))
                i += len(operator)
                start = i
                at_word = True
                continue
        at_word = c in " \t\n(){}"
        i += 1
    parts.append((text[start:], ""))
    return parts


def _words(text: str) -> tuple[list[str], list[str]]:
    """Words (quotes removed) and redirections (as written) of one simple command."""
    words: list[str] = []
    redirections: list[str] = []
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
            dup = re.match(r"[0-9]+-?|-", text[i:]) if match.group().endswith("&") else None
            if dup:
                redirections.append(text[start : i + dup.end()])
                i += dup.end()
                continue
            if i < n and text[i] not in " \t\n":
                word, i = _word(text, i)
                redirections.append(text[start:i])
                continue
            pending = start
            continue
        word, i = _word(text, i)
        if pending is not None:
            redirections.append(text[pending:i])
            pending = None
        elif word not in {"(", ")", "{", "}"}:
            words.append(word.lstrip("(") if word.startswith("(") and not word.startswith("((") else word)
    if pending is not None:
        redirections.append(text[pending:].strip())
    return [w for w in words if w], redirections


def _word(text: str, i: int) -> tuple[str, int]:
    """One word from ``i``: quotes removed, substitutions kept as written."""
    out: list[str] = []
    n = len(text)
    while i < n and text[i] not in " \t\n":
        c = text[i]
        if c in "<>" and out and not text.startswith("(", i + 1):
            break
        if c == "\\":
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
    return "".join(out), max(i, 1)


def _fallback(line: str, depth: int) -> list[Segment]:
    out: list[Segment] = []
    for text, operator in _chain(line):
        stripped = text.strip()
        if not stripped:
            if operator and out and not out[-1].operator:
                last = out[-1]
                out[-1] = make_segment(
                    last.text, list(last.argv), list(last.redirections), operator, last.depth, SHELL
                )
            continue
        argv, redirections = _words(stripped)
        out.append(make_segment(stripped, argv, redirections, operator, depth, SHELL))
        if depth < MAX_DEPTH:
            for body in _substitutions(stripped):
                out.extend(split_bash(body, depth + 1))
            out.extend(body_segments(tuple(argv), SHELL, depth))
    return out
