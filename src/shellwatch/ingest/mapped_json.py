"""Any other JSON export (an EDR, a SIEM search), through a field-mapping file the user writes in YAML.

This reader never sniffs: pick it with ``--format mapped_json --mapping FILE``. The mapping format is
documented in ``docs/mapping.md``. The mapping is read and compiled once, when the reader is made: every
target field is checked against :mod:`shellwatch.schema`, and each gets a converter to its schema type, so
reading a record only walks paths and converts values. An invalid mapping raises
:class:`~shellwatch.errors.ConfigError` naming the file and the key.

Input may be NDJSON (one object a line), one JSON array of objects, or one JSON document whose records are
an array at the mapping's ``records`` path (``{"data": [{..}, ..]}``). A record whose value cannot be
converted to its field's type still becomes an event, without that field, and is reported once as an error.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Final

import orjson
import yaml

from shellwatch.errors import ConfigError
from shellwatch.events import Event, Value, clean_text, format_timestamp, timestamp_from_epoch
from shellwatch.ingest.base import (
    Line,
    ReadContext,
    Reader,
    ReaderOptions,
    iter_json_objects,
    iter_lines,
    next_nonblank,
)
from shellwatch.ingest.registry import register
from shellwatch.schema import FIELDS, FieldType, is_known

Converter = Callable[[Any], Value]
_TOP_KEYS: Final = frozenset({"fields", "constants", "unmapped", "records", "description"})
_SPEC_KEYS: Final = frozenset({"path", "paths", "type", "format"})
_UNMAPPED: Final = ("drop", "keep")
RAW_PREFIX: Final = "shellwatch.raw."
_EPOCH_SCALES: Final = {"epoch": 1, "epoch_ms": 1_000, "epoch_us": 1_000_000, "epoch_ns": 1_000_000_000}
_TRUE: Final = frozenset({"true", "1", "yes", "y", "t"})
_FALSE: Final = frozenset({"false", "0", "no", "n", "f"})


class ValueProblem(ValueError):
    """A value that does not fit its field's type."""


# --- converters: one per schema type, chosen when the mapping is compiled -----------------------------


def _keyword(value: Any) -> str:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _keywords(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [_keyword(item) for item in items if item is not None]


def _long(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueProblem(f"{value!r} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text, 16) if text.lower().startswith("0x") else int(text)
        except ValueError:
            pass
    raise ValueProblem(f"{value!r} is not an integer")


def _float(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        raise ValueProblem(f"{value!r} is not a number") from None


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueProblem(f"{value!r} is not a boolean")


def _ip(value: Any) -> str:
    text = str(value).strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueProblem(f"{value!r} is not an IP address") from None


def _date(fmt: str) -> Converter:
    """A converter to ``@timestamp`` text from ``iso``, ``epoch[_ms|_us|_ns]`` or a strptime pattern."""
    if fmt in _EPOCH_SCALES:
        scale = _EPOCH_SCALES[fmt]
        return lambda value: timestamp_from_epoch(_float(value) / scale)
    if fmt == "iso":
        return _iso
    return lambda value: _pattern(value, fmt)


def _iso(value: Any) -> str:
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueProblem(f"{value!r} is not an ISO 8601 time") from None
    return format_timestamp(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _pattern(value: Any, fmt: str) -> str:
    try:
        return format_timestamp(datetime.strptime(str(value).strip(), fmt))
    except ValueError:
        raise ValueProblem(f"{value!r} does not match {fmt!r}") from None


_CONVERTERS: Final[dict[str, Converter]] = {
    FieldType.KEYWORD: _keyword,
    FieldType.TEXT: _keyword,
    FieldType.KEYWORDS: _keywords,
    FieldType.LONG: _long,
    FieldType.FLOAT: _float,
    FieldType.BOOLEAN: _boolean,
    FieldType.IP: _ip,
}
_TYPE_NAMES: Final = {kind.value for kind in FieldType} | {"date"}


# --- the compiled mapping ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldRule:
    target: str
    paths: tuple[tuple[str, ...], ...]
    convert: Converter


@dataclass(frozen=True, slots=True)
class Mapping:
    fields: tuple[FieldRule, ...]
    constants: tuple[tuple[str, Value], ...]
    keep_unmapped: bool
    records: tuple[str, ...] | None
    used_paths: frozenset[str]


class _Compiler:
    """Turns the YAML document into a :class:`Mapping`, raising ConfigError at the first invalid key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key}: {problem}")

    def compile(self, document: Any) -> Mapping:
        if not isinstance(document, dict):
            raise ConfigError(f"{self.path}: the mapping must be a YAML mapping with a 'fields' key")
        unknown = sorted(set(map(str, document)) - _TOP_KEYS)
        if unknown:
            raise self.fail(unknown[0], f"unknown key (allowed: {', '.join(sorted(_TOP_KEYS))})")
        fields = document.get("fields")
        if not isinstance(fields, dict) or not fields:
            raise self.fail("fields", "must map event fields to source paths")
        rules = tuple(self._rule(str(target), spec) for target, spec in fields.items())
        constants = tuple(self._constant(str(k), v) for k, v in (document.get("constants") or {}).items())
        unmapped = document.get("unmapped", "drop")
        if unmapped not in _UNMAPPED:
            raise self.fail("unmapped", f"must be 'keep' or 'drop', not {unmapped!r}")
        records = document.get("records")
        if records is not None and (not isinstance(records, str) or not records):
            raise self.fail("records", "must be a dotted path to the array of records")
        used = frozenset(".".join(path) for rule in rules for path in rule.paths)
        return Mapping(rules, constants, unmapped == "keep", _split(records) if records else None, used)

    def _target(self, key: str, target: str) -> str:
        if not is_known(target):
            raise self.fail(key, f"{target!r} is not a field of the event schema (see docs/schema.md)")
        return target

    def _rule(self, target: str, spec: Any) -> FieldRule:
        key = f"fields.{target}"
        self._target(key, target)
        if isinstance(spec, str):
            spec = {"path": spec}
        elif isinstance(spec, list):
            spec = {"paths": spec}
        if not isinstance(spec, dict):
            raise self.fail(key, "must be a path, a list of paths, or a mapping with 'path'")
        extra = sorted(set(map(str, spec)) - _SPEC_KEYS)
        if extra:
            raise self.fail(f"{key}.{extra[0]}", f"unknown key (allowed: {', '.join(sorted(_SPEC_KEYS))})")
        paths = spec.get("paths", [spec["path"]] if "path" in spec else None)
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):
            raise self.fail(f"{key}.path", "must be a non-empty dotted path or list of paths")
        return FieldRule(target, tuple(_split(p) for p in paths), self._converter(key, target, spec))

    def _converter(self, key: str, target: str, spec: dict[str, Any]) -> Converter:
        kind = spec.get("type", FIELDS[target].type if target in FIELDS else FieldType.KEYWORD)
        if kind not in _TYPE_NAMES:
            raise self.fail(
                f"{key}.type", f"unknown type {kind!r} (allowed: {', '.join(sorted(_TYPE_NAMES))})"
            )
        if kind == FieldType.DATE:
            fmt = spec.get("format", "iso")
            if not isinstance(fmt, str) or (fmt not in _EPOCH_SCALES and fmt != "iso" and "%" not in fmt):
                raise self.fail(
                    f"{key}.format", "must be iso, epoch, epoch_ms, epoch_us, epoch_ns or a strptime pattern"
                )
            return _date(fmt)
        if "format" in spec:
            raise self.fail(f"{key}.format", "only date fields take a format")
        return _CONVERTERS[kind]

    def _constant(self, target: str, value: Any) -> tuple[str, Value]:
        key = f"constants.{target}"
        self._target(key, target)
        field = FIELDS.get(target)
        convert = _CONVERTERS.get(field.type, _keyword) if field else _keyword
        try:
            converted = convert(value)
        except ValueProblem as exc:
            raise self.fail(key, str(exc)) from None
        if field and field.allowed:
            values = converted if isinstance(converted, list) else [converted]
            wrong = [item for item in values if item not in field.allowed]
            if wrong:
                raise self.fail(key, f"{wrong[0]!r} is not allowed (allowed: {', '.join(field.allowed)})")
        return target, converted


def _split(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


@lru_cache(maxsize=16)
def _compiled(path: Path, stamp: tuple[int, int]) -> Mapping:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the mapping: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return _Compiler(path).compile(document)


def load_mapping(path: Path) -> Mapping:
    """The compiled mapping of a YAML file (cached while the file is unchanged)."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the mapping: {exc.strerror or exc}") from None
    return _compiled(path.resolve(), (info.st_mtime_ns, info.st_size))


# --- reading -----------------------------------------------------------------------------------------


def _lookup(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at a dotted path; a key that itself holds dots is found too; list items by index."""
    whole = ".".join(path)
    if whole in record:
        return record[whole]
    node: Any = record
    for part in path:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
        if node is None:
            return None
    return node


def _leaves(node: Any, prefix: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*prefix, str(key)))
    else:
        yield prefix, node


@register
class MappedJsonReader(Reader):
    name = "mapped_json"
    description = (
        "any JSON / NDJSON export through a YAML field mapping (--format mapped_json --mapping FILE)"
    )
    priority = 99

    def __init__(self, options: ReaderOptions | None = None) -> None:
        super().__init__(options)
        if self.options.mapping is None:
            raise ConfigError("the mapped_json reader needs a mapping file (--mapping FILE)")
        self.mapping = load_mapping(self.options.mapping)

    @classmethod
    def sniff(cls, head: bytes, path: str) -> bool:
        return False

    def read(self, stream: BinaryIO, ctx: ReadContext) -> Iterator[Event]:
        lines = iter_lines(stream)
        first = next_nonblank(lines)
        if first is None:
            return
        if self.mapping.records is None and first.data.lstrip().startswith(b"{"):
            try:
                record = orjson.loads(first.data)
            except orjson.JSONDecodeError:
                record = None
            if isinstance(record, dict):
                yield from self._ndjson(first, record, lines, ctx)
                return
        rest = b"\n".join(line.data for line in lines)
        yield from self._document(first.data + b"\n" + rest, first.offset, ctx)

    def _ndjson(
        self, first: Line, record: dict[str, Any], lines: Iterator[Line], ctx: ReadContext
    ) -> Iterator[Event]:
        ctx.record()
        yield self._event(
            record, ctx, first, {"log.offset": first.offset, "shellwatch.log.line": first.number}
        )
        for line, row in iter_json_objects(lines, ctx):
            yield self._event(row, ctx, line, {"log.offset": line.offset, "shellwatch.log.line": line.number})

    def _document(self, data: bytes, offset: int, ctx: ReadContext) -> Iterator[Event]:
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            ctx.record()
            ctx.error(f"not a JSON document: {exc}", offset=offset, raw=data[:200])
            return
        records = _lookup(document, self.mapping.records) if self.mapping.records else document
        if isinstance(records, dict) and self.mapping.records is None:
            records = [records]
        if not isinstance(records, list):
            ctx.record()
            where = ".".join(self.mapping.records or ()) or "the top level"
            ctx.error(f"no array of records at {where}", offset=offset, raw=data[:200])
            return
        for index, record in enumerate(records, start=1):
            ctx.record()
            if not isinstance(record, dict):
                ctx.error(f"record {index} is not a JSON object", raw=orjson.dumps(record)[:200])
                continue
            yield self._event(record, ctx, None, {"shellwatch.log.record": index})

    def _event(self, record: dict[str, Any], ctx: ReadContext, line: Line | None, where: Event) -> Event:
        event: Event = {"event.kind": "event", "event.module": "mapped_json"}
        if self.options.host:
            event["host.name"] = self.options.host
        event.update(self.mapping.constants)
        problems: list[str] = []
        for rule in self.mapping.fields:
            value = next((v for v in (_lookup(record, p) for p in rule.paths) if v is not None), None)
            if value is None:
                continue
            try:
                event[rule.target] = rule.convert(value)
            except ValueProblem as exc:
                problems.append(f"{rule.target}: {exc}")
        if self.mapping.keep_unmapped:
            self._keep(record, event)
        event.update(where)
        if problems:
            number, offset = (line.number, line.offset) if line else (None, None)
            ctx.error("; ".join(problems), line=number, offset=offset, raw=orjson.dumps(record))
        return event

    def _keep(self, record: dict[str, Any], event: Event) -> None:
        used = self.mapping.used_paths
        for path, value in _leaves(record, ()):
            name = ".".join(path)
            if name in used or value is None:
                continue
            key = RAW_PREFIX + name
            if isinstance(value, list) and all(
                isinstance(v, str | int) and not isinstance(v, bool) for v in value
            ):
                event[key] = [clean_text(v) if isinstance(v, str) else v for v in value]
            elif isinstance(value, str | int | float | bool):
                event[key] = clean_text(value) if isinstance(value, str) else value
            else:
                event[key] = _keyword(value)
