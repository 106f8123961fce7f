"""IR nodes turned into closures over an :class:`~._view.EventView`.

Each leaf reads one field's lower-cased text from the view (computed once per event and shared by every
rule) and applies a test built once here: ``str`` methods and ``frozenset`` membership for plain
patterns (an Aho-Corasick automaton for many ``contains`` patterns), one compiled regular expression for
wildcard-in-the-middle patterns and for ``|re``.
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Final

import ahocorasick

from shellwatch.detect._ir import (
    WILDCARD_MULTI,
    WILDCARD_SINGLE,
    And,
    AnyValue,
    BoolTest,
    CidrTest,
    CompareOp,
    Const,
    ExistsTest,
    FieldRefTest,
    GlobTest,
    GlobToken,
    Node,
    Not,
    NullTest,
    NumTest,
    Or,
    RegexTest,
    StrTest,
    TimePartTest,
)
from shellwatch.detect._view import EventView, Text, raw_text

Matcher = Callable[[EventView], bool]
TextTest = Callable[[str], object]

_CONTAINS_LOOP_MAX: Final = 3
"""Up to this many ``contains`` patterns are tried one by one; more go into one Aho-Corasick automaton."""

_CIDR_CACHE_MAX: Final = 4096
"""Addresses remembered per CIDR test before its cache is cleared."""
_DECIMAL: Final = re.compile(r"\s*[+-]?\d+(?:\.\d*)?\s*")
"""Numeric text: plain decimals only (no exponent, no ``_``), which the prefilter relies on."""
_NULL_TEXTS: Final = (None, ())
_COMPARE: Final[dict[CompareOp, Callable[[float, float], bool]]] = {
    "eq": operator.eq,
    "neq": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


def build_matcher(node: Node) -> Matcher:
    """The closure that evaluates ``node`` on an event view."""
    if isinstance(node, And):
        return _all_of([build_matcher(child) for child in node.children])
    if isinstance(node, Or):
        return _any_of([build_matcher(child) for child in node.children])
    if isinstance(node, Not):
        inner = build_matcher(node.child)
        return lambda view: not inner(view)
    if isinstance(node, Const):
        value = node.value
        return lambda view: value
    return _leaf(node)


def _all_of(parts: list[Matcher]) -> Matcher:
    if len(parts) == 2:
        first, second = parts
        return lambda view: first(view) and second(view)
    return lambda view: all(part(view) for part in parts)


def _any_of(parts: list[Matcher]) -> Matcher:
    if len(parts) == 2:
        first, second = parts
        return lambda view: first(view) or second(view)
    return lambda view: any(part(view) for part in parts)


def _leaf(node: Node) -> Matcher:
    if isinstance(node, StrTest):
        return _on_text(node.field, _string_test(node), cased=node.cased)
    if isinstance(node, GlobTest):
        return _on_text(node.field, _glob_test(node), cased=node.cased)
    if isinstance(node, AnyValue):
        field = node.field
        return lambda view: view[field] is not None
    if isinstance(node, RegexTest):
        return _on_text(node.field, re.compile(node.pattern, node.flags).search, cased=True)
    if isinstance(node, CidrTest):
        return _on_text(node.field, _cidr_test(node.networks), cased=True)
    if isinstance(node, NumTest):
        return _number_matcher(node)
    if isinstance(node, BoolTest):
        return _on_text(node.field, ("true" if node.value else "false").__eq__, cased=False)
    if isinstance(node, NullTest):
        field = node.field
        return lambda view: view[field] in _NULL_TEXTS
    if isinstance(node, ExistsTest):
        return _exists_matcher(node)
    if isinstance(node, FieldRefTest):
        return _fieldref_matcher(node)
    if isinstance(node, TimePartTest):
        return _timepart_matcher(node)
    raise TypeError(f"not an IR node: {node!r}")


def _on_text(field: str | None, test: TextTest, *, cased: bool) -> Matcher:
    """A matcher applying ``test`` to the field's text, or to each element of a list value."""

    def lowered(view: EventView) -> bool:
        return _any_text(view[field], test)

    def original(view: EventView) -> bool:
        return _any_text(view.raw(field), test)

    return original if cased else lowered


def _any_text(text: Text, test: TextTest) -> bool:
    if text is None:
        return False
    if text.__class__ is str:
        return bool(test(text))
    return any(test(item) for item in text)


def _string_test(node: StrTest) -> TextTest:
    patterns = node.patterns
    if node.kind == "eq":
        return patterns[0].__eq__ if len(patterns) == 1 else frozenset(patterns).__contains__
    if node.kind == "prefix":
        return operator.methodcaller("startswith", patterns)
    if node.kind == "suffix":
        return operator.methodcaller("endswith", patterns)
    if len(patterns) == 1:
        return operator.methodcaller("__contains__", patterns[0])
    if len(patterns) <= _CONTAINS_LOOP_MAX:
        return lambda text: any(pattern in text for pattern in patterns)
    if "" in patterns:
        return lambda text: True
    return _contains_any(patterns)


def _contains_any(patterns: tuple[str, ...]) -> TextTest:
    """Whether any of many patterns occurs: one Aho-Corasick pass (an alternation tries each pattern)."""
    automaton = ahocorasick.Automaton()
    for pattern in patterns:
        automaton.add_word(pattern, None)
    automaton.make_automaton()
    search = automaton.iter
    return lambda text: next(search(text), None) is not None


def glob_regex(tokens: tuple[GlobToken, ...]) -> str:
    """Regular-expression source (for ``fullmatch``) of one wildcard pattern."""
    out: list[str] = []
    for token in tokens:
        if token == WILDCARD_MULTI:
            out.append(".*")
        elif token == WILDCARD_SINGLE:
            out.append(".")
        else:
            out.append(re.escape(str(token)))
    return "".join(out)


def _glob_test(node: GlobTest) -> TextTest:
    source = "|".join(f"(?:{glob_regex(tokens)})" for tokens in node.globs)
    return re.compile(source, re.DOTALL).fullmatch


@lru_cache(maxsize=8192)
def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _cidr_test(networks: tuple[str, ...]) -> TextTest:
    parsed = [ipaddress.ip_network(network) for network in networks]
    seen: dict[str, bool] = {}  # addresses repeat (one per host or peer): each is tested once

    def test(text: str) -> bool:
        found = seen.get(text)
        if found is None:
            address = _ip(text)
            found = address is not None and any(
                address.version == net.version and address in net for net in parsed
            )
            if len(seen) >= _CIDR_CACHE_MAX:
                seen.clear()
            seen[text] = found
        return found

    return test


def as_number(value: object) -> float | None:
    """The number an event value stands for: ints and floats as they are, numeric text parsed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return float(value)
    return None


def _number_matcher(node: NumTest) -> Matcher:
    compare, number, field = _COMPARE[node.op], node.number, node.field

    exact = str(number) if node.op == "eq" else None

    def test(value: object) -> bool:
        if exact is not None and value == exact:
            return True
        found = as_number(value)
        return found is not None and compare(found, number)

    def matcher(view: EventView) -> bool:
        value = view.event.get(field) if field is not None else None
        if isinstance(value, list):
            return any(test(item) for item in value)
        return test(value)

    return matcher


def _exists_matcher(node: ExistsTest) -> Matcher:
    field, wanted = node.field, node.exists
    return lambda view: (view.event.get(field) is not None) is wanted


def _fieldref_matcher(node: FieldRefTest) -> Matcher:
    field, other = node.field, node.other
    relation = _fieldref_relation(node.starts_with, node.ends_with)

    def matcher(view: EventView) -> bool:
        mine, theirs = _texts(view[field]), _texts(view[other])
        return any(relation(left, right) for left in mine for right in theirs)

    return matcher


def _fieldref_relation(starts: bool, ends: bool) -> Callable[[str, str], bool]:
    if starts and ends:
        return lambda left, right: right in left
    if starts:
        return str.startswith
    if ends:
        return str.endswith
    return operator.eq


def _texts(text: Text) -> tuple[str, ...]:
    if text is None:
        return ()
    return (text,) if isinstance(text, str) else text


def _timepart_matcher(node: TimePartTest) -> Matcher:
    compare, number, part, field = _COMPARE[node.op], node.number, node.part, node.field

    def matcher(view: EventView) -> bool:
        for text in _texts(raw_text(view.event.get(field))):
            moment = _timestamp(text)
            if moment is not None and compare(_time_part(moment, part), number):
                return True
        return False

    return matcher


@lru_cache(maxsize=4096)
def _timestamp(text: str) -> datetime | None:
    number = as_number(text)
    try:
        if number is not None:
            return datetime.fromtimestamp(number, tz=UTC)
        return datetime.fromisoformat(text.strip())
    except (ValueError, OverflowError, OSError):
        return None


def _time_part(moment: datetime, part: str) -> int:
    if part == "week":
        return moment.isocalendar().week
    return int(getattr(moment, part))
