"""A Sigma correlation rule compiled into the plain data the correlator runs: :class:`Correlation`.

pySigma parses the YAML (:class:`SigmaCorrelationRule`); this module turns each one into a frozen spec with
its references resolved to rule ids, its group-by fields resolved per referenced rule (aliases applied), its
timespan in microseconds and its condition as a :class:`Condition` that the windows evaluate.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from sigma.correlations import SigmaCorrelationCondition, SigmaCorrelationRule
from sigma.rule.base import SigmaRuleBase

from shellwatch.detect.model import AlertCategory, RuleMeta
from shellwatch.errors import ConfigError

MICROS: Final = 1_000_000
_TECHNIQUE: Final = re.compile(r"t\d{4}(?:\.\d{3})?", re.IGNORECASE)
_CATEGORIES: Final = frozenset(category.value for category in AlertCategory)


class CorrelationError(ConfigError):
    """A correlation rule cannot run: an unknown reference, an unsupported type or condition, a cycle."""


class CorrelationType(StrEnum):
    EVENT_COUNT = "event_count"
    VALUE_COUNT = "value_count"
    TEMPORAL = "temporal"
    TEMPORAL_ORDERED = "temporal_ordered"


class Op(StrEnum):
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    EQ = "eq"
    NEQ = "neq"


_COMPARE: Final[dict[Op, Callable[[float, float], bool]]] = {
    Op.GT: operator.gt,
    Op.GTE: operator.ge,
    Op.LT: operator.lt,
    Op.LTE: operator.le,
    Op.EQ: operator.eq,
    Op.NEQ: operator.ne,
}


@dataclass(frozen=True, slots=True)
class Condition:
    """All of ``terms`` must hold: one term (``gte: 10``) or a range (``gte: 5`` and ``lte: 10``)."""

    terms: tuple[tuple[Op, float], ...]

    def holds(self, value: float) -> bool:
        return all(_COMPARE[op](value, bound) for op, bound in self.terms)

    @property
    def monotone(self) -> bool:
        """Only lower bounds: once true it stays true as events arrive, so it is checked on each event.

        Any other condition (``lt``, ``lte``, ``eq``, ``neq``, a range) is checked when the window closes.
        """
        return all(op in (Op.GT, Op.GTE) for op, _ in self.terms)

    @classmethod
    def from_mapping(cls, spec: Mapping[str, Any]) -> Condition:
        """``{"gte": 10}`` or ``{"gt": 2, "lte": 9}`` (``field`` and other keys are ignored here)."""
        terms = tuple(
            (Op(key), float(value)) for key, value in spec.items() if key in Op.__members__.values()
        )
        if not terms:
            raise CorrelationError(f"correlation condition {dict(spec)!r} has no operator")
        return cls(terms)


@dataclass(frozen=True, slots=True)
class Correlation:
    """One correlation rule, ready to run."""

    meta: RuleMeta
    type: CorrelationType
    rule_ids: tuple[str, ...]
    """Ids of the referenced rules (base rules or other correlations), in the listed order."""
    timespan: int
    """Microseconds."""
    group_by: tuple[str, ...]
    """Group-by names as written (field names or alias names)."""
    group_fields: Mapping[str, tuple[str, ...]]
    """Per referenced rule id: the event field of each group-by name (aliases resolved)."""
    aliases: frozenset[str]
    condition: Condition
    value_field: str | None = None
    generate: bool = False
    positions: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    """Per referenced rule id: its positions in ``rule_ids`` (for ``temporal_ordered``)."""


ReferenceResolver = Callable[[str], str | None]
"""A reference (rule id or name) → the rule id, or ``None`` when unknown."""


def correlation_meta(rule: SigmaRuleBase) -> RuleMeta:
    """The :class:`RuleMeta` of a correlation rule (its id, or its name when it has no id)."""
    custom = dict(rule.custom_attributes)
    return RuleMeta(
        id=str(rule.id) if rule.id is not None else (rule.name or rule.title),
        title=rule.title,
        level=str(rule.level) if rule.level is not None else "medium",
        status=str(rule.status) if rule.status is not None else None,
        description=rule.description,
        techniques=_techniques(rule),
        tags=tuple(str(tag) for tag in rule.tags),
        falsepositives=tuple(str(item) for item in rule.falsepositives),
        references=tuple(str(item) for item in rule.references),
        category=_category(custom),
        custom=custom,
        path=str(rule.source.path) if rule.source is not None and rule.source.path else None,
    )


def _techniques(rule: SigmaRuleBase) -> tuple[str, ...]:
    names = (
        tag.name.upper() for tag in rule.tags if tag.namespace == "attack" and _TECHNIQUE.fullmatch(tag.name)
    )
    return tuple(dict.fromkeys(names))


def _category(custom: Mapping[str, Any]) -> str | None:
    section = custom.get("shellwatch")
    value = section.get("category") if isinstance(section, Mapping) else custom.get("shellwatch.category")
    if value is None:
        return None
    if value not in _CATEGORIES:
        raise CorrelationError(
            f"shellwatch.category {value!r} is not one of {', '.join(sorted(_CATEGORIES))}"
        )
    return str(value)


def compile_correlation(
    rule: SigmaCorrelationRule,
    resolve: ReferenceResolver,
    field_map: Mapping[str, str] | None = None,
) -> Correlation:
    """``rule`` as a :class:`Correlation`; ``resolve`` turns a reference (id or name) into a rule id."""
    meta = correlation_meta(rule)
    kind = _type(rule, meta)
    references = [ref.reference for ref in rule.rules or ()]
    rule_ids = tuple(_resolved(resolve, ref, meta) for ref in references)
    if not rule_ids:
        raise CorrelationError(f"correlation {meta.title!r} refers to no rule")
    fmap = field_map or {}
    group_by = tuple(rule.group_by or ())
    alias_map = _aliases(rule, resolve, meta, fmap)
    group_fields = {
        rule_id: tuple(alias_map.get(name, {}).get(rule_id, fmap.get(name, name)) for name in group_by)
        for rule_id in rule_ids
    }
    condition, value_field = _condition(rule, meta, kind)
    if kind is CorrelationType.TEMPORAL_ORDERED and not condition.monotone:
        raise CorrelationError(f"correlation {meta.title!r}: temporal_ordered needs a gt/gte condition")
    return Correlation(
        meta=meta,
        type=kind,
        rule_ids=rule_ids,
        timespan=rule.timespan.seconds * MICROS,
        group_by=group_by,
        group_fields=group_fields,
        aliases=frozenset(alias_map),
        condition=condition,
        value_field=fmap.get(value_field, value_field) if value_field else None,
        generate=bool(rule.generate),
        positions=_positions(rule_ids),
    )


def _type(rule: SigmaCorrelationRule, meta: RuleMeta) -> CorrelationType:
    try:
        return CorrelationType(rule.type.name.lower())
    except ValueError:
        raise CorrelationError(
            f"correlation {meta.title!r}: type {rule.type.name.lower()} is not supported"
        ) from None


def _resolved(resolve: ReferenceResolver, reference: str, meta: RuleMeta) -> str:
    rule_id = resolve(reference)
    if rule_id is None:
        raise CorrelationError(f"correlation {meta.title!r} refers to unknown rule {reference!r}")
    return rule_id


def _aliases(
    rule: SigmaCorrelationRule, resolve: ReferenceResolver, meta: RuleMeta, fmap: Mapping[str, str]
) -> dict[str, dict[str, str]]:
    """Alias name → (rule id → event field)."""
    return {
        alias.alias: {
            _resolved(resolve, ref.reference, meta): fmap.get(name, name)
            for ref, name in alias.mapping.items()
        }
        for alias in rule.aliases
    }


def _condition(
    rule: SigmaCorrelationRule, meta: RuleMeta, kind: CorrelationType
) -> tuple[Condition, str | None]:
    condition = rule.condition
    if not isinstance(condition, SigmaCorrelationCondition):
        raise CorrelationError(f"correlation {meta.title!r}: extended (boolean) conditions are not supported")
    fieldref = condition.fieldref
    if isinstance(fieldref, list):
        if len(fieldref) != 1:
            raise CorrelationError(
                f"correlation {meta.title!r}: value_count over several fields is not supported"
            )
        fieldref = fieldref[0]
    if kind is CorrelationType.VALUE_COUNT and not fieldref:
        raise CorrelationError(f"correlation {meta.title!r}: value_count without a field")
    return Condition(((Op(condition.op.name.lower()), float(condition.count)),)), fieldref


def _positions(rule_ids: Iterable[str]) -> dict[str, tuple[int, ...]]:
    positions: dict[str, list[int]] = {}
    for index, rule_id in enumerate(rule_ids):
        positions.setdefault(rule_id, []).append(index)
    return {rule_id: tuple(indices) for rule_id, indices in positions.items()}
