"""The literal prefilter: most rules are skipped without being evaluated.

Each compiled rule gets *clauses* (:func:`required_clauses`): needs that must all hold for the rule to
match, where a *need* is a set of ``(field, literal)`` pairs of which at least one occurs (a literal
occurs in a field when it is a substring of the lower-cased text of the field's value, or of one element
of a list value). For the rules of one group, :class:`Prefilter` indexes the literals **per field**: per
event it looks only at the fields the group's literals belong to, finds which clauses their texts satisfy,
takes the rules whose *primary* clause (the most selective one) is satisfied, and keeps those whose other
clauses are satisfied too. Rules without any clause are always evaluated.

Soundness (the prefilter never drops a rule that would match):

* The need of a leaf is derived from the leaf's own test on its own field. ``eq``, ``prefix``,
  ``suffix`` and ``contains`` tests succeed only if the (lower-cased) pattern is a substring of the
  lower-cased field text; a wildcard pattern (glob) only if each of its literal pieces is, so its longest
  piece is taken. Case-sensitive (``|cased``) patterns give a literal only when they are ASCII, where
  lower-casing maps substrings to substrings. Multi-pattern leaves (ORed values) need one literal per
  pattern: the union.
* ``AND``: the node matches only if every child matches, so every child's clauses are clauses of the
  whole (:func:`required_literals`, the single-need form, takes the most selective child).
* ``OR``: the node matches only if some child matches. With clauses ``A1..An`` for one child and
  ``B1..Bm`` for the other, ``(A1 and .. An) or (B1 and .. Bm)`` implies every ``Ai or Bj``: the clauses
  of an OR are the unions of one clause per child (at most :data:`_CLAUSE_CAP` of them; beyond, the union
  of each child's best clause). A child without clauses leaves the OR without any.
* Numeric equality with an integer N matches an int or float equal to N (whose text contains the digits
  of ``abs(N)``) or decimal text (``_matchers.as_number`` accepts nothing else: no exponent, no ``_``),
  whose integer part is N with optional sign and leading zeros: the digits of ``abs(N)`` are in it
  (for ``abs(N) < 10**15``, below which ``str`` of a float never uses an exponent).
* A regular expression matches only where its top-level sequence of plain characters occurs in the
  original text; for ASCII characters the lower-cased text then contains them lower-cased. Under
  IGNORECASE a plain ``i``, ``k`` or ``s`` may match a non-ASCII letter that lower-cases to something
  else, so those break the run (:func:`regex_literal`).
* Keyword searches test every value of the event but those of ``KEYWORD_SKIP`` (the screen reads
  those too, which only adds candidates): their literals belong to the pseudo-field
  :data:`KEYWORDS` and are looked for in every value (:class:`_KeywordIndex`).
* ``NOT`` and every other leaf (comparisons, CIDR, null, exists, field references) give no clause.
* Dropping clauses only adds candidates: a rule's non-primary clauses that involve keywords are not
  checked, so that the all-values keyword search runs only for groups with a keyword primary clause.
* Per field, the clauses a text satisfies are a function of the text alone, so they are cached per
  distinct text (bounded caches, cleared when full). Each text of a field is searched on its own, so a
  literal never matches across two fields or two list elements.

A property test (``tests/detect/test_prefilter.py``) checks that results with and without the prefilter
are the same on random events.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import ahocorasick

from shellwatch.detect._ir import And as AndNode
from shellwatch.detect._ir import GlobTest, Node, NumTest, RegexTest, StrTest
from shellwatch.detect._ir import Or as OrNode
from shellwatch.detect._view import KEYWORD_SKIP, _all_texts, lowered_text
from shellwatch.events import Event

Need = frozenset[tuple[str, str]]
"""``(field, literal)`` pairs: a rule can match only when one of the literals occurs in its field."""
Clauses = tuple[Need, ...]
"""Needs that must all hold; ``()`` when nothing is known (the rule is always evaluated)."""
Requirement = Clauses | Need | None
"""What a :class:`Prefilter` accepts per rule: clauses, a single need, or ``None`` (no need)."""
Entry = tuple[frozenset[int], tuple[int, ...]]
"""What one text satisfies: clause ids, and the rules (group indices) whose primary clause is one of them."""

KEYWORDS: Final = "*"
"""The field name of a need that comes from a keyword search (any value of the event)."""
_LENGTH_CAP: Final = 16
_CLAUSE_CAP: Final = 16
"""At most this many clauses from distributing an OR over its children's clauses."""
_NUMBER_LIMIT: Final = 10**15
"""Larger numbers may be written with an exponent by ``str(float)``: no need is derived from them."""
NOTHING: Final[Entry] = (frozenset(), ())
"""The entry of a text that satisfies no clause."""
_CACHE_MAX: Final = 8192
"""Distinct texts remembered per field before the field's cache is cleared."""
_SCREEN_MAX: Final = 16384
"""Texts remembered by a keyword :class:`Screen` (clean ones, and those seen once) before clearing."""
_PLAIN: Final = re.compile(r"[0-9a-f:.,/{}tz+ \n-]*")
"""Numbers, hexadecimal ids, GUIDs, timestamps: the texts unique to each event, screened without a search."""
_CACHE_CHARS: Final = 1 << 22
"""Characters of text remembered per cache (per field, per screen) before it is cleared: bounded memory."""


def required_literals(node: Node) -> Need | None:
    """A single need of ``node`` (see the module docstring), or ``None`` when it has none."""
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


def required_clauses(node: Node) -> Clauses:
    """Needs that must all hold for ``node`` to match (see the module docstring); ``()`` if none."""
    if isinstance(node, AndNode):
        found: dict[Need, None] = {}
        for child in node.children:
            found.update(dict.fromkeys(required_clauses(child)))
        return _minimal(found)
    if isinstance(node, OrNode):
        product: list[Need] = [frozenset()]
        for child in node.children:
            clauses = required_clauses(child)
            if not clauses:
                return ()
            product = [left | right for left in product for right in clauses]
            if len(product) > _CLAUSE_CAP:
                single = required_literals(node)
                return (single,) if single is not None else ()
        return _minimal(dict.fromkeys(product))
    need = required_literals(node)
    return (need,) if need is not None else ()


def _minimal(clauses: Iterable[Need]) -> Clauses:
    """The clauses without those implied by another (a superset of another clause adds nothing)."""
    unique = list(dict.fromkeys(clauses))
    return tuple(c for c in unique if not any(other < c for other in unique))


def as_clauses(requirement: Requirement) -> Clauses:
    """A :data:`Requirement` as clauses: ``None`` is no clause, a single need is one."""
    if requirement is None:
        return ()
    if isinstance(requirement, frozenset):
        return (requirement,)
    return requirement


def _pattern_need(field: str | None, patterns: tuple[str, ...], cased: bool) -> Need | None:
    need: set[tuple[str, str]] = set()
    for pattern in patterns:
        if cased and not pattern.isascii():
            return None
        literal = pattern.lower() if cased else pattern
        if not literal:
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


def _rank(need: Need) -> tuple[bool, int, int]:
    """Primary-clause preference: no keyword search (it reads every value), then :func:`_selectivity`."""
    return not _has_keywords(need), *_selectivity(need)


def _has_keywords(need: Need) -> bool:
    return any(field == KEYWORDS for field, _ in need)


def _automaton(literals: Iterable[str]) -> Any:
    """An Aho-Corasick automaton whose value for each literal is its position in ``literals``."""
    automaton = ahocorasick.Automaton()
    for number, literal in enumerate(literals):
        automaton.add_word(literal, number)
    automaton.make_automaton()
    return automaton


class _FieldIndex(dict[object, Entry]):
    """The literals of one field, as a cache: text of the field → what it satisfies (:data:`Entry`).

    Looking a value up computes its entry on a miss; only ``str`` values are remembered (``1``, ``1.0``
    and ``True`` are equal keys but different texts), at most :data:`_CACHE_MAX` of them.
    """

    __slots__ = ("_automaton", "_chars", "_clauses", "_primary")

    def __init__(
        self, literals: Mapping[str, frozenset[int]], primary: Mapping[int, tuple[int, ...]]
    ) -> None:
        super().__init__()
        self._chars = 0
        self._automaton = _automaton(literals)
        self._clauses: list[frozenset[int]] = list(literals.values())
        self._primary = primary

    def __missing__(self, value: object) -> Entry:
        if not isinstance(value, str):
            text = lowered_text(value)
            return self.search(() if text is None else (text,) if isinstance(text, str) else text)
        entry = self.search((value.lower(),))
        self._chars += len(value)
        if len(self) >= _CACHE_MAX or self._chars > _CACHE_CHARS:
            self.clear()
            self._chars = len(value)
        self[value] = entry
        return entry

    def entry(self, value: object) -> Entry:
        """The entry of any event value, lists included."""
        return self.__missing__(value) if isinstance(value, list) else self[value]

    def search(self, texts: Iterable[str]) -> Entry:
        """The entry of lower-cased ``texts``, each searched on its own."""
        iterate = self._automaton.iter
        numbers = {number for text in texts for _, number in iterate(text)}
        if not numbers:
            return NOTHING
        clauses = frozenset().union(*(self._clauses[number] for number in numbers))
        primary = self._primary
        return clauses, tuple(rule for clause in clauses for rule in primary.get(clause, ()))


class Screen:
    """Whether an event's values may contain one of some keyword literals (see :class:`_KeywordIndex`).

    Shared by the groups of a rule set that search the same literals (``Prefilter(..., screens=...)``).
    """

    __slots__ = ("_automaton", "_chars", "_clean", "_plain")

    def __init__(self, cores: Iterable[str]) -> None:
        cores = list(cores)
        self._automaton = _automaton(cores)
        self._clean: set[str] = set()
        self._chars = 0
        self._plain = None if any(_PLAIN.fullmatch(core) for core in cores) else _PLAIN.fullmatch
        """Texts made only of digits, hex letters and time punctuation contain no core (when true)."""

    def clean(self, event: Event) -> bool:
        """True when no value keyword searches read in ``event`` contains any core (so no literal either)."""
        clean = self._clean
        # Most values were seen before and found clean: one pass in a comprehension finds the others.
        unknown = [key for key, value in event.items() if value.__class__ is not str or value not in clean]
        if not unknown:
            return True
        plain = self._plain
        texts: list[str] = []
        for key in unknown:
            if key in KEYWORD_SKIP:
                continue
            value = event[key]
            kind = value.__class__
            if kind is str:
                texts.append(value)  # type: ignore[arg-type]
            elif kind is list:
                texts.extend(
                    item if item.__class__ is str else format(item)
                    for item in value  # type: ignore[union-attr]
                    if item.__class__ is not str or item not in clean
                )
            elif kind is not int or plain is None:  # an int's text is digits and a sign: plain
                texts.append(format(value))
        if not texts:
            return True
        joined = "\n".join(texts).lower()
        if (plain is None or plain(joined) is None) and next(self._automaton.iter(joined), None) is not None:
            return False
        self._chars += len(joined)
        if len(clean) >= _SCREEN_MAX or self._chars > _CACHE_CHARS:
            clean.clear()
            self._chars = len(joined)
        clean.update(texts)
        return True


class _KeywordIndex:
    """Keyword literals, searched in every value of the event.

    Reading every value is the expensive part, so values are first *screened* (:class:`Screen`):
    ``format(value)`` (the value itself for text, the decimal text for numbers, ``True``/``False``, the
    ``repr`` of a list) is looked up in a set of texts known to contain no literal's *core*
    (:func:`_core`), and only unknown texts are searched, joined into one. A literal occurring in a value's
    lower-cased text (or an element's) puts its core in the lower-cased ``format`` of the value: the core's
    characters are printable ASCII other than the backslash and quotes, which ``repr`` leaves as they are,
    and lower-casing is context free for every character whose lower case is ASCII. When a core shows up,
    every value of the event is searched exactly. Texts made only of digits, hexadecimal letters and the
    punctuation of times and identifiers (:data:`_PLAIN`) need no search when every core has another
    character.
    """

    __slots__ = ("_exact", "_screen")

    def __init__(
        self,
        literals: Mapping[str, frozenset[int]],
        primary: Mapping[int, tuple[int, ...]],
        screens: dict[frozenset[str], Screen],
    ) -> None:
        self._exact = _FieldIndex(literals, primary)
        cores = frozenset(_core(literal) for literal in literals)
        self._screen = None if "" in cores else screens.setdefault(cores, Screen(sorted(cores)))

    def entry(self, event: Event) -> Entry:
        """What the values of ``event`` satisfy."""
        if self._screen is not None and self._screen.clean(event):
            return NOTHING
        return self._exact.search([text.lower() for text in _all_texts(event)])


def _core(literal: str) -> str:
    """The longest run of printable ASCII characters of ``literal`` other than ``\\``, ``'`` and ``"``."""
    return max(re.split(r"[^\x20-\x7e]|[\\'\"]", literal), key=len)


class Prefilter:
    """Candidate rules of a group for an event: per-field literal search, then a check of every clause."""

    __slots__ = ("_field_set", "_indexes", "_keywords", "_rest", "always", "fields", "size")

    def __init__(
        self, requirements: Sequence[Requirement], screens: dict[frozenset[str], Screen] | None = None
    ) -> None:
        self.size = len(requirements)
        clause_ids: dict[Need, int] = {}
        primary: dict[int, list[int]] = {}
        rest: list[frozenset[int] | None] = []
        always: list[int] = []
        for index, requirement in enumerate(requirements):
            clauses = as_clauses(requirement)
            if not clauses:
                always.append(index)
                rest.append(None)
                continue
            first = max(clauses, key=_rank)
            primary.setdefault(clause_ids.setdefault(first, len(clause_ids)), []).append(index)
            others = frozenset(
                clause_ids.setdefault(clause, len(clause_ids))
                for clause in clauses
                if clause != first and not _has_keywords(clause)
            )
            rest.append(others or None)
        self.always: tuple[int, ...] = tuple(always)
        self._rest = rest
        frozen_primary = {clause: tuple(rules) for clause, rules in primary.items()}
        by_field = _literals_by_field(clause_ids)
        keywords = by_field.pop(KEYWORDS, None)
        self.fields: tuple[str, ...] = tuple(by_field)
        self._field_set = frozenset(by_field)
        self._indexes = {field: _FieldIndex(literals, frozen_primary) for field, literals in by_field.items()}
        self._keywords = (
            _KeywordIndex(keywords, frozen_primary, {} if screens is None else screens) if keywords else None
        )

    def candidates(self, event: Event) -> list[int]:
        """Indices (into the group) of the rules worth evaluating on ``event``, ascending."""
        indexes = self._indexes
        entries: list[tuple[frozenset[int], tuple[int, ...]]] = []
        for field in self._field_set.intersection(event):
            value = event[field]
            index = indexes[field]
            entry = index.get(value) if value.__class__ is str else None
            if entry is None:
                entry = index.entry(value)
            if entry is not NOTHING:
                entries.append(entry)
        if self._keywords is not None and (keyword_entry := self._keywords.entry(event)) is not NOTHING:
            entries.append(keyword_entry)
        found = [rule for _, rules in entries for rule in rules]
        if not found:
            return list(self.always)
        hits = frozenset().union(*(clauses for clauses, _ in entries))
        rest = self._rest
        selected = [rule for rule in set(found) if (need := rest[rule]) is None or need <= hits]
        selected.extend(self.always)
        selected.sort()
        return selected


def _literals_by_field(clause_ids: Mapping[Need, int]) -> dict[str, dict[str, frozenset[int]]]:
    """Field → literal → the ids of the clauses in which that literal occurs in that field."""
    by_field: dict[str, dict[str, set[int]]] = {}
    for clause, number in clause_ids.items():
        for field, literal in sorted(clause):
            by_field.setdefault(field, {}).setdefault(literal, set()).add(number)
    return {
        field: {literal: frozenset(ids) for literal, ids in literals.items()}
        for field, literals in by_field.items()
    }
