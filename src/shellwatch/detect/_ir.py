"""The intermediate representation of a compiled rule condition: plain, picklable named tuples.

A rule's condition becomes a tree of these nodes (``compile.to_ir``); the tree is what the rule-set
cache stores on disk, and ``compile.build_matcher`` turns it into closures when the rule is first used.

Leaves test one event field (``field`` is the ECS name after the processing pipeline) or, when
``field`` is ``None``, every value of the event but the provenance and categorization fields that
shellwatch adds (a Sigma keyword search; ``_view.KEYWORD_SKIP``). String tests compare the lower-cased
event text with lower-cased patterns unless ``cased`` is set.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

StrKind = Literal["eq", "prefix", "suffix", "contains"]
CompareOp = Literal["eq", "neq", "lt", "lte", "gt", "gte"]
TimePart = Literal["minute", "hour", "day", "week", "month", "year"]

WILDCARD_MULTI = 0
"""In a :class:`GlobTest` token tuple: ``*``, any run of characters."""
WILDCARD_SINGLE = 1
"""In a :class:`GlobTest` token tuple: ``?``, exactly one character."""

GlobToken = str | int
"""A literal piece of a wildcard pattern, or :data:`WILDCARD_MULTI` / :data:`WILDCARD_SINGLE`."""


class And(NamedTuple):
    children: tuple[Node, ...]


class Or(NamedTuple):
    children: tuple[Node, ...]


class Not(NamedTuple):
    child: Node


class Const(NamedTuple):
    value: bool


class StrTest(NamedTuple):
    """The field's text equals / starts with / ends with / contains any of ``patterns``."""

    field: str | None
    kind: StrKind
    patterns: tuple[str, ...]
    cased: bool = False


class GlobTest(NamedTuple):
    """The whole text matches any of ``globs`` (wildcards in the middle of a pattern)."""

    field: str | None
    globs: tuple[tuple[GlobToken, ...], ...]
    cased: bool = False


class AnyValue(NamedTuple):
    """The field has a value (``field: '*'``)."""

    field: str | None


class RegexTest(NamedTuple):
    """``re.search`` of ``pattern`` (Python ``re`` flags in ``flags``) over the original text."""

    field: str | None
    pattern: str
    flags: int


class CidrTest(NamedTuple):
    field: str
    networks: tuple[str, ...]


class NumTest(NamedTuple):
    """A numeric comparison of the field's value (int, float, or numeric text) with ``number``."""

    field: str | None
    op: CompareOp
    number: int | float


class BoolTest(NamedTuple):
    field: str
    value: bool


class NullTest(NamedTuple):
    """The field is absent, ``None`` or an empty list."""

    field: str


class ExistsTest(NamedTuple):
    field: str
    exists: bool


class FieldRefTest(NamedTuple):
    """The field's text equals (starts with, ends with, contains) the text of field ``other``."""

    field: str
    other: str
    starts_with: bool
    ends_with: bool


class TimePartTest(NamedTuple):
    """A part (hour, day, ...) of the field's timestamp compared with ``number``."""

    field: str
    part: TimePart
    op: CompareOp
    number: int


Leaf = (
    StrTest
    | GlobTest
    | AnyValue
    | RegexTest
    | CidrTest
    | NumTest
    | BoolTest
    | NullTest
    | ExistsTest
    | FieldRefTest
    | TimePartTest
)
Node = And | Or | Not | Const | Leaf

LEAF_TYPES: tuple[type, ...] = (
    StrTest,
    GlobTest,
    AnyValue,
    RegexTest,
    CidrTest,
    NumTest,
    BoolTest,
    NullTest,
    ExistsTest,
    FieldRefTest,
    TimePartTest,
)


def _reduce(node: tuple[object, ...]) -> tuple[object, tuple[object, ...]]:
    """Pickle a node as ``tuple.__new__(cls, fields)``: a C call, ~20 times faster to load than
    the generated ``__new__`` of a named tuple (this is what keeps cached rule sets quick to open)."""
    return tuple.__new__, (type(node), tuple(node))


for _node_type in (And, Or, Not, Const, *LEAF_TYPES):
    setattr(_node_type, "__reduce__", _reduce)  # noqa: B010 - named tuples cannot define it in the body
