"""Sigma rule files read with pySigma; every problem collected as a :class:`RuleError` with file and line.

``load_rules`` takes files and directories (searched recursively for ``*.yml`` and ``*.yaml``, except the
rules' test-event files ``*.tests.yml``), parses each
YAML document with pySigma's loader (which rejects duplicate keys), and builds :class:`SigmaRule`,
:class:`SigmaCorrelationRule` and :class:`SigmaFilter` objects with ``collect_errors=True``, so one bad
rule never stops the others. pySigma knows the file of an error but not its line; the line is found
afterwards by walking the YAML nodes of the document (the key a message names, such as the unknown
modifier, or else the section the error class is about).

Sigma filters are applied to the rules they name after all files are read (a filter usually lives in a
file of its own), then correlation rules are resolved against every rule loaded, so a correlation may
refer to rules in other files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule
from sigma.rule.base import SigmaYAMLLoader

from shellwatch.detect.model import AlertCategory, LogSource, RuleError, RuleMeta

RULE_SUFFIXES: Final = (".yml", ".yaml")
TESTS_STEM: Final = ".tests"
"""``<rule>.tests.yml`` beside a rule holds its test events; directory walks skip such files."""
_TECHNIQUE = re.compile(r"t\d{4}(?:\.\d{3})?", re.IGNORECASE)
_QUOTED = re.compile(r"'([^']+)'")
_CATEGORIES: Final = frozenset(category.value for category in AlertCategory)
_ERROR_KEYS: Final = {
    "Condition": ("condition",),
    "Detection": ("detection",),
    "Modifier": ("detection",),
    "Value": ("detection",),
    "Type": ("detection",),
    "Regular": ("detection",),
    "Logsource": ("logsource",),
    "Identifier": ("id",),
    "Level": ("level",),
    "Status": ("status",),
    "Title": ("title",),
    "Date": ("date",),
    "Modified": ("modified",),
    "Tag": ("tags",),
    "Related": ("related",),
    "Correlation": ("correlation",),
    "Timespan": ("timespan",),
    "Filter": ("filter",),
}


@dataclass(frozen=True, slots=True)
class LoadedRule:
    """A rule that parsed, with the metadata shellwatch keeps of it."""

    rule: SigmaRule
    meta: RuleMeta


@dataclass(slots=True)
class LoadResult:
    rules: list[LoadedRule] = field(default_factory=list)
    correlations: list[SigmaCorrelationRule] = field(default_factory=list)
    """Correlation rules, references resolved; for :mod:`shellwatch.detect.correlate`."""
    filters: list[SigmaFilter] = field(default_factory=list)
    """Sigma filters found (already applied to the rules they concern)."""
    errors: list[RuleError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def extend(self, other: LoadResult) -> None:
        self.rules.extend(other.rules)
        self.correlations.extend(other.correlations)
        self.filters.extend(other.filters)
        self.errors.extend(other.errors)
        self.files.extend(other.files)


def rule_files(paths: Iterable[Path]) -> tuple[list[Path], list[RuleError]]:
    """The rule files under ``paths`` (directories searched recursively), sorted; missing paths as errors."""
    files: list[Path] = []
    errors: list[RuleError] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if _is_rule_file(p)))
        elif path.is_file():
            files.append(path)
        else:
            errors.append(RuleError(str(path), "no such file or directory"))
    return files, errors


def _is_rule_file(path: Path) -> bool:
    """A ``.yml``/``.yaml`` file that is not the test events of a rule (``<rule>.tests.yml``)."""
    return path.suffix in RULE_SUFFIXES and not path.stem.endswith(TESTS_STEM) and path.is_file()


def load_rules(paths: Iterable[Path]) -> LoadResult:
    """Every rule in ``paths``; a rule that cannot be used is listed in ``errors`` with the reason."""
    files, errors = rule_files(paths)
    result = LoadResult(errors=errors)
    for path in files:
        result.extend(load_file(path))
    _apply_filters(result)
    _resolve_correlations(result)
    return result


def load_file(path: Path) -> LoadResult:
    """The rules, correlations and filters of one file (filters not applied, references not resolved)."""
    result = LoadResult(files=[path])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        result.errors.append(RuleError(str(path), f"cannot read: {exc}"))
        return result
    try:
        documents = list(yaml.load_all(text, Loader=SigmaYAMLLoader))
    except yaml.YAMLError as exc:
        result.errors.append(RuleError(str(path), f"YAML: {_yaml_message(exc)}", _yaml_line(exc)))
        return result
    for index, document in enumerate(_chunks(documents)):
        _load_chunk(path, text, index, document, result)
    return result


def _chunks(documents: list[Any]) -> Iterator[list[Any]]:
    """Documents parsed one by one, unless the file uses the legacy ``action`` collections."""
    if any(isinstance(doc, dict) and "action" in doc for doc in documents):
        yield documents
        return
    for document in documents:
        yield [document]


def _load_chunk(path: Path, text: str, index: int, chunk: list[Any], result: LoadResult) -> None:
    chunk = [document for document in chunk if document is not None]
    if not chunk:
        return
    if not all(isinstance(document, dict) for document in chunk):
        result.errors.append(
            RuleError(str(path), "a rule must be a YAML mapping", _document_line(text, index))
        )
        return
    source = SigmaRuleLocation(path)
    try:
        collection = SigmaCollection.from_dicts(
            chunk, collect_errors=True, source=source, collect_filters=True, resolve_references=False
        )
    except SigmaError as exc:
        result.errors.append(_error(path, text, index, exc))
        return
    result.errors.extend(_error(path, text, index, problem) for problem in collection.errors)
    for rule in collection.rules:
        _take(path, text, index, rule, result)
    result.filters.extend(item for item in collection.filters if not item.errors)
    for item in collection.filters:
        result.errors.extend(_error(path, text, index, exc, item.title) for exc in item.errors)


def _take(
    path: Path, text: str, index: int, rule: SigmaRule | SigmaCorrelationRule, result: LoadResult
) -> None:
    if rule.errors:
        rule_id = str(rule.id) if rule.id else None
        result.errors.extend(_error(path, text, index, exc, rule.title, rule_id) for exc in rule.errors)
        return
    if isinstance(rule, SigmaCorrelationRule):
        result.correlations.append(rule)
        return
    try:
        meta = rule_meta(rule, path, index)
    except ValueError as exc:
        line = next(
            (found for token in _QUOTED.findall(str(exc)) if (found := _find_line(text, index, (), token))),
            _find_line(text, index, ("shellwatch", "shellwatch.category")),
        )
        result.errors.append(
            RuleError(str(path), str(exc), line, str(rule.id) if rule.id else None, rule.title)
        )
        return
    result.rules.append(LoadedRule(rule, meta))


def rule_meta(rule: SigmaRule, path: Path | None = None, index: int = 0) -> RuleMeta:
    """Metadata of a parsed rule; ``ValueError`` when its ``shellwatch.category`` is not a known one."""
    tags = tuple(str(tag) for tag in rule.tags)
    custom = dict(rule.custom_attributes)
    return RuleMeta(
        id=_rule_id(rule, path, index),
        title=rule.title,
        level=str(rule.level) if rule.level is not None else "medium",
        status=str(rule.status) if rule.status is not None else None,
        description=rule.description,
        logsource=LogSource(rule.logsource.category, rule.logsource.product, rule.logsource.service),
        techniques=tuple(
            dict.fromkeys(
                tag.name.upper()
                for tag in rule.tags
                if tag.namespace == "attack" and _TECHNIQUE.fullmatch(tag.name)
            )
        ),
        tags=tags,
        falsepositives=tuple(str(item) for item in rule.falsepositives),
        references=tuple(str(item) for item in rule.references),
        category=_category(custom),
        custom=custom,
        path=str(path) if path is not None else None,
    )


def _rule_id(rule: SigmaRule, path: Path | None, index: int) -> str:
    if rule.id is not None:
        return str(rule.id)
    if rule.name:
        return rule.name
    stem = path.stem if path is not None else "rule"
    return f"{stem}#{index}" if index else stem


def _category(custom: dict[str, Any]) -> str | None:
    value = custom.get("shellwatch.category")
    section = custom.get("shellwatch")
    if value is None and isinstance(section, dict):
        value = section.get("category")
    if value is None:
        return None
    if value not in _CATEGORIES:
        raise ValueError(f"shellwatch.category {value!r} is not one of {', '.join(sorted(_CATEGORIES))}")
    return str(value)


def _apply_filters(result: LoadResult) -> None:
    """Each Sigma filter applied to the rules it names; a filter that fails is reported, not applied."""
    for sigma_filter in result.filters:
        for loaded in result.rules:
            try:
                sigma_filter.apply_on_rule(loaded.rule)
            except SigmaError as exc:
                where = sigma_filter.source.path if sigma_filter.source else Path("?")
                result.errors.append(RuleError(str(where), f"filter {sigma_filter.title!r}: {_message(exc)}"))
                break


def _resolve_correlations(result: LoadResult) -> None:
    """Correlation references resolved against all rules loaded; unresolvable ones become errors."""
    if not result.correlations:
        return
    everything: list[SigmaRule | SigmaCorrelationRule] = [loaded.rule for loaded in result.rules]
    everything.extend(result.correlations)
    collection = SigmaCollection(everything, resolve_references=False)  # type: ignore[arg-type]
    resolved: list[SigmaCorrelationRule] = []
    for correlation in result.correlations:
        try:
            correlation.resolve_rule_references(collection)
        except SigmaError as exc:
            where = correlation.source.path if correlation.source else Path("?")
            rule_id = str(correlation.id) if correlation.id else None
            result.errors.append(RuleError(str(where), _message(exc), None, rule_id, correlation.title))
            continue
        resolved.append(correlation)
    result.correlations = resolved


def _message(exc: BaseException) -> str:
    return str(exc.args[0]) if exc.args else type(exc).__name__


def _yaml_message(exc: yaml.YAMLError) -> str:
    return " ".join(str(exc).split())


def _yaml_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return int(mark.line) + 1 if mark is not None else None


def _error(
    path: Path, text: str, index: int, exc: SigmaError, title: str | None = None, rule_id: str | None = None
) -> RuleError:
    message = _message(exc)
    return RuleError(str(path), message, _error_line(text, index, exc, message), rule_id, title)


def _error_line(text: str, index: int, exc: SigmaError, message: str) -> int | None:
    for token in _QUOTED.findall(message):
        line = _find_line(text, index, (), token)
        if line is not None:
            return line
    keys = next((keys for name, keys in _ERROR_KEYS.items() if name in type(exc).__name__), ())
    return _find_line(text, index, keys) or _document_line(text, index)


def _document_node(text: str, index: int) -> yaml.Node | None:
    """The YAML node of document ``index`` (counting empty documents, as the loader does)."""
    try:
        for number, node in enumerate(yaml.compose_all(text, Loader=yaml.CSafeLoader)):
            if number == index:
                return node
    except yaml.YAMLError:
        return None
    return None


def _document_line(text: str, index: int) -> int | None:
    node = _document_node(text, index)
    return int(node.start_mark.line) + 1 if node is not None else None


def _find_line(text: str, index: int, keys: tuple[str, ...], token: str | None = None) -> int | None:
    """Line of the first mapping key among ``keys``, or of a key or value naming ``token``."""
    node = _document_node(text, index)
    if node is None:
        return None
    for key, value in _walk(node):
        name = str(key.value)
        if token is None and name in keys:
            return int(key.start_mark.line) + 1
        if token is not None and (token in name.split("|") or token == name):
            return int(key.start_mark.line) + 1
        if token is not None and isinstance(value, yaml.ScalarNode) and value.value == token:
            return int(value.start_mark.line) + 1
    return None


def _walk(node: yaml.Node) -> Iterator[tuple[yaml.Node, yaml.Node]]:
    """(key, value) pairs of every mapping in ``node``, depth first, in document order."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key, value
            yield from _walk(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _walk(item)


def line_of(path: str | Path, keys: tuple[str, ...], index: int = 0) -> int | None:
    """Line of the first of ``keys`` in document ``index`` of a rule file (for errors found later)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return _find_line(text, index, keys)
