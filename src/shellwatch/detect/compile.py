"""Sigma rules compiled into matchers over flat ECS events.

Two steps, so that the expensive one can be cached on disk:

1. :func:`compile_rule` walks pySigma's condition tree of a (pipeline-processed) rule, where every
   modifier has already been applied to typed values (``SigmaString`` with wildcards,
   ``SigmaRegularExpression``, ``SigmaCIDRExpression``, ``SigmaCompareExpression``, ``SigmaExpansion``
   for ``windash`` and ``base64offset`` ...), and produces the picklable tree of :mod:`._ir` nodes.
2. :func:`build_matcher` turns that tree into closures over an :class:`~._view.EventView`, compiling the
   few regular expressions once, at build time.

Semantics decided here (the Sigma specification leaves them to implementations):

* strings match case-insensitively unless ``|cased``; ``|re`` is case-sensitive unless ``|i``, and is a
  search (unanchored) over the original text;
* a list value in the event matches when any element matches (``|all`` needs each value matched by
  some element, not necessarily the same one);
* numbers match numbers and numeric text (``EventID: 4688`` matches ``4688`` and ``"4688"``);
* ``field: null`` matches an absent field, ``None`` or an empty list, not an empty string;
* ``field: '*'`` matches any present value, including the empty string;
* keywords (values without a field) are substring searches over every value of the event but the
  provenance and categorization fields shellwatch adds (``_view.KEYWORD_SKIP``), as in full-text
  search: ``keywords: ['whoami']`` behaves like ``'*whoami*'``;
* ``|expand`` placeholders that the processing pipeline left unresolved make the rule a load error (a
  wildcard would silently turn ``not ComputerName|expand: '%admin_hosts%'`` into "never");
* Sigma query expressions (backend specific) are a load error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
    TimestampPart,
)

from shellwatch.detect._ir import (
    WILDCARD_MULTI,
    WILDCARD_SINGLE,
    And,
    AnyValue,
    BoolTest,
    CidrTest,
    CompareOp,
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
    StrKind,
    StrTest,
    TimePart,
    TimePartTest,
)
from shellwatch.detect._matchers import Matcher, build_matcher
from shellwatch.detect.model import RuleMeta
from shellwatch.errors import ShellwatchError

__all__ = ["CompiledRule", "Matcher", "RuleCompileError", "build_matcher", "compile_rule", "to_ir"]

IR_VERSION = 1
"""Bumped whenever the IR or its meaning changes, so that cached rule sets are rebuilt."""


class RuleCompileError(ShellwatchError):
    """A rule's detection uses something the compiler cannot run; the message says what."""


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready to be matched: its metadata and its condition as IR."""

    meta: RuleMeta
    condition: Node
    output: bool = True
    """False when the rule only feeds a correlation (``generate: false``) and raises no alert itself."""
    name: str | None = None
    """The Sigma ``name`` of the rule, by which correlations may refer to it."""


_COMPARE_OPS: dict[CompareOperators, CompareOp] = {
    CompareOperators.LT: "lt",
    CompareOperators.LTE: "lte",
    CompareOperators.GT: "gt",
    CompareOperators.GTE: "gte",
    CompareOperators.NEQ: "neq",
}
_TIME_PARTS: dict[TimestampPart, TimePart] = {
    TimestampPart.MINUTE: "minute",
    TimestampPart.HOUR: "hour",
    TimestampPart.DAY: "day",
    TimestampPart.WEEK: "week",
    TimestampPart.MONTH: "month",
    TimestampPart.YEAR: "year",
}
_REGEX_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
    SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
    SigmaRegularExpressionFlag.DOTALL: re.DOTALL,
}

_T = TypeVar("_T")
_ConditionTree = ConditionItem | ConditionFieldEqualsValueExpression | ConditionValueExpression | None


def compile_rule(rule: SigmaRule, meta: RuleMeta) -> CompiledRule:
    """The compiled form of ``rule``; raises :class:`RuleCompileError` when it cannot run."""
    return CompiledRule(meta, to_ir(rule), output=rule._output, name=rule.name)


def to_ir(rule: SigmaRule) -> Node:
    """The IR of the rule's condition (several conditions are alternatives)."""
    try:
        trees = [condition.parsed for condition in rule.detection.parsed_condition]
    except SigmaError as exc:
        raise RuleCompileError(f"condition: {exc.args[0] if exc.args else exc}") from exc
    if not trees:
        raise RuleCompileError("the rule has no condition")
    return simplify(_alternatives([_node(tree) for tree in trees]))


def _node(tree: _ConditionTree) -> Node:
    if isinstance(tree, ConditionAND):
        return And(tuple(_node(arg) for arg in tree.args))
    if isinstance(tree, ConditionOR):
        return _alternatives([_node(arg) for arg in tree.args])
    if isinstance(tree, ConditionNOT):
        return Not(_node(tree.args[0]))
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        return _value(tree.field, tree.value)
    if isinstance(tree, ConditionValueExpression):
        return _value(None, tree.value)
    raise RuleCompileError(f"unsupported condition element {type(tree).__name__}")


def _alternatives(nodes: list[Node]) -> Node:
    return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))


def _value(field: str | None, value: SigmaType) -> Node:
    """The leaf (or small tree, for expansions) testing ``field`` against one Sigma value."""
    if isinstance(value, SigmaExpansion):
        return _alternatives([_value(field, item) for item in value.values])
    if isinstance(value, SigmaString):
        return _string(field, value)
    if isinstance(value, SigmaRegularExpression):
        return _regex(field, value)
    if isinstance(value, SigmaCompareExpression | SigmaNumber):
        return _number(field, value)
    if field is None:
        raise RuleCompileError(f"a {type(value).__name__} value needs a field")
    return _field_value(field, value)


def _field_value(field: str, value: SigmaType) -> Node:
    if isinstance(value, SigmaBool):
        return BoolTest(field, bool(value))
    if isinstance(value, SigmaNull):
        return NullTest(field)
    if isinstance(value, SigmaExists):
        return ExistsTest(field, bool(value))
    if isinstance(value, SigmaCIDRExpression):
        return CidrTest(field, (str(value.network),))
    if isinstance(value, SigmaFieldReference):
        return FieldRefTest(field, value.field, value.starts_with, value.ends_with)
    raise RuleCompileError(f"unsupported value type {type(value).__name__} for field {field}")


def _number(field: str | None, value: SigmaCompareExpression | SigmaNumber) -> Node:
    op: CompareOp = "eq"
    if isinstance(value, SigmaCompareExpression):
        op, value = _COMPARE_OPS[value.op], value.number
    if isinstance(value, SigmaTimestampPart):
        if field is None:
            raise RuleCompileError("a timestamp part modifier needs a field")
        return TimePartTest(field, _TIME_PARTS[value.timestamp_part], op, int(value.number))
    if field is None:
        if op != "eq":
            raise RuleCompileError("a numeric comparison needs a field")
        return StrTest(None, "contains", (str(value.number),))
    return NumTest(field, op, value.number)


def _regex(field: str | None, value: SigmaRegularExpression) -> Node:
    if value.regexp.contains_placeholder():
        raise RuleCompileError(f"unresolved placeholder in regular expression {value.regexp}")
    flags = 0
    for flag in value.flags:
        flags |= _REGEX_FLAGS[flag]
    pattern = str(value.regexp)
    try:
        re.compile(pattern, flags)
    except re.error as exc:
        raise RuleCompileError(f"invalid regular expression {pattern!r}: {exc}") from exc
    return RegexTest(field, pattern, flags)


def _placeholder_names(value: SigmaString) -> list[str]:
    return [f"%{part.name}%" for part in value.s if isinstance(part, Placeholder)]


def _string(field: str | None, value: SigmaString) -> Node:
    """A wildcard pattern as the cheapest test: equals, prefix, suffix, contains, or a glob."""
    if names := _placeholder_names(value):
        raise RuleCompileError(
            f"unresolved placeholder {', '.join(names)} (the processing pipeline defines no value for it)"
        )
    cased = isinstance(value, SigmaCasedString)
    tokens = _tokens(value, cased)
    if field is None:
        tokens = _unanchored(tokens)
    if all(token == WILDCARD_MULTI for token in tokens) and tokens:
        return AnyValue(field)
    return _shape(field, tokens, cased)


def _tokens(value: SigmaString, cased: bool) -> tuple[GlobToken, ...]:
    tokens: list[GlobToken] = []
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            if not tokens or tokens[-1] != WILDCARD_MULTI:
                tokens.append(WILDCARD_MULTI)
        elif part is SpecialChars.WILDCARD_SINGLE:
            tokens.append(WILDCARD_SINGLE)
        elif isinstance(part, str):
            text = part if cased else part.lower()
            if tokens and isinstance(tokens[-1], str):
                tokens[-1] += text
            else:
                tokens.append(text)
    return tuple(tokens)


def _unanchored(tokens: tuple[GlobToken, ...]) -> tuple[GlobToken, ...]:
    if not tokens or tokens[0] != WILDCARD_MULTI:
        tokens = (WILDCARD_MULTI, *tokens)
    if tokens[-1] != WILDCARD_MULTI:
        tokens = (*tokens, WILDCARD_MULTI)
    return tokens


def _shape(field: str | None, tokens: tuple[GlobToken, ...], cased: bool) -> Node:
    if not tokens:
        return StrTest(field, "eq", ("",), cased)
    literals = [token for token in tokens if isinstance(token, str)]
    inner = tokens[1:-1] if len(tokens) > 1 else ()
    starts = tokens[0] == WILDCARD_MULTI
    ends = tokens[-1] == WILDCARD_MULTI
    if len(literals) == 1 and WILDCARD_SINGLE not in tokens and not any(t == WILDCARD_MULTI for t in inner):
        kind: StrKind = "contains" if starts and ends else "suffix" if starts else "prefix" if ends else "eq"
        return StrTest(field, kind, (literals[0],), cased)
    return GlobTest(field, (tokens,), cased)


_MERGEABLE = (StrTest, GlobTest, CidrTest)


def simplify(node: Node) -> Node:
    """Flatten nested AND/OR and merge ORed tests of one field and kind into one multi-pattern test."""
    if isinstance(node, And):
        children = tuple(_flatten(And, [simplify(child) for child in node.children]))
        return children[0] if len(children) == 1 else And(children)
    if isinstance(node, Or):
        merged = _merge(list(_flatten(Or, [simplify(child) for child in node.children])))
        return merged[0] if len(merged) == 1 else Or(tuple(merged))
    if isinstance(node, Not):
        return Not(simplify(node.child))
    return node


def _flatten(kind: type[And] | type[Or], children: list[Node]) -> Iterator[Node]:
    for child in children:
        if isinstance(child, kind):
            yield from child.children
        else:
            yield child


def _merge_key(node: Node) -> tuple[object, ...] | None:
    if isinstance(node, StrTest):
        return (StrTest, node.field, node.kind, node.cased)
    if isinstance(node, GlobTest):
        return (GlobTest, node.field, node.cased)
    if isinstance(node, CidrTest):
        return (CidrTest, node.field)
    return None


def _merge(children: list[Node]) -> list[Node]:
    """ORed siblings merged by :func:`_merge_key`; the first of each group keeps its place."""
    out: list[Node] = []
    slots: dict[tuple[object, ...], int] = {}
    for child in children:
        key = _merge_key(child)
        if key is None:
            out.append(child)
        elif key in slots:
            out[slots[key]] = _join(out[slots[key]], child)
        else:
            slots[key] = len(out)
            out.append(child)
    return out


def _join(first: Node, second: Node) -> Node:
    if isinstance(first, StrTest) and isinstance(second, StrTest):
        return first._replace(patterns=_unique(first.patterns + second.patterns))
    if isinstance(first, GlobTest) and isinstance(second, GlobTest):
        return first._replace(globs=_unique(first.globs + second.globs))
    if isinstance(first, CidrTest) and isinstance(second, CidrTest):
        return first._replace(networks=_unique(first.networks + second.networks))
    raise AssertionError("only tests of one kind are merged")  # pragma: no cover


def _unique(items: tuple[_T, ...]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(items))
