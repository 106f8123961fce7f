"""bash patterns (``*``, ``?``, ``[...]``) matched by a set-of-states simulation, never by backtracking.

A pattern from the command line must not cost more than the budget allows: a regular expression built from
``*a*a*b`` can take minutes on a long value, this matcher takes one step per character and live state, and
counts them with :meth:`Budget.tick`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from shellwatch.decode.model import Budget

_CLASSES: Final[dict[str, Callable[[str], bool]]] = {
    "alpha": str.isalpha,
    "digit": str.isdigit,
    "alnum": str.isalnum,
    "upper": str.isupper,
    "lower": str.islower,
    "space": str.isspace,
    "blank": lambda char: char in " \t",
    "punct": lambda char: char.isprintable() and not char.isalnum() and not char.isspace(),
    "xdigit": lambda char: char in "0123456789abcdefABCDEF",
    "cntrl": lambda char: ord(char) < 32 or ord(char) == 127,
    "print": str.isprintable,
    "graph": lambda char: char.isprintable() and not char.isspace(),
    "word": lambda char: char.isalnum() or char == "_",
}


@dataclass(frozen=True, slots=True)
class CharSet:
    """A bracket expression: characters, ranges and classes, maybe negated."""

    chars: frozenset[str]
    ranges: tuple[tuple[str, str], ...]
    classes: tuple[str, ...]
    negate: bool

    def __contains__(self, char: object) -> bool:
        if not isinstance(char, str):
            return False
        found = (
            char in self.chars
            or any(low <= char <= high for low, high in self.ranges)
            or any(_CLASSES[name](char) for name in self.classes)
        )
        return found != self.negate


# A token: ("lit", char), ("any", ""), ("star", "") or ("set", CharSet).
Token = tuple[str, str | CharSet]


def _bracket(text: str, start: int) -> tuple[CharSet, int] | None:
    """The bracket expression opening at ``text[start] == "["`` and the index after it; None if unclosed."""
    index = start + 1
    negate = index < len(text) and text[index] in "!^"
    index += negate
    chars: set[str] = set()
    ranges: list[tuple[str, str]] = []
    classes: list[str] = []
    first = True
    while index < len(text):
        char = text[index]
        if char == "]" and not first:
            return CharSet(frozenset(chars), tuple(ranges), tuple(classes), negate), index + 1
        first = False
        if text.startswith("[:", index):
            end = text.find(":]", index + 2)
            if end > 0 and text[index + 2 : end] in _CLASSES:
                classes.append(text[index + 2 : end])
                index = end + 2
                continue
        if index + 2 < len(text) and text[index + 1] == "-" and text[index + 2] != "]":
            ranges.append((char, text[index + 2]))
            index += 3
            continue
        chars.add(char)
        index += 1
    return None


def tokens(segments: Iterable[tuple[str, bool]]) -> tuple[Token, ...]:
    """The tokens of a pattern given as (text, quoted) pieces: quoted text matches itself."""
    out: list[Token] = []
    for text, quoted in segments:
        if quoted:
            out.extend(("lit", char) for char in text)
            continue
        index = 0
        while index < len(text):
            char = text[index]
            if char == "*":
                if not out or out[-1][0] != "star":
                    out.append(("star", ""))
            elif char == "?":
                out.append(("any", ""))
            elif char == "[" and (found := _bracket(text, index)) is not None:
                out.append(("set", found[0]))
                index = found[1]
                continue
            else:
                out.append(("lit", char))
            index += 1
    return tuple(out)


def has_wildcards(segments: Iterable[tuple[str, bool]]) -> bool:
    return any(kind != "lit" for kind, _ in tokens(segments))


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled pattern; in a ``path`` ``*`` and ``?`` do not match ``/``."""

    tokens: tuple[Token, ...]
    path: bool = False

    def reversed(self) -> Pattern:
        return Pattern(self.tokens[::-1], self.path)

    def _closure(self, states: set[int]) -> set[int]:
        stack = list(states)
        while stack:
            state = stack.pop()
            if state < len(self.tokens) and self.tokens[state][0] == "star" and state + 1 not in states:
                states.add(state + 1)
                stack.append(state + 1)
        return states

    def _step(self, state: int, char: str) -> int | None:
        kind, value = self.tokens[state]
        if kind == "lit":
            return state + 1 if value == char else None
        if self.path and char == "/":
            return None
        if kind == "star":
            return state
        if kind == "any" or (isinstance(value, CharSet) and char in value):
            return state + 1
        return None

    def ends(self, text: str, start: int, budget: Budget) -> list[int]:
        """Every ``end`` where the pattern matches ``text[start:end]``, in increasing order."""
        final = len(self.tokens)
        states = self._closure({0})
        found = [start] if final in states else []
        for index in range(start, len(text)):
            budget.tick(len(states))
            following = {self._step(state, text[index]) for state in states if state < final}
            following.discard(None)
            states = self._closure({state for state in following if state is not None})
            if not states:
                break
            if final in states:
                found.append(index + 1)
        return found

    def fullmatch(self, text: str, budget: Budget) -> bool:
        ends = self.ends(text, 0, budget)
        return bool(ends) and ends[-1] == len(text)


def compile_pattern(segments: Iterable[tuple[str, bool]], path: bool = False) -> Pattern:
    return Pattern(tokens(segments), path)


def remove_prefix(value: str, pattern: Pattern, longest: bool, budget: Budget) -> str:
    """``${value#pattern}`` (shortest) or ``${value##pattern}`` (longest)."""
    ends = pattern.ends(value, 0, budget)
    if not ends:
        return value
    return value[(ends[-1] if longest else ends[0]) :]


def remove_suffix(value: str, pattern: Pattern, longest: bool, budget: Budget) -> str:
    """``${value%pattern}`` (shortest) or ``${value%%pattern}`` (longest): a prefix match, reversed."""
    ends = pattern.reversed().ends(value[::-1], 0, budget)
    if not ends:
        return value
    return value[: len(value) - (ends[-1] if longest else ends[0])]


def replace(value: str, pattern: Pattern, new: str, mode: str, budget: Budget) -> str:
    """``${value/pattern/new}``; ``mode`` is ``/`` (every match), ``#`` (at the start), ``%`` (at the end)
    or empty (the first match). Each match is the longest one at its position, as in bash."""
    if mode == "#":
        ends = pattern.ends(value, 0, budget)
        return new + value[ends[-1] :] if ends else value
    if mode == "%":
        ends = pattern.reversed().ends(value[::-1], 0, budget)
        return value[: len(value) - ends[-1]] + new if ends else value
    # a pattern opening with * that fails at one position fails at every later one
    floating = bool(pattern.tokens) and pattern.tokens[0][0] == "star" and not pattern.path
    out: list[str] = []
    size = 0
    index = 0
    while index < len(value):
        ends = pattern.ends(value, index, budget)
        if ends and ends[-1] > index:
            out.append(new)
            size += len(new)
            budget.room(size + len(value) - ends[-1])
            index = ends[-1]
            if mode != "/":
                break
            continue
        if floating:
            break
        out.append(value[index])
        index += 1
    out.append(value[index:])
    return "".join(out)
