"""The literal prefilter: most rules are skipped without being evaluated.

For each compiled rule, :func:`required_literals` derives a *need*: a set of ``(field, literal)`` pairs
such that the rule can only match an event in which at least one of those literals occurs in the
lower-cased text of its field. For a group of rules, :class:`Prefilter` builds one Aho-Corasick automaton
(pyahocorasick) over all their literals. Per event it joins the lower-cased texts of all the event's values
(list values element by element) with :data:`SEPARATOR`, runs the automaton once over that text and
returns the rules whose literals were found, plus the rules without a need (always evaluated).

Soundness (the prefilter never drops a rule that would match):

* The need of a leaf is derived from the leaf's own test on its own field. ``eq``, ``prefix``,
  ``suffix`` and ``contains`` tests succeed only if the (lower-cased) pattern is a substring of the
  lower-cased field text; a wildcard pattern (glob) only if each of its literal pieces is, so its longest
  piece is taken. Case-sensitive (``|cased``) patterns give a literal only when they are ASCII, where
  lower-casing maps substrings to substrings. The leaf's field text is a piece of the haystack, cut off
  from its neighbours by :data:`SEPARATOR`, and a literal containing the separator gives no need, so a
  literal that occurs in the field occurs in the haystack. Multi-pattern leaves (ORed values) need one
  literal per pattern: the union.
* ``OR``: the node matches only if some child matches, so the union of the children's needs is a need,
  provided every child has one (one child without a need leaves the OR without one).
* ``AND``: the node matches only if every child matches, so the need of any one child is a need of the
  whole; the most selective one (longest shortest literal, then fewest literals) is taken.
* Numeric equality with an integer N matches an int or float equal to N (whose text contains the digits
  of ``abs(N)``) or decimal text (``_matchers.as_number`` accepts nothing else: no exponent, no ``_``),
  whose integer part is N with optional sign and leading zeros: the digits of ``abs(N)`` are in it
  (for ``abs(N) < 10**15``, below which ``str`` of a float never uses an exponent).
* A regular expression matches only where its top-level sequence of plain characters occurs in the
  original text; for ASCII characters the lower-cased text then contains them lower-cased. Under
  IGNORECASE a plain ``i``, ``k`` or ``s`` may match a non-ASCII letter that lower-cases to something
  else, so those break the run (:func:`regex_literal`).
* Keyword searches test every value of the event, all of which are in the haystack: their patterns
  give needs as field tests do (field :data:`KEYWORDS`).
* ``NOT`` and every other leaf (comparisons, CIDR, null, exists, field references) give no need:
  such a rule (unless an ANDed sibling gives one) is always evaluated.
* The haystack contains every field, more than the needed ones; that only adds candidates, never
  removes them. It is lower-cased in one call over the joined texts, which equals joining the
  lower-cased texts (see ``EventView.joined``).

A property test (``tests/detect/test_prefilter.py``) checks that results with and without the prefilter
are the same on random events.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

import ahocorasick

from shellwatch.detect._ir import And as AndNode
from shellwatch.detect._ir import GlobTest, Node, NumTest, RegexTest, StrTest
from shellwatch.detect._ir import Or as OrNode
from shellwatch.detect._view import JOIN, EventView

SEPARATOR: Final = JOIN
"""Joins field texts in the haystack; a Unicode non-character that no literal may contain."""

Need = frozenset[tuple[str, str]]
"""``(field, literal)`` pairs: a rule can match only when one of the literals occurs in its field."""

KEYWORDS: Final = "*"
"""The field name of a need that comes from a keyword search (any value of the event)."""
_LENGTH_CAP: Final = 16
_NUMBER_LIMIT: Final = 10**15
"""Larger numbers may be written with an exponent by ``str(float)``: no need is derived from them."""


def required_literals(node: Node) -> Need | None:
    """A need of ``node`` (see the module docstring), or ``None`` when it has none."""
    if isinstance(node, AndNode):
        needs = [need for child in node.children if (need := required_literals(child)) is not None]
        return max(needs, key=_selectivity) if needs else None
    if isinstance(node, OrNode):
        union: set[tuple[str, str]] = set()
        for child in node.children:
            need = required_literals(child)
            if need is None:
                return None
            union |= need
        return frozenset(union)
    if isinstance(node, StrTest):
        return _pattern_need(node.field, node.patterns, node.cased)
    if isinstance(node, NumTest):
        return _number_need(node)
    if isinstance(node, RegexTest):
        literal = regex_literal(node.pattern, node.flags)
        return frozenset({(node.field, literal)}) if literal and node.field is not None else None
    if isinstance(node, GlobTest):
        pieces = [
            max((t for t in tokens if isinstance(t, str)), key=len, default="") for tokens in node.globs
        ]
        return _pattern_need(node.field, tuple(pieces), node.cased)
    return None


def _pattern_need(field: str | None, patterns: tuple[str, ...], cased: bool) -> Need | None:
    need: set[tuple[str, str]] = set()
    for pattern in patterns:
        if cased and not pattern.isascii():
            return None
        literal = pattern.lower() if cased else pattern
        if not literal or SEPARATOR in literal:
            return None
        need.add((field or KEYWORDS, literal))
    return frozenset(need)


_REGEX_PARSER: Any = getattr(re, "_parser")  # noqa: B009 - the sre parser has no public name in 3.11
_UNSAFE_IGNORECASE: Final = frozenset("iks")
"""Letters that ``re.IGNORECASE`` also matches with non-ASCII letters (ı, ſ, K) that do not lower to them."""


def regex_literal(pattern: str, flags: int) -> str | None:
    """The longest run of plain characters every match of ``pattern`` contains, lower-cased.

    Only the top level of the expression is read (a top-level alternation gives nothing); only ASCII
    characters count (their lower case is context free), and under IGNORECASE not ``i``, ``k``, ``s``.
    """
    try:
        parsed = _REGEX_PARSER.parse(pattern, flags)
    except (re.error, RecursionError, OverflowError):
        return None
    ignorecase = bool(parsed.state.flags & re.IGNORECASE)
    best, run = "", []
    for opcode, argument in [*parsed, (None, None)]:
        char = chr(argument) if str(opcode) == "LITERAL" else None
        if char is not None and char.isascii() and not (ignorecase and char.lower() in _UNSAFE_IGNORECASE):
            run.append(char.lower())
            continue
        if len(run) > len(best):
            best = "".join(run)
        run = []
    return best or None


def _number_need(node: NumTest) -> Need | None:
    """``field == N`` for an integer N: the text of every matching value contains the digits of ``abs(N)``."""
    number = node.number
    if node.op != "eq" or node.field is None or isinstance(number, bool) or abs(number) >= _NUMBER_LIMIT:
        return None
    if isinstance(number, float):
        if not number.is_integer():
            return None
        number = int(number)
    return frozenset({(node.field, str(abs(number)))})


def _selectivity(need: Need) -> tuple[int, int]:
    shortest = min(len(literal) for _, literal in need)
    return min(shortest, _LENGTH_CAP), -len(need)


class Prefilter:
    """Candidate rules of a group for an event: one automaton pass over the needed fields' text."""

    __slots__ = ("_automaton", "_by_literal", "always", "fields", "size")

    def __init__(self, needs: Sequence[Need | None]) -> None:
        self.size = len(needs)
        self.always: tuple[int, ...] = tuple(i for i, need in enumerate(needs) if need is None)
        literal_rules: dict[str, list[int]] = {}
        fields: dict[str, None] = {}
        for index, need in enumerate(needs):
            for field, literal in need or ():
                fields[field] = None
                rules = literal_rules.setdefault(literal, [])
                if not rules or rules[-1] != index:
                    rules.append(index)
        self.fields: tuple[str, ...] = tuple(fields)
        self._by_literal: list[tuple[int, ...]] = [tuple(rules) for rules in literal_rules.values()]
        self._automaton: Any = None
        if literal_rules:
            automaton = ahocorasick.Automaton()
            for number, literal in enumerate(literal_rules):
                automaton.add_word(literal, number)
            automaton.make_automaton()
            self._automaton = automaton

    def haystack(self, view: EventView) -> str:
        """The lower-cased texts of every value of the event, joined by :data:`SEPARATOR`.

        Joining all values with one C-level ``join`` and ``lower`` costs less than picking out the
        needed fields one by one; texts of other fields only add candidates.
        """
        return view.joined()

    def candidates(self, view: EventView) -> list[int]:
        """Indices (into the group) of the rules worth evaluating on this event, ascending."""
        if self._automaton is None:
            return list(self.always)
        haystack = self.haystack(view)
        if not haystack:
            return list(self.always)
        by_literal = self._by_literal
        found: set[int] = set(self.always)
        for number in {value for _, value in self._automaton.iter(haystack)}:
            found.update(by_literal[number])
        return sorted(found)
