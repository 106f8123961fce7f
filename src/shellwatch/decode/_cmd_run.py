"""Running a cmd.exe tree on text: ``set``, ``call``, ``for``, ``if``, nested ``cmd``, pipes and the few
listings obfuscators read (``set``, ``assoc``, ``ftype`` through ``find``/``findstr``).

Nothing is executed. Internal commands change the emulator's own environment or produce known text; any
other command is *recorded*: the list of recorded commands, with their operators, is what the line runs.
"""

from __future__ import annotations

import dataclasses
import ntpath
from dataclasses import dataclass, field
from typing import Any, Final

from shellwatch.decode._cmd_data import ASSOC, ENVIRONMENT, FTYPE
from shellwatch.decode._cmd_parse import (
    DELIMITERS,
    Block,
    Chain,
    Environment,
    For,
    If,
    Node,
    Simple,
    Unsupported,
    expand_delayed,
    expand_percent,
    parse,
    strtol,
    substitute,
)
from shellwatch.decode.model import Budget

MAX_NESTING: Final = 24
"""Nested ``cmd``, ``call`` and pipe instances at most (``set a=call %a%`` would recurse for ever)."""
_POWERSHELL: Final = frozenset({"powershell", "pwsh", "powershell_ise"})
_FILTERS: Final = frozenset({"find", "findstr"})
_PASS: Final = frozenset({"more", "sort", "clip"})
_ECHO_SEPARATORS: Final = frozenset(" \t;,=.:(/\\[]+")
_INTERNAL: Final = ("assoc", "ftype", "echo", "call", "set")
_GLUE: Final = frozenset(".:(\\[]+")


@dataclass(slots=True)
class Record:
    """What the emulation found: commands in the order they would run, and the tricks it met."""

    commands: list[tuple[str, str]] = field(default_factory=list)
    tricks: set[str] = field(default_factory=set)

    def add(self, operator: str, text: str) -> None:
        text = text.strip(" \t")
        if text:
            self.commands.append((operator, text))

    def text(self) -> str:
        pieces: list[str] = []
        for index, (operator, command) in enumerate(self.commands):
            if index:
                pieces.append(
                    " | " if operator == "|" else f" {operator} " if operator in ("&&", "||") else " & "
                )
            pieces.append(command)
        return "".join(pieces)


@dataclass(slots=True)
class Context:
    """Where a command runs: loop variables, standard input, whether its output is read, its operator."""

    variables: dict[str, str] = field(default_factory=dict)
    stdin: str | None = None
    captured: bool = False
    operator: str = "&"


class Shell:
    """One cmd.exe instance: its environment and whether delayed expansion is on."""

    def __init__(self, budget: Budget, record: Record, env: Environment, delayed: bool, nesting: int) -> None:
        self.budget = budget
        self.record = record
        self.env = env
        self.delayed = delayed
        self.nesting = nesting
        self.status = 0

    def child(self, delayed: bool) -> Shell:
        if self.nesting >= MAX_NESTING:
            raise Unsupported("nesting")
        return Shell(self.budget, self.record, self.env.copy(), delayed, self.nesting + 1)

    # lines -----------------------------------------------------------------------------------------

    def run_process(self, text: str, context: Context) -> str:
        """A process command line. ``cmd.exe`` receives its line as written, so ``cmd /c a^&b`` runs one
        command; a line with operators outside the command (``cmd /c "..." | for ...``) was typed at a
        prompt and is read as such, like any other line."""
        name, rest = _split_command(text.lstrip(" \t"))
        if _program(name) == "cmd" and isinstance(parse(text, self.budget)[0], Simple):
            return self.cmd(text, rest, context)
        return self.run_line(text, context)

    def run_line(self, text: str, context: Context) -> str:
        """Phases 1 and 2 of ``text``, then its commands; the standard output they produce."""
        expanded = expand_percent(text, self.env, self.budget, self.record.tricks)
        tree, escaped = parse(expanded, self.budget)
        if escaped:
            self.record.tricks.add("cmd-caret")
        return self.run(tree, context)

    def run(self, node: Node, context: Context) -> str:
        self.budget.tick()
        if isinstance(node, Chain):
            return self.chain(node, context)
        if isinstance(node, Block):
            return self.run(node.body, context)
        if isinstance(node, For):
            return self.for_loop(node, context)
        if isinstance(node, If):
            return self.if_command(node, context)
        return self.simple(node, context)

    def chain(self, node: Chain, context: Context) -> str:
        if node.operator == "|":
            return self.pipe(node, context)
        output: list[str] = []
        for index, part in enumerate(node.parts):
            if index and node.operator == "&&" and self.status != 0:
                break
            if index and node.operator == "||" and self.status == 0:
                break
            operator = node.operator if index else context.operator
            output.append(self.run(part, _with(context, operator=operator)))
        return "".join(output)

    def pipe(self, node: Chain, context: Context) -> str:
        """Each side of a pipe runs in a new cmd.exe (delayed expansion off) that reads its text again."""
        self.record.tricks.add("cmd-pipe")
        stdin = context.stdin
        for index, part in enumerate(node.parts):
            last = index == len(node.parts) - 1
            side = _with(
                context,
                stdin=stdin,
                captured=not last or context.captured,
                operator="|" if index else context.operator,
                variables={},
            )
            stdin = self.child(False).run_line(self.text_of(part, node.sources[index], context), side)
        return stdin or ""

    def text_of(self, node: Node, source: str, context: Context) -> str:
        """The text a pipe hands to the new cmd.exe: a simple command after loop and delayed expansion,
        anything else as written."""
        if isinstance(node, Simple):
            return " ".join((self.expand(node.text, context), *node.redirections))
        return substitute(source, context.variables)

    def expand(self, text: str, context: Context) -> str:
        """Phases 4 and 5: loop variables, then delayed expansion."""
        text = substitute(text, context.variables)
        if self.delayed and "!" in text:
            expanded = expand_delayed(text, self.env, self.budget, self.record.tricks)
            if expanded != text:
                self.record.tricks.add("cmd-delayed")
            return expanded
        return text

    # commands --------------------------------------------------------------------------------------

    def simple(self, node: Simple, context: Context) -> str:
        text = self.expand(node.text, context).lstrip(" \t;,=@")
        if not text:
            return ""
        name, rest = _split_command(text)
        word = _program(name)
        glued = _glued_internal(name)
        if glued and word != "echo":
            name, rest, word = name[: len(glued)], name[len(glued) :] + rest, glued
        self.status = 0
        if word == "set":
            return self.set_command(rest, context)
        if word == "call":
            self.record.tricks.add("cmd-call")
            return self.child_call(rest, context)
        if word == "cmd":
            return self.cmd(text, rest, context)
        if word == "echo" or (name[:4].lower() == "echo" and name[4:5] in _ECHO_SEPARATORS and len(name) > 4):
            return self.echo(text, name, rest, node, context)
        if word in ("rem", "setlocal", "endlocal", "cls", "title", "color", "ver", "pause", "exit"):
            if word == "setlocal" and "enabledelayedexpansion" in rest.lower():
                self.delayed = True
            return ""
        if word in ("assoc", "ftype"):
            if context.captured:
                self.record.tricks.add("cmd-listing")
            return _listing(ASSOC if word == "assoc" else FTYPE, rest)
        if (word in _FILTERS or word in _PASS) and context.stdin is not None:
            if not context.captured:
                self.record.add(context.operator, " ".join((text, *node.redirections)))
            return _filter(word, rest, context.stdin) if word in _FILTERS else context.stdin
        if word in _POWERSHELL and context.stdin is not None and _reads_stdin(rest):
            self.record.tricks.add("cmd-stdin")
            self.record.add(context.operator, context.stdin.strip())
            return ""
        self.record.add(context.operator, " ".join((text, *node.redirections)))
        return ""

    def set_command(self, rest: str, context: Context) -> str:
        body = rest.lstrip(" \t")
        if body[:2].lower() in ("/a", "/p"):
            raise Unsupported("set /a or /p")
        if body.startswith('"'):
            closing = body.rfind('"')
            body = body[1:closing] if closing > 0 else body[1:]
        name, equals, value = body.partition("=")
        if not equals:
            if context.captured:
                self.record.tricks.add("cmd-listing")
            return "".join(line + "\r\n" for line in self.env.listing(name.strip()))
        if not name:
            self.status = 1
            return ""
        self.record.tricks.add("cmd-set")
        self.env.set(name, value)
        return ""

    def child_call(self, rest: str, context: Context) -> str:
        """``call``: one more percent expansion, then the command is read again."""
        if rest.lstrip(" \t").startswith(":"):
            raise Unsupported("call of a label")
        if self.nesting >= MAX_NESTING:
            raise Unsupported("nesting")
        self.nesting += 1
        try:
            return self.run_line(rest.lstrip(" \t"), context)
        finally:
            self.nesting -= 1

    def cmd(self, text: str, rest: str, context: Context) -> str:
        """A nested cmd.exe: its switches (``/V`` turns delayed expansion on), then the line after ``/C``."""
        delayed, line = _cmd_switches(rest)
        if line is None:
            if context.stdin is None:
                self.record.add(context.operator, text)
                return ""
            self.record.tricks.add("cmd-stdin")
            child = self.child(delayed)
            output = [
                child.run_line(entry, _with(context, stdin=None, variables={}))
                for entry in context.stdin.splitlines()
                if entry.strip()
            ]
            return "".join(output)
        self.record.tricks.add("cmd-nested")
        return self.child(delayed).run_line(line, _with(context, variables={}))

    def echo(self, text: str, name: str, rest: str, node: Simple, context: Context) -> str:
        message = rest[1:] if name.lower() == "echo" else name[5:] + rest
        if not message.strip() and name.lower() == "echo":
            return ""
        if context.captured:
            return message + "\r\n"
        self.record.add(context.operator, " ".join((text, *node.redirections)))
        return ""

    def for_loop(self, node: For, context: Context) -> str:
        self.record.tricks.add("cmd-for-loop")
        switch = node.switch.split()[0] if node.switch else ""
        items = self.expand(node.items, context)
        values: list[dict[str, str]]
        if switch == "/l":
            values = [{node.variable: number} for number in self.numbers(items)]
        elif switch == "/f":
            tokens = self.for_f(self.expand(node.options, context), items, context)
            values = [_letters_from(node.variable, found) for found in tokens]
        elif not switch:
            words = _split_items(items)
            if any(char in word for word in words for char in "*?"):
                raise Unsupported("for over files")
            values = [{node.variable: word} for word in words]
        else:
            raise Unsupported(f"for {switch}")
        output: list[str] = []
        for value in values:
            self.budget.tick()
            output.append(self.run(node.body, _with(context, variables={**context.variables, **value})))
        return "".join(output)

    def numbers(self, items: str) -> list[str]:
        parts = [strtol(item) for item in _split_items(items)]
        start, step, end = ([*(part or 0 for part in parts), 0, 0, 0])[:3]
        if step == 0 or len(parts) < 3:
            raise Unsupported("for /l")
        count = (end - start) // step + 1
        if count > 10_000:
            raise Unsupported("for /l range")
        self.budget.tick(max(count, 0))
        return [str(start + step * index) for index in range(max(count, 0))]

    def for_f(self, options: str, items: str, context: Context) -> list[dict[int, str]]:
        """``for /f``: the lines of a command's output (``('...')``) or of a string, cut into tokens."""
        settings = _for_f_options(options.strip('"'))
        source = items.strip(" \t,;=")
        backquote = settings.usebackq
        if (source.startswith("'") and not backquote) or (source.startswith("`") and backquote):
            self.record.tricks.add("cmd-for-f")
            command = source[1 : source.rfind(source[0])] if source.rfind(source[0]) > 0 else source[1:]
            child = self.child(False)
            output = child.run_line(command, Context(captured=True, operator=context.operator))
            lines = output.splitlines()
        elif source.startswith('"'):
            lines = [source.strip('"')]
        else:
            raise Unsupported("for /f over a file")
        found: list[dict[int, str]] = []
        for line in lines[settings.skip :]:
            if not line or (settings.eol and line.startswith(settings.eol)):
                continue
            tokens = _tokens(line, settings.delims, settings.tokens, settings.rest)
            if tokens:
                found.append(tokens)
        return found

    def if_command(self, node: If, context: Context) -> str:
        # cmd.exe compares the operands with their quotes (``if "%a%"=="x"`` is false for a=x)
        left = self.expand(node.left, context)
        right = self.expand(node.right, context)
        holds = self.condition(node, left, right)
        if holds != node.negate:
            return self.run(node.then, context)
        if node.otherwise is not None:
            return self.run(node.otherwise, context)
        return ""

    def condition(self, node: If, left: str, right: str) -> bool:
        if node.kind == "defined":
            return self.env.get(left) is not None
        if node.kind == "errorlevel":
            return self.status >= (strtol(left) or 0)
        if node.kind == "cmdextversion":
            return (strtol(left) or 0) <= 2
        if node.kind == "exist":
            raise Unsupported("if exist")
        if node.ignore_case:
            left, right = left.lower(), right.lower()
        if node.operator == "==":
            return left == right
        numbers = (_whole_number(left), _whole_number(right))
        a: int | str = left
        b: int | str = right
        if numbers[0] is not None and numbers[1] is not None:
            a, b = numbers[0], numbers[1]
        return {
            "equ": a == b,
            "neq": a != b,
            "lss": a < b,  # type: ignore[operator]
            "leq": a <= b,  # type: ignore[operator]
            "gtr": a > b,  # type: ignore[operator]
            "geq": a >= b,  # type: ignore[operator]
        }[node.operator]


# --- helpers ------------------------------------------------------------------------------------------


def _with(context: Context, **changes: Any) -> Context:
    return dataclasses.replace(context, **changes)


def _split_command(text: str) -> tuple[str, str]:
    """The command word and the rest (from the character that ended the word)."""
    index = 0
    quoted = False
    while index < len(text):
        char = text[index]
        if char == '"':
            quoted = not quoted
        elif not quoted and (char in DELIMITERS or (char == "/" and index)):
            break
        index += 1
    return text[:index], text[index:]


def _glued_internal(name: str) -> str:
    """The internal command a word starts with when a separator glues its argument (``assoc.cmd``)."""
    lowered = name.lower()
    for internal in _INTERNAL:
        if lowered.startswith(internal) and lowered[len(internal) : len(internal) + 1] in _GLUE:
            return internal
    return ""


def _program(name: str) -> str:
    """``C:\\Windows\\system32\\CMD.exe`` → ``cmd``: what an obfuscated command word runs."""
    bare = name.replace('"', "")
    base = ntpath.basename(bare).lower()
    for suffix in (".exe", ".com"):
        base = base.removesuffix(suffix)
    return base


def _cmd_switches(rest: str) -> tuple[bool, str | None]:
    """Delayed expansion and the line after ``/C``, ``/R`` or ``/K`` (None when there is none). cmd.exe
    skips anything that is not a switch before them, and strips the first quote and the last one."""
    delayed = False
    quoted = False
    index = 0
    while index < len(rest):
        char = rest[index]
        if char == '"':
            quoted = not quoted
        elif char == "/" and not quoted:
            letter = rest[index + 1 : index + 2].lower()
            if letter in ("c", "r", "k"):
                line = rest[index + 2 :].lstrip(" \t")
                if line.startswith('"'):
                    closing = line.rfind('"')
                    line = line[1:closing] + line[closing + 1 :] if closing > 0 else line[1:]
                return delayed, line
            if letter == "v":
                value = rest[index + 2 : index + 6].lower()
                delayed = not value.startswith(":of")
        index += 1
    return delayed, None


def _reads_stdin(arguments: str) -> bool:
    words = [word.lower() for word in arguments.replace(",", " ").replace(";", " ").split()]
    commands = [w for w in words if not w.startswith(("-", "/"))]
    return "-" in words or not commands


def _listing(lines: tuple[str, ...], argument: str) -> str:
    wanted = argument.strip(" \t;,").lower()
    chosen = [line for line in lines if not wanted or line.lower().startswith(wanted + "=")]
    return "".join(line + "\r\n" for line in chosen)


def _filter(program: str, arguments: str, stdin: str) -> str:
    """``find "x"`` and ``findstr x y`` (any word) on known text; both case-sensitive unless ``/I``."""
    words = arguments.replace(",", " ").replace(";", " ").split()
    options = {word.lower() for word in words if word.startswith("/")}
    terms = [word for word in words if not word.startswith("/")]
    if not terms:
        return ""
    search = terms[0].strip('"')
    literal = [search] if program == "find" else search.split()
    fold = "/i" in options
    invert = "/v" in options
    keep: list[str] = []
    for line in stdin.splitlines():
        haystack = line.lower() if fold else line
        hit = any((term.lower() if fold else term) in haystack for term in literal)
        if hit != invert:
            keep.append(line + "\r\n")
    return "".join(keep)


def _split_items(items: str) -> list[str]:
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for char in items:
        if char == '"':
            quoted = not quoted
        if not quoted and char in DELIMITERS:
            if current:
                out.append("".join(current))
                current = []
            continue
        current.append(char)
    if current:
        out.append("".join(current))
    return out


@dataclass(frozen=True, slots=True)
class _ForF:
    delims: str = " \t"
    tokens: tuple[int, ...] = (1,)
    rest: bool = False
    skip: int = 0
    eol: str = ";"
    usebackq: bool = False


_KEYWORDS: Final = ("delims=", "tokens=", "skip=", "eol=", "usebackq")


def _for_f_options(text: str) -> _ForF:
    delims, rest, skip, eol, usebackq = " \t", False, 0, ";", False
    tokens: tuple[int, ...] = (1,)
    index = 0
    lowered = text.lower()
    while index < len(text):
        keyword = next((word for word in _KEYWORDS if lowered.startswith(word, index)), None)
        if keyword is None:
            index += 1
            continue
        index += len(keyword)
        if keyword == "usebackq":
            usebackq = True
        elif keyword == "delims=":
            end = index
            while end < len(text) and not (
                text[end] == " " and any(lowered[end:].lstrip(" ").startswith(word) for word in _KEYWORDS)
            ):
                end += 1
            delims = text[index:end]
            index = end
        elif keyword == "eol=":
            eol = text[index : index + 1]
            index += 1
        else:
            while index < len(text) and text[index] in " \t":
                index += 1
            end = index
            while end < len(text) and text[end] in "+-0123456789,*":
                end += 1
            value = text[index:end]
            index = end
            if keyword == "skip=":
                skip = max(strtol(value) or 0, 0)
            else:
                tokens, rest = _token_spec(value)
    return _ForF(delims, tokens, rest, skip, eol, usebackq)


def _token_spec(value: str) -> tuple[tuple[int, ...], bool]:
    spec = value.replace(" ", "").lstrip("+")
    rest = spec.endswith("*")
    chosen: list[int] = []
    for part in spec.rstrip("*").split(","):
        low, dash, high = part.partition("-")
        first = strtol(low)
        if first is None:
            continue
        last = strtol(high) if dash else first
        chosen.extend(range(first, (last or first) + 1))
    return tuple(sorted(set(chosen))) or (1,), rest


def _tokens(line: str, delims: str, wanted: tuple[int, ...], rest: bool) -> dict[int, str]:
    pieces: list[tuple[int, str]] = []
    index = 0
    while index < len(line):
        while index < len(line) and line[index] in delims:
            index += 1
        start = index
        while index < len(line) and line[index] not in delims:
            index += 1
        if index > start:
            pieces.append((start, line[start:index]))
    found: dict[int, str] = {}
    for position, number in enumerate(wanted):
        if number - 1 < len(pieces):
            found[position] = pieces[number - 1][1]
    if rest:
        after = wanted[-1] if wanted else 0
        if after < len(pieces):
            found[len(wanted)] = line[pieces[after][0] :]
    return found


def _letters_from(first: str, tokens: dict[int, str]) -> dict[str, str]:
    """``tokens=1,3`` fill ``%a`` and ``%b`` when the loop variable is ``%a``."""
    return {chr(ord(first) + position): value for position, value in tokens.items()}


def _whole_number(text: str) -> int | None:
    stripped = text.strip()
    body = stripped[1:] if stripped[:1] in "+-" else stripped
    return strtol(stripped) if body.isdigit() else None


def new_shell(budget: Budget, record: Record) -> Shell:
    return Shell(budget, record, Environment.of(ENVIRONMENT), False, 0)
