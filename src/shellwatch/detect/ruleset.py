"""The rule set: rules loaded, mapped, compiled, grouped by log source, prefiltered, and cached on disk.

``RuleSet.build`` runs load → processing pipeline (Sigma field names to ECS, per log source) → compile
→ prefilter clauses, and stores the result (the picklable IR, not closures) in
``$SHELLWATCH_CACHE_DIR`` (default ``~/.cache/shellwatch``) under a key made of the shellwatch version,
the IR version, the pipeline function, the files of the detection package (pipelines and their YAML),
and every rule file's path, modification time, size and content digest. A second start with the same
rules reads that one file. Matchers are built from the IR on a rule's first evaluation, and a group's
Aho-Corasick automaton on the first event routed to it, so start-up costs only the unpickling.

Routing: an event's Sigma log sources come from ``shellwatch.detect.logsource.event_logsources``; a rule
applies when its log source covers one of them. The resolution is cached per combination of the fields
that function decides on (:data:`ROUTE_FIELDS`: module, dataset, code, OS type, action, ECS category and
type), so routing costs one small tuple and one dict lookup per event.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Final

from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

import shellwatch
from shellwatch.detect._view import EventView
from shellwatch.detect.compile import (
    IR_VERSION,
    CompiledRule,
    Matcher,
    RuleCompileError,
    build_matcher,
    compile_rule,
)
from shellwatch.detect.load import LoadResult, line_of, load_rules, rule_files
from shellwatch.detect.model import LogSource, RuleError
from shellwatch.detect.prefilter import Prefilter, Requirement, Screen, required_clauses
from shellwatch.errors import ShellwatchError
from shellwatch.events import Event
from shellwatch.paths import cache_dir

log = logging.getLogger(__name__)

PipelineFn = Callable[[SigmaRule], SigmaRule]
"""Applies the processing pipeline of a rule's log source (``shellwatch.detect.pipelines.apply``)."""
Router = Callable[[Event], tuple[LogSource, ...]]
"""The Sigma log sources an event belongs to (``shellwatch.detect.logsource.event_logsources``)."""

ROUTE_FIELDS: Final = (
    "event.module",
    "event.dataset",
    "event.code",
    "host.os.type",
    "event.action",
    "event.category",
    "event.type",
)
"""What ``event_logsources`` decides on; events equal in these fields go to the same rules."""
_SCALAR_ROUTE_FIELDS: Final = ROUTE_FIELDS[:5]
"""The routing fields before ``event.category`` and ``event.type`` (whose values are usually lists)."""
_CACHE_FORMAT: Final = 2
CACHE_KEEP: Final = 16
"""How many compiled rule sets the cache directory keeps."""
_CODE_FILES: Final = (
    "_ir.py",
    "compile.py",
    "load.py",
    "prefilter.py",
    "ruleset.py",
    "pipelines.py",
    "model.py",
)
"""The modules whose changes alter a cached rule set (with the pipelines' YAML files)."""


def route_key(event: Event) -> tuple[object, ...]:
    """The routing-cache key of ``event``: its :data:`ROUTE_FIELDS` (lists as tuples).

    Syslog-style events (``event.module: system``) are routed by program, so ``process.name`` joins the key.
    """
    key = tuple(_hashable(event.get(name)) for name in ROUTE_FIELDS)
    return (*key, event.get("process.name")) if key[0] == "system" else key


def _hashable(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def identity_pipeline(rule: SigmaRule) -> SigmaRule:
    """No field mapping: rules keep their Sigma field names (for tests)."""
    return rule


def default_pipeline() -> PipelineFn:
    """``shellwatch.detect.pipelines.apply``; the identity while that module is not installed."""
    try:
        from shellwatch.detect.pipelines import apply  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        log.warning("shellwatch.detect.pipelines is not available: Sigma field names are not mapped")
        return identity_pipeline
    return apply  # type: ignore[no-any-return, unused-ignore]


def default_router() -> Router | None:
    """``shellwatch.detect.logsource.event_logsources``; ``None`` (every rule for every event) without it."""
    try:
        from shellwatch.detect.logsource import event_logsources  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        log.warning("shellwatch.detect.logsource is not available: every rule sees every event")
        return None
    return event_logsources  # type: ignore[no-any-return, unused-ignore]


def builtin_rules_dir() -> Path | None:
    """The built-in rule pack shipped in the package, when present."""
    path = Path(str(resources.files("shellwatch") / "rules"))
    return path if path.is_dir() else None


@dataclass(frozen=True, slots=True)
class RuleSetData:
    """Everything a rule set is made of that can be cached: plain data, no closures."""

    rules: tuple[CompiledRule, ...] = ()
    needs: tuple[Requirement, ...] = ()
    """Per rule, the clauses of the literal prefilter (``prefilter.required_clauses``)."""
    errors: tuple[RuleError, ...] = ()
    correlations: tuple[SigmaCorrelationRule, ...] = ()
    files: tuple[str, ...] = ()


@dataclass(slots=True)
class _Bundle:
    """The rules of the log-source groups that one kind of event is routed to, and their prefilter."""

    rules: tuple[int, ...]
    _prefilter: Prefilter | None = None
    needs: tuple[Requirement, ...] = ()
    screens: dict[frozenset[str], Screen] = field(default_factory=dict)
    """Keyword screens, shared by the bundles of one rule set."""

    @property
    def prefilter(self) -> Prefilter:
        if self._prefilter is None:
            self._prefilter = Prefilter(self.needs, self.screens)
        return self._prefilter


@dataclass(slots=True)
class BuildInfo:
    seconds: float = 0.0
    from_cache: bool = False
    cache_path: Path | None = None


class RuleSet:
    """Compiled rules grouped by log source, with routing and prefilter; see the module docstring."""

    def __init__(self, data: RuleSetData | None = None, router: Router | None = None) -> None:
        self.data = data or RuleSetData()
        self.router = router
        self.info = BuildInfo()
        self._matchers: list[Matcher | None] = [None] * len(self.data.rules)
        self._groups: dict[LogSource, tuple[int, ...]] = _group(self.data.rules)
        self._routes: dict[tuple[object, ...], _Bundle] = {}
        self._bundles: dict[tuple[LogSource, ...], _Bundle] = {}
        self._screens: dict[frozenset[str], Screen] = {}

    @property
    def rules(self) -> tuple[CompiledRule, ...]:
        return self.data.rules

    @property
    def errors(self) -> tuple[RuleError, ...]:
        return self.data.errors

    @property
    def correlations(self) -> tuple[SigmaCorrelationRule, ...]:
        return self.data.correlations

    def names(self) -> dict[str, str]:
        """Sigma rule ``name`` → rule id, for correlations that refer to rules by name."""
        return {rule.name: rule.meta.id for rule in self.rules if rule.name}

    def __len__(self) -> int:
        return len(self.data.rules)

    @classmethod
    def build(
        cls,
        paths: Iterable[Path] = (),
        builtin: bool = True,
        pipeline: PipelineFn | None = None,
        router: Router | None = None,
        *,
        use_cache: bool = True,
        cache_directory: Path | None = None,
    ) -> RuleSet:
        """Load, map, compile and index the rules of ``paths`` and the built-in pack (cached)."""
        started = time.perf_counter()
        inputs = list(paths)
        if builtin and (pack := builtin_rules_dir()) is not None:
            inputs.insert(0, pack)
        pipeline = pipeline or default_pipeline()
        files, _ = rule_files(inputs)
        cache_path = (cache_directory or cache_dir()) / f"rules-{_cache_key(files, pipeline)}.pickle"
        data = _read_cache(cache_path) if use_cache else None
        from_cache = data is not None
        if data is None:
            data = compile_rules(load_rules(inputs), pipeline)
            if use_cache:
                _write_cache(cache_path, data)
        ruleset = cls(data, router if router is not None else default_router())
        ruleset.info = BuildInfo(time.perf_counter() - started, from_cache, cache_path if use_cache else None)
        return ruleset

    def evaluate(self, event: Event) -> list[CompiledRule]:
        """The rules that match ``event``: route, prefilter, evaluate the candidates."""
        get = event.get
        category, kind = get("event.category"), get("event.type")  # ECS lists: tuples in the key
        key = (
            *map(get, _SCALAR_ROUTE_FIELDS),
            tuple(category) if category.__class__ is list else category,
            tuple(kind) if kind.__class__ is list else kind,
        )
        try:
            bundle = self._routes[key]
        except (KeyError, TypeError):  # not routed yet, a syslog event, or another list value
            bundle = self._route(event)
        if not bundle.rules:
            return []
        candidates = bundle.prefilter.candidates(event)
        if not candidates:
            return []
        view = EventView(event)
        indices, matchers, rules, found = bundle.rules, self._matchers, self.data.rules, []
        for local in candidates:
            index = indices[local]
            matcher = matchers[index] or self._matcher(index)
            if matcher(view):
                found.append(rules[index])
        return found

    def _matcher(self, index: int) -> Matcher:
        matcher = build_matcher(self.data.rules[index].condition)
        self._matchers[index] = matcher
        return matcher

    def _route(self, event: Event) -> _Bundle:
        key = route_key(event)
        try:
            return self._routes[key]
        except KeyError:
            bundle = self._routes[key] = self._bundle_for(event)
            return bundle
        except TypeError:  # an unhashable value in a routing field: no caching for this event
            return self._bundle_for(event)

    def _bundle_for(self, event: Event) -> _Bundle:
        if self.router is None:
            groups = tuple(self._groups)
        else:
            sources = self.router(event)
            groups = tuple(group for group in self._groups if any(group.covers(source) for source in sources))
        bundle = self._bundles.get(groups)
        if bundle is None:
            indices = tuple(sorted({index for group in groups for index in self._groups[group]}))
            needs = tuple(self.data.needs[index] for index in indices)
            bundle = _Bundle(indices, needs=needs, screens=self._screens)
            self._bundles[groups] = bundle
        return bundle


def _group(rules: Sequence[CompiledRule]) -> dict[LogSource, tuple[int, ...]]:
    groups: dict[LogSource, list[int]] = {}
    for index, rule in enumerate(rules):
        groups.setdefault(rule.meta.logsource, []).append(index)
    return {source: tuple(indices) for source, indices in groups.items()}


def compile_rules(loaded: LoadResult, pipeline: PipelineFn) -> RuleSetData:
    """Each loaded rule through the pipeline and the compiler; failures become :class:`RuleError`."""
    compiled: list[CompiledRule] = []
    errors = list(loaded.errors)
    for item in loaded.rules:
        try:
            rule = compile_rule(pipeline(item.rule), item.meta)
        except (SigmaError, ShellwatchError) as exc:
            path = item.meta.path or "?"
            reason = str(exc.args[0]) if exc.args else type(exc).__name__
            keys = ("condition",) if isinstance(exc, RuleCompileError) else ("detection", "logsource")
            errors.append(RuleError(path, reason, line_of(path, keys), item.meta.id, item.meta.title))
            continue
        compiled.append(rule)
    needs = tuple(required_clauses(rule.condition) for rule in compiled)
    files = tuple(str(path) for path in loaded.files)
    return RuleSetData(tuple(compiled), needs, tuple(errors), tuple(loaded.correlations), files)


def _cache_key(files: Sequence[Path], pipeline: PipelineFn) -> str:
    digest = hashlib.sha256()
    pipeline_name = f"{getattr(pipeline, '__module__', '?')}.{getattr(pipeline, '__qualname__', '?')}"
    digest.update(f"{shellwatch.__version__}\0{IR_VERSION}\0{_CACHE_FORMAT}\0{pipeline_name}\0".encode())
    detect_dir = Path(__file__).parent
    code = [detect_dir / name for name in _CODE_FILES]
    code.extend(sorted((detect_dir / "pipelines").glob("*.y*ml")))
    for path in code:
        _digest_file(digest, path, content=False)
    for path in files:
        _digest_file(digest, path, content=True)
    return digest.hexdigest()[:32]


def _digest_file(digest: hashlib._Hash, path: Path, *, content: bool) -> None:
    try:
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_mtime_ns}\0{stat.st_size}\0".encode())
        if content:
            digest.update(hashlib.blake2b(path.read_bytes(), digest_size=16).digest())
    except OSError:
        digest.update(f"{path}\0missing\0".encode())


def _read_cache(path: Path) -> RuleSetData | None:
    try:
        with path.open("rb") as stream:
            data = pickle.load(stream)
    except FileNotFoundError:
        return None
    except (
        OSError,
        pickle.UnpicklingError,
        EOFError,
        AttributeError,
        ImportError,
        TypeError,
        ValueError,
    ) as exc:
        log.warning("ignoring unreadable rule cache %s: %s", path, exc)
        return None
    return data if isinstance(data, RuleSetData) else None


def _write_cache(path: Path, data: RuleSetData) -> None:
    try:
        payload = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as exc:
        log.warning("rule set not cached: %s", exc)
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(payload)
        partial.replace(path)
        _prune_cache(path.parent)
    except OSError as exc:
        log.warning("cannot write rule cache %s: %s", path, exc)


def _prune_cache(directory: Path, keep: int = CACHE_KEEP) -> None:
    """Remove all but the ``keep`` most recently written rule sets (each rule change writes a new one)."""
    entries = sorted(directory.glob("rules-*.pickle"), key=lambda entry: entry.stat().st_mtime, reverse=True)
    for stale in entries[keep:]:
        stale.unlink(missing_ok=True)
