"""cmd.exe's reading of a line, in its phases: percent expansion, then special characters and the tree of
commands, then (at run time) delayed expansion. The model follows cmd.exe's documented behaviour in
command-line mode (``cmd /c``), where an undefined ``%VAR%`` is left as written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Union

from shellwatch.decode.model import Budget

DELIMITERS: Final = frozenset(" \t;,=\x0b\x0c\xa0")
"""Token delimiters of cmd.exe: they separate a command from its arguments and pad anything."""
_OPERATORS: Final = frozenset("&|<>()\n")


class Unsupported(Exception):
    """The line uses something the emulation does not model; the decode gives up on it."""


class Environment:
    """cmd.exe's variables: names are case-insensitive, the spelling of the first ``set`` is kept."""

    __slots__ = ("_values", "assigned")

    def __init__(
        self, values: dict[str, tuple[str, str]] | None = None, assigned: set[str] | None = None
    ) -> None:
        self._values: dict[str, tuple[str, str]] = dict(values or {})
        self.assigned: set[str] = set(assigned or ())
        """Names the line itself set: expanding one is string assembly, not a stock path."""

    @classmethod
    def of(cls, pairs: tuple[tuple[str, str], ...]) -> Environment:
        return cls({name.lower(): (name, value) for name, value in pairs})

    def copy(self) -> Environment:
        return Environment(self._values, self.assigned)

    def get(self, name: str) -> str | None:
        found = self._values.get(name.lower())
        return found[1] if found else None

    def set(self, name: str, value: str) -> None:
        self.assigned.add(name.lower())
        if value:
            old = self._values.get(name.lower())
            self._values[name.lower()] = (old[0] if old else name, value)
        else:
            self._values.pop(name.lower(), None)

    def listing(self, prefix: str = "") -> list[str]:
        """``set`` output: ``NAME=value`` lines sorted by name, those starting with ``prefix``."""
        lowered = prefix.lower()
        return [
            f"{name}={value}"
            for key, (name, value) in sorted(self._values.items())
            if key.startswith(lowered)
        ]


def strtol(text: str) -> int | None:
    """The leading integer of ``text`` as C's strtol reads it (spaces, then a sign); None without digits."""
    stripped = text.lstrip(" \t")
    sign = 1
    if stripped[:1] in "+-" and stripped:
        sign = -1 if stripped[0] == "-" else 1
        stripped = stripped[1:]
    digits = len(stripped) - len(stripped.lstrip("0123456789"))
    return sign * int(stripped[:digits]) if digits else None


def _substring(value: str, spec: str) -> str | None:
    start_text, _, length_text = spec.partition(",")
    start = strtol(start_text) or 0
    size = len(value)
    begin = max(size + start, 0) if start < 0 else min(start, size)
    if not _:
        return value[begin:]
    length = strtol(length_text)
    if length is None:
        return None
    end = size + length if length < 0 else begin + length
    return value[begin:end] if end > begin else ""


def _replace(value: str, spec: str) -> str | None:
    old, equals, new = spec.partition("=")
    if not equals or not old or old == "*":
        return None
    lowered = value.lower()
    if old.startswith("*"):
        at = lowered.find(old[1:].lower())
        return value if at < 0 else new + value[at + len(old) - 1 :]
    pieces: list[str] = []
    start = 0
    needle = old.lower()
    while (at := lowered.find(needle, start)) >= 0:
        pieces.append(value[start:at])
        pieces.append(new)
        start = at + len(needle)
    pieces.append(value[start:])
    return "".join(pieces)


def lookup(body: str, env: Environment, tricks: set[str] | None = None) -> str | None:
    """The value of ``NAME``, ``NAME:~start,length`` or ``NAME:old=new``; None when cmd.exe leaves it.
    ``tricks`` gets what was used: ``cmd-substring``, ``cmd-replace``, ``cmd-variables`` (a name the line
    set) or ``cmd-environment`` (a stock variable, as written)."""
    name, colon, spec = body.partition(":")
    if not name:
        return None
    value = env.get(name)
    if value is None and name.lower() == "cd":
        value = env.get("USERPROFILE")
    if value is None:
        return None
    if tricks is not None:
        tricks.add("cmd-variables" if name.lower() in env.assigned else "cmd-environment")
    if not colon:
        return value
    if spec.startswith("~"):
        found = _substring(value, spec[1:])
        kind = "cmd-substring"
    else:
        found = _replace(value, spec)
        kind = "cmd-replace"
    if found is not None and tricks is not None:
        tricks.add(kind)
    return found


def closing(text: str, start: int, mark: str, env: Environment) -> int:
    """The index of the ``mark`` closing the reference opened at ``start``. In ``NAME:old=new`` of a
    defined name the old text may hold the mark itself (``!v:*v!=!`` replaces up to ``v!``), so the close
    comes after ``=``."""
    end = text.find(mark, start + 1)
    colon = text.find(":", start + 1, end if end >= 0 else len(text))
    if colon < 0 or text.startswith("~", colon + 1) or env.get(text[start + 1 : colon]) is None:
        return end
    equals = text.find("=", colon + 1)
    if equals < 0:
        return end
    after = text.find(mark, equals + 1)
    return after if after >= 0 else end


def expand_percent(text: str, env: Environment, budget: Budget, tricks: set[str] | None = None) -> str:
    """Phase 1: ``%VAR%`` and its substring and replacement forms. An undefined name keeps its ``%`` and
    text, and the scan goes on from its closing ``%`` (``%a %b% c%`` with only b set gives ``%a <b> c%``)."""
    if "%" not in text:
        return text
    out: list[str] = []
    index = 0
    while True:
        budget.tick()
        start = text.find("%", index)
        if start < 0:
            out.append(text[index:])
            break
        out.append(text[index:start])
        end = closing(text, start, "%", env)
        if end < 0:
            out.append(text[start:])
            break
        body = text[start + 1 : end]
        value = lookup(body, env, tricks)
        if value is None:
            out.append("%" + body)
            index = end
        else:
            out.append(value)
            index = end + 1
    result = "".join(out)
    budget.room(len(result))
    return result


def expand_delayed(text: str, env: Environment, budget: Budget, tricks: set[str] | None = None) -> str:
    """Phase 5 under ``/V:ON``: ``!VAR!`` forms; carets escape the next character (inside quotes too). In
    command-line mode an undefined ``!VAR!`` stays as written."""
    if "!" not in text:
        return text
    out: list[str] = []
    index = 0
    size = len(text)
    while index < size:
        budget.tick()
        char = text[index]
        if char == "^":
            out.append(text[index + 1 : index + 2])
            index += 2
        elif char == "!":
            end = closing(text, index, "!", env)
            if end < 0:
                index += 1
                continue
            body = text[index + 1 : end]
            value = lookup(body, env, tricks)
            out.append(f"!{body}!" if value is None else value)
            index = end + 1
        else:
            out.append(char)
            index += 1
    result = "".join(out)
    budget.room(len(result))
    return result


def substitute(text: str, variables: dict[str, str]) -> str:
    """Phase 4: ``%x`` of the running ``for`` loops (case-sensitive letters, ``%~x`` drops quotes)."""
    if not variables or "%" not in text:
        return text
    out: list[str] = []
    index = 0
    while (at := text.find("%", index)) >= 0:
        out.append(text[index:at])
        following = text[at + 1 : at + 2]
        if following in variables:
            out.append(variables[following])
            index = at + 2
        elif following == "~" and text[at + 2 : at + 3] in variables and text[at + 2 : at + 3]:
            out.append(variables[text[at + 2]].strip('"'))
            index = at + 3
        else:
            out.append("%")
            index = at + 1
    out.append(text[index:])
    return "".join(out)


# --- phase 2: the tree of commands ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Simple:
    """One command: its text with carets consumed and quotes kept, and its redirections."""

    text: str
    redirections: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Block:
    """``( ... )``: its commands, and its source for a pipe's new cmd.exe to read again."""

    body: Node
    source: str
    redirections: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class For:
    switch: str
    options: str
    variable: str
    items: str
    body: Node


@dataclass(frozen=True, slots=True)
class If:
    negate: bool
    ignore_case: bool
    kind: str
    """``compare``, ``defined``, ``exist``, ``errorlevel`` or ``cmdextversion``."""
    left: str
    operator: str
    right: str
    then: Node
    otherwise: Node | None = None


@dataclass(frozen=True, slots=True)
class Chain:
    """Commands joined by one operator: ``&``, ``&&``, ``||`` or ``|``; a pipe keeps each side's source,
    which the new cmd.exe on that side reads again."""

    operator: str
    parts: tuple[Node, ...] = field(default_factory=tuple)
    sources: tuple[str, ...] = ()


Node = Union[Simple, Block, For, If, Chain]  # noqa: UP007 - a type alias evaluated at runtime


def _units(text: str, budget: Budget) -> tuple[list[str], list[bool], list[bool]]:
    """Each character of ``text`` after caret escapes, whether it is special (unquoted, unescaped), and
    whether a caret escaped it."""
    chars: list[str] = []
    special: list[bool] = []
    escaped: list[bool] = []
    quoted = False
    index = 0
    size = len(text)
    budget.tick(size // 16 + 1)
    while index < size:
        char = text[index]
        if char == "^" and not quoted:
            if index + 1 < size:
                chars.append(text[index + 1])
                special.append(False)
                escaped.append(True)
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        chars.append(char)
        special.append(not quoted and char != '"')
        escaped.append(False)
        index += 1
    return chars, special, escaped


class Parser:
    """Phase 2 over the text left by phase 1: a tree of commands."""

    def __init__(self, text: str, budget: Budget) -> None:
        self.source = text
        self.chars, self.special, self.carets = _units(text, budget)
        self.size = len(self.chars)
        self.index = 0
        self.depth = 0
        self.budget = budget
        self.escaped = any(self.carets)

    def parse(self) -> Node:
        return self.sequence()  # after a stray ``)`` at the top cmd.exe ignores the rest, and so do we

    # helpers ---------------------------------------------------------------------------------------

    def at(self, text: str) -> bool:
        end = self.index + len(text)
        return end <= self.size and all(
            self.special[i] and self.chars[i] == text[i - self.index] for i in range(self.index, end)
        )

    def at_word(self, word: str) -> bool:
        """The next characters spell ``word`` (any case), followed by a delimiter, an operator or the end."""
        end = self.index + len(word)
        if end > self.size or "".join(self.chars[self.index : end]).lower() != word:
            return False
        return end == self.size or (
            self.special[end] and (self.chars[end] in DELIMITERS or self.chars[end] in "(&|")
        )

    def skip(self, also: str = "") -> None:
        while (
            self.index < self.size
            and self.special[self.index]
            and (self.chars[self.index] in DELIMITERS or self.chars[self.index] in also)
        ):
            self.index += 1

    def ends_command(self) -> bool:
        if self.index >= self.size:
            return True
        char = self.chars[self.index]
        return self.special[self.index] and (char in "&|\n" or (char == ")" and self.depth > 0))

    def token(self, stop: str = "") -> str:
        """Characters up to a special delimiter or operator (quoted ones included)."""
        start = self.index
        while self.index < self.size:
            char = self.chars[self.index]
            if self.special[self.index] and (char in DELIMITERS or char in _OPERATORS or char in stop):
                break
            self.index += 1
        return "".join(self.chars[start : self.index])

    # grammar ---------------------------------------------------------------------------------------

    def sequence(self) -> Node:
        parts = [self.conditional()]
        while self.at("&") and not self.at("&&"):
            self.index += 1
            if self.index >= self.size or (self.depth and self.at(")")):
                break
            parts.append(self.conditional())
        return parts[0] if len(parts) == 1 else Chain("&", tuple(parts))

    def conditional(self) -> Node:
        node = self.pipeline()
        while self.at("&&") or self.at("||"):
            operator = self.chars[self.index] * 2
            self.index += 2
            node = Chain(operator, (node, self.pipeline()))
        return node

    def pipeline(self) -> Node:
        start = self.index
        parts = [self.command()]
        sources = [self.source_between(start, self.index)]
        while self.at("|") and not self.at("||"):
            self.index += 1
            start = self.index
            parts.append(self.command())
            sources.append(self.source_between(start, self.index))
        return parts[0] if len(parts) == 1 else Chain("|", tuple(parts), tuple(sources))

    def command(self) -> Node:
        self.budget.tick()
        self.skip("@")
        if self.at("("):
            return self.block()
        if self.at_word("for") or self.at_for_switch():
            return self.for_loop()
        if self.at_word("if"):
            return self.if_command()
        return self.simple()

    def at_for_switch(self) -> bool:
        end = self.index + 3
        return "".join(self.chars[self.index : end]).lower() == "for" and self.chars[end : end + 1] == ["/"]

    def block(self) -> Node:
        start = self.index
        self.index += 1
        self.depth += 1
        body = self.sequence()
        self.depth -= 1
        if self.at(")"):
            self.index += 1
        source = self.source_between(start, self.index)
        return Block(body, source, self.redirections_after())

    def source_between(self, start: int, end: int) -> str:
        """The text of units ``start..end`` as phase 2 left it (carets consumed): what cmd.exe hands the
        new instance on each side of a pipe, which is why obfuscators escape twice there."""
        return "".join(self.chars[start:end])

    def redirections_after(self) -> tuple[str, ...]:
        found: list[str] = []
        while True:
            self.skip()
            if self.at(">") or self.at("<"):
                found.append(self.redirection(""))
            else:
                return tuple(found)

    def redirection(self, handle: str) -> str:
        operator = self.chars[self.index]
        self.index += 1
        if operator == ">" and self.at(">"):
            operator = ">>"
            self.index += 1
        if self.at("&"):
            self.index += 1
            return f"{handle}{operator}&{self.token()}"
        self.skip()
        return f"{handle}{operator} {self.token()}"

    def simple(self) -> Node:
        chars: list[str] = []
        redirections: list[str] = []
        while not self.ends_command():
            char = self.chars[self.index]
            if self.special[self.index] and char in "<>":
                handle = ""
                if chars and chars[-1].isdigit() and (len(chars) == 1 or chars[-2] in DELIMITERS):
                    handle = chars.pop()
                redirections.append(self.redirection(handle))
                continue
            chars.append(char)
            self.index += 1
        return Simple("".join(chars).rstrip(" \t") if redirections else "".join(chars), tuple(redirections))

    def for_loop(self) -> Node:
        self.index += 3
        self.skip()
        switches: list[str] = []
        while self.index < self.size and self.chars[self.index] == "/":
            self.index += 1
            word = "/" + self.token("/").lower()
            switches.append(word)
            self.skip()
            if word == "/r" and not self.at_var():
                switches.append(self.token())
                self.skip()
        options = ""
        if self.index < self.size and self.chars[self.index] == '"':
            options = self.token()
            self.skip()
        if not self.at_var():
            raise Unsupported("for without a variable")
        self.index += 1
        if self.at_var():
            self.index += 1
        variable = self.chars[self.index] if self.index < self.size else ""
        self.index += 1
        self.skip()
        if not self.at_word("in"):
            raise Unsupported("for without in")
        self.index += 2
        self.skip()
        if not self.at("("):
            raise Unsupported("for without a set")
        self.index += 1
        start = self.index
        while self.index < self.size and not self.at(")"):
            self.index += 1
        items = "".join(self.chars[start : self.index])
        self.index += 1
        self.skip()
        if not self.at_word("do") and "".join(self.chars[self.index : self.index + 2]).lower() != "do":
            raise Unsupported("for without do")
        self.index += 2
        self.skip()
        return For(" ".join(switches), options, variable, items, self.sequence())

    def at_var(self) -> bool:
        return self.index < self.size and self.chars[self.index] == "%"

    def if_command(self) -> Node:
        self.index += 2
        self.skip()
        ignore_case = negate = False
        if "".join(self.chars[self.index : self.index + 2]).lower() == "/i":
            ignore_case = True
            self.index += 2
            self.skip()
        if self.at_word("not"):
            negate = True
            self.index += 3
            self.skip()
        for kind in ("defined", "exist", "errorlevel", "cmdextversion"):
            if self.at_word(kind):
                self.index += len(kind)
                self.skip()
                argument = self.token()
                return self.if_rest(If(negate, ignore_case, kind, argument, "", "", Simple("")))
        left = self.token()
        while self.index < self.size and self.chars[self.index] in " \t,;" and self.special[self.index]:
            self.index += 1
        if self.chars[self.index : self.index + 2] == ["=", "="]:
            operator = "=="
            self.index += 2
        else:
            operator = self.token().lower()
            if operator not in {"equ", "neq", "lss", "leq", "gtr", "geq"}:
                raise Unsupported(f"if operator {operator!r}")
        self.skip()
        right = self.token()
        return self.if_rest(If(negate, ignore_case, "compare", left, operator, right, Simple("")))

    def if_rest(self, head: If) -> Node:
        self.skip()
        if self.at("("):
            then = self.block()
            self.skip()
            if self.at_word("else"):
                self.index += 4
                self.skip()
                return If(
                    head.negate,
                    head.ignore_case,
                    head.kind,
                    head.left,
                    head.operator,
                    head.right,
                    then,
                    self.command(),
                )
            return If(head.negate, head.ignore_case, head.kind, head.left, head.operator, head.right, then)
        return If(
            head.negate, head.ignore_case, head.kind, head.left, head.operator, head.right, self.sequence()
        )


def parse(text: str, budget: Budget) -> tuple[Node, bool]:
    """The tree of ``text`` (already through phase 1), and whether carets escaped anything in it."""
    parser = Parser(text, budget)
    return parser.parse(), parser.escaped
