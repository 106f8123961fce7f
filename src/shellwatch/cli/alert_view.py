"""One stored alert laid out for an analyst, and the list of stored alerts: rich renderables from flat dicts.

Every key of an alert is shown: the header and the process tree take the keys they show, and each
remaining key goes to the section that names it, else to the section with the longest matching key prefix,
else to "other fields". Log text is shown as plain text (never as rich markup), with control characters
escaped so that a hostile command line cannot drive the analyst's terminal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from shellwatch.cli.render import LEVEL_STYLE

if TYPE_CHECKING:
    from shellwatch.store.db import AlertRecord

Doc = Mapping[str, Any]

COMMAND_WIDTH: Final = 80
ANCESTRY: Final = "shellwatch.process.ancestry"
CHILDREN: Final = "shellwatch.process.children"

_ESCAPES: Final = {
    code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0)) if chr(code) not in "\t\n\r"
} | {ord("\t"): "\\t", ord("\n"): "\\n", ord("\r"): "\\r"}


def clean(text: str) -> str:
    """``text`` with control characters (ESC, newlines, ...) written as visible escapes."""
    return text.translate(_ESCAPES)


def shorten(text: str, width: int = COMMAND_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def value_text(value: Any) -> str:
    """A field value as one piece of display text: lists one item a line, booleans as yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "\n".join(value_text(item) for item in value)
    return "" if value is None else clean(str(value))


def _plain(value: Any, style: str = "") -> Text:
    return Text(value_text(value), style=style)


def _level(alert: Doc) -> Text:
    level = str(alert.get("rule.level") or "")
    return Text(level, style=LEVEL_STYLE.get(level, ""))


def _command(alert: Doc) -> str:
    for key in ("process.command_line", "powershell.file.script_block_text", "message"):
        value = alert.get(key)
        if isinstance(value, str) and value:
            return value
    return str(alert.get("event.action") or "")


def _user(alert: Doc) -> str:
    for key in ("user.name", "shellwatch.session.user", "user.id"):
        value = alert.get(key)
        if value not in (None, ""):
            return str(value)
    return ""


# --------------------------------------------------------------------------- the list


def alerts_table(records: Sequence[AlertRecord], title: str) -> Table:
    """One line per stored alert: id, time, host, user, rule, level, score, command line (shortened)."""
    table = Table(title=title)
    for column in ("id", "time", "host", "user", "rule", "level", "score", "command line"):
        table.add_column(column, justify="right" if column in ("id", "score") else "left", overflow="fold")
    for record in records:
        alert = record.doc
        table.add_row(
            str(record.id),
            _plain(str(alert.get("@timestamp") or "")[:19].replace("T", " ")),
            _plain(alert.get("host.name")),
            _plain(_user(alert)),
            _plain(alert.get("rule.name")),
            _level(alert),
            _plain(alert.get("shellwatch.score")),
            Text(shorten(clean(_command(alert)))),
        )
    return table


# --------------------------------------------------------------------------- the header

HEADER_KEYS: Final = frozenset(
    {
        "rule.name",
        "rule.id",
        "rule.level",
        "shellwatch.score",
        "shellwatch.score_reasons",
        "@timestamp",
        "host.name",
        "shellwatch.category",
    }
)
"""Keys the header shows and no section repeats (user and techniques are repeated in their sections)."""


def _techniques(alert: Doc) -> list[str]:
    ids, names = _column(alert, "threat.technique.id"), _column(alert, "threat.technique.name")
    return [f"{tid} {name or ''}".strip() for tid, name in zip(ids, _padded(names, len(ids)), strict=True)]


def header(alert: Doc, alert_id: int | None = None) -> Panel:
    """The rule, level, score, time, host, user, category and techniques (with their ATT&CK names)."""
    rows: list[tuple[str, Any]] = [
        ("alert", alert_id),
        ("rule", alert.get("rule.name")),
        ("rule id", alert.get("rule.id")),
        ("level", _level(alert) if alert.get("rule.level") else None),
        ("score", alert.get("shellwatch.score")),
        ("score reasons", alert.get("shellwatch.score_reasons")),
        ("time", alert.get("@timestamp")),
        ("host", alert.get("host.name")),
        ("user", _user(alert)),
        ("category", alert.get("shellwatch.category")),
        ("techniques", _techniques(alert)),
    ]
    grid = _grid()
    for label, value in rows:
        if value not in (None, "", []):
            grid.add_row(label, value if isinstance(value, Text) else _plain(value))
    title = Text(value_text(alert.get("rule.name") or "alert"), style="bold")
    return Panel(grid, title=title, title_align="left", border_style=_border(alert))


def _border(alert: Doc) -> str:
    return LEVEL_STYLE.get(str(alert.get("rule.level") or ""), "")


# --------------------------------------------------------------------------- the process tree


@dataclass(frozen=True)
class Node:
    """A process in the tree: what the alert knows of it."""

    pid: Any
    executable: Any
    command_line: Any


def _column(alert: Doc, key: str) -> list[Any]:
    value = alert.get(key)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _padded(values: list[Any], length: int) -> list[Any]:
    return values[:length] + [None] * (length - len(values))


def _parallel(alert: Doc, keys: Sequence[str]) -> list[list[Any]]:
    """Rows from parallel list fields, as many as the longest list (missing items None)."""
    columns = [_column(alert, key) for key in keys]
    length = max((len(column) for column in columns), default=0)
    padded = [_padded(column, length) for column in columns]
    return [list(row) for row in zip(*padded, strict=True)]


def _node(alert: Doc, prefix: str) -> Node | None:
    keys = [f"{prefix}.{name}" for name in ("pid", "executable", "command_line")]
    if not any(key in alert for key in keys):
        return None
    return Node(*(alert.get(key) for key in keys))


def _ancestry_keys() -> list[str]:
    return [f"{ANCESTRY}.{name}" for name in ("pid", "executable", "command_line")]


def ancestors(alert: Doc) -> list[Node]:
    """The alerting process's ancestors, farthest first."""
    rows = _parallel(alert, _ancestry_keys())
    if rows:
        return [Node(*row) for row in reversed(rows)]
    nearest = (_node(alert, "process.parent"), _node(alert, "process.parent.parent"))
    return [node for node in reversed(nearest) if node is not None]


def children(alert: Doc) -> list[tuple[Node, int]]:
    """The processes the alerting process started, with their depth below it, in tree order."""
    keys = [f"{CHILDREN}.{name}" for name in ("pid", "executable", "command_line", "depth")]
    found = []
    for pid, executable, command_line, depth in _parallel(alert, keys):
        found.append((Node(pid, executable, command_line), depth if isinstance(depth, int) else 1))
    return found


def tree_keys(alert: Doc) -> frozenset[str]:
    """The keys :func:`process_tree` shows for this alert."""
    keys = {f"process.{name}" for name in ("pid", "executable", "command_line")}
    keys.update(f"{CHILDREN}.{name}" for name in ("pid", "executable", "command_line", "depth"))
    if any(key in alert for key in _ancestry_keys()):
        keys.update(_ancestry_keys())
        keys.add(f"{ANCESTRY}.entity_id")  # the ids only tell the tree's processes apart
    else:
        for prefix in ("process.parent", "process.parent.parent"):
            keys.update(f"{prefix}.{name}" for name in ("pid", "executable", "command_line"))
    return frozenset(keys)


def node_label(node: Node, *, alerting: bool = False) -> Text:
    """``pid N  executable  command line``; the alerting process highlighted and marked."""
    pid = node.pid if isinstance(node.pid, int) and node.pid >= 0 else "?"
    executable = value_text(node.executable) or "?"
    command = value_text(node.command_line)
    label = Text.assemble((f"pid {pid}", "cyan"), "  ", (executable, "bold"))
    if command and command != executable:
        label.append("  ")
        label.append(command)
    if alerting:
        label.stylize("bold red")
        label.append("  ◀ alert", style="bold red")
    return label


def process_tree(alert: Doc) -> Tree:
    """From the farthest known ancestor down to the alerting process, then its children by depth."""
    lineage = ancestors(alert)
    process = Node(
        alert.get("process.pid"), alert.get("process.executable"), alert.get("process.command_line")
    )
    root: Tree | None = None
    parent: Tree | None = None
    for node in lineage:
        parent = Tree(node_label(node)) if parent is None else parent.add(node_label(node))
        root = root or parent
    alerting = node_label(process, alerting=True)
    current = Tree(alerting) if parent is None else parent.add(alerting)
    _add_children(current, children(alert))
    return root or current


def _add_children(top: Tree, found: Iterable[tuple[Node, int]]) -> None:
    # stack[d] is the last node added at depth d; a depth that skips levels hangs off the deepest one.
    stack = [top]
    for node, depth in found:
        level = max(1, min(depth, len(stack)))
        del stack[level:]
        stack.append(stack[-1].add(node_label(node)))


# --------------------------------------------------------------------------- the sections


@dataclass(frozen=True)
class Section:
    """A titled group of fields: labelled rows, tables of parallel lists, and any key under its prefixes."""

    title: str
    fields: tuple[tuple[str, str], ...] = ()
    tables: tuple[tuple[tuple[str, str], ...], ...] = ()
    prefixes: tuple[str, ...] = ()
    style: str = ""

    def names(self) -> frozenset[str]:
        return frozenset(key for _, key in self.fields) | {key for table in self.tables for _, key in table}


PROCESS: Final = Section(
    "process",
    fields=(
        ("name", "process.name"),
        ("entity id", "process.entity_id"),
        ("args", "process.args"),
        ("working directory", "process.working_directory"),
        ("started", "process.start"),
        ("sha256", "process.hash.sha256"),
        ("sha1", "process.hash.sha1"),
        ("md5", "process.hash.md5"),
        ("parent", "process.parent.executable"),
        ("parent pid", "process.parent.pid"),
        ("parent command line", "process.parent.command_line"),
    ),
    prefixes=("process.",),
)
COMMAND: Final = Section(
    "command",
    fields=(
        ("interpreter", "shellwatch.command.interpreter"),
        ("inline code", "shellwatch.command.inline"),
        ("script", "shellwatch.command.script"),
        ("executable", "shellwatch.command.executable"),
        ("resolved", "shellwatch.command.executable_resolved"),
        ("invoked as", "shellwatch.command.invoked_as"),
        ("argv", "shellwatch.command.argv"),
    ),
    prefixes=("shellwatch.command.",),
)
SESSION: Final = Section(
    "session",
    fields=(
        ("entry leader", "process.entry_leader.executable"),
        ("entry leader pid", "process.entry_leader.pid"),
        ("entry leader command", "process.entry_leader.command_line"),
        ("entry type", "process.entry_meta.type"),
        ("remote ip", "process.entry_meta.source.ip"),
        ("login remote ip", "shellwatch.session.source_ip"),
        ("remote port", "shellwatch.session.source_port"),
        ("login method", "shellwatch.session.method"),
        ("login kind", "shellwatch.session.kind"),
        ("login user", "shellwatch.session.user"),
        ("login time", "shellwatch.session.start"),
        ("login session", "shellwatch.session.id"),
        ("failed logins before", "shellwatch.session.failures_before"),
        ("interactive", "process.interactive"),
        ("tty", "process.tty.name"),
        ("session leader", "process.session_leader.executable"),
        ("session leader pid", "process.session_leader.pid"),
        ("session leader command", "process.session_leader.command_line"),
    ),
    prefixes=(
        "process.entry_leader.",
        "process.entry_meta.",
        "process.session_leader.",
        "process.tty.",
        "shellwatch.session.",
    ),
)
NETWORK: Final = Section(
    "network connections",
    tables=(
        (
            ("time", "shellwatch.network.timestamp"),
            ("pid", "shellwatch.network.pid"),
            ("source ip", "shellwatch.network.source.ip"),
            ("source port", "shellwatch.network.source.port"),
            ("destination ip", "shellwatch.network.destination.ip"),
            ("destination port", "shellwatch.network.destination.port"),
            ("transport", "shellwatch.network.transport"),
            ("duration", "shellwatch.network.duration"),
            ("bytes", "shellwatch.network.bytes"),
            ("sensor", "shellwatch.network.sensor"),
        ),
    ),
    prefixes=("shellwatch.network.",),
)
USER: Final = Section(
    "user and privilege",
    fields=(
        ("user", "user.name"),
        ("user id", "user.id"),
        ("domain", "user.domain"),
        ("full name", "user.full_name"),
        ("privilege", "shellwatch.user.privilege"),
        ("privileged", "shellwatch.user.privileged"),
        ("why", "shellwatch.user.privilege_reason"),
        ("groups", "shellwatch.user.groups"),
        ("disabled", "shellwatch.user.disabled"),
        ("integrity level", "shellwatch.windows.integrity_level"),
        ("token elevation", "shellwatch.windows.token_elevation"),
    ),
    prefixes=("user.", "shellwatch.user.", "shellwatch.windows."),
)
ALLOWLIST: Final = Section(
    "allowlist",
    fields=(
        ("matched", "shellwatch.allowlist.matched"),
        ("expired", "shellwatch.allowlist.expired"),
        ("entry", "shellwatch.allowlist.entry"),
        ("reason", "shellwatch.allowlist.reason"),
        ("owner", "shellwatch.allowlist.owner"),
        ("expires", "shellwatch.allowlist.expires"),
        ("where", "shellwatch.allowlist.location"),
    ),
    prefixes=("shellwatch.allowlist.",),
)
REPUTATION: Final = Section(
    "reputation",
    fields=(("verdict", "shellwatch.reputation.verdict"), ("VirusTotal", "shellwatch.reputation.vt_status")),
    tables=(
        (
            ("hash", "shellwatch.reputation.hash.value"),
            ("field", "shellwatch.reputation.hash.field"),
            ("verdict", "shellwatch.reputation.hash.verdict"),
            ("source", "shellwatch.reputation.hash.source"),
            ("name", "shellwatch.reputation.hash.name"),
            ("ratio", "shellwatch.reputation.hash.ratio"),
            ("link", "shellwatch.reputation.hash.link"),
        ),
    ),
    prefixes=("shellwatch.reputation.",),
)
INTEL: Final = Section(
    "threat intel",
    fields=(("matched", "shellwatch.intel.matched"),),
    tables=(
        (
            ("indicator", "shellwatch.intel.indicator"),
            ("type", "shellwatch.intel.type"),
            ("value", "shellwatch.intel.value"),
            ("field", "shellwatch.intel.field"),
            ("source", "shellwatch.intel.source"),
            ("description", "shellwatch.intel.description"),
        ),
    ),
    prefixes=("shellwatch.intel.",),
)
ATTACK: Final = Section(
    "ATT&CK",
    fields=(("framework", "threat.framework"), ("version", "shellwatch.attack.version")),
    tables=(
        (
            ("technique", "threat.technique.id"),
            ("name", "threat.technique.name"),
            ("reference", "threat.technique.reference"),
        ),
        (
            ("sub-technique", "threat.technique.subtechnique.id"),
            ("name", "threat.technique.subtechnique.name"),
            ("reference", "threat.technique.subtechnique.reference"),
        ),
        (
            ("tactic", "threat.tactic.id"),
            ("name", "threat.tactic.name"),
            ("reference", "threat.tactic.reference"),
        ),
    ),
    prefixes=("threat.", "shellwatch.attack."),
)
CORRELATION: Final = Section(
    "correlation",
    fields=(
        ("type", "shellwatch.correlation.type"),
        ("count", "shellwatch.correlation.count"),
        ("distinct values", "shellwatch.correlation.value_count"),
        ("first", "shellwatch.correlation.first"),
        ("last", "shellwatch.correlation.last"),
        ("rules", "shellwatch.correlation.rules"),
        ("grouped by", "shellwatch.correlation.group_by"),
    ),
    prefixes=("shellwatch.correlation.",),
)
ERRORS: Final = Section(
    "enrichment errors",
    fields=(("errors", "shellwatch.enrich.errors"),),
    prefixes=("shellwatch.enrich.",),
    style="red",
)
OTHER: Final = Section("other fields")
SECTIONS: Final = (
    PROCESS,
    COMMAND,
    SESSION,
    NETWORK,
    USER,
    ALLOWLIST,
    REPUTATION,
    INTEL,
    ATTACK,
    CORRELATION,
    ERRORS,
    OTHER,
)


def _owner(key: str) -> Section:
    for section in SECTIONS:
        if key in section.names():
            return section
    matches = [
        (len(prefix), section)
        for section in SECTIONS
        for prefix in section.prefixes
        if key.startswith(prefix)
    ]
    return max(matches, key=lambda match: match[0])[1] if matches else OTHER


def assign(alert: Doc) -> dict[str, list[str]]:
    """The keys each section shows (by title), leaving out those the header and the tree show."""
    shown = HEADER_KEYS | tree_keys(alert)
    keys: dict[str, list[str]] = {section.title: [] for section in SECTIONS}
    for key in alert:
        if key not in shown:
            keys[_owner(key).title].append(key)
    return keys


def _grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


def _cell(key: str, value: Any) -> str:
    # Enrichers write -1 (pid, duration, bytes) and 0 (port) where the value is unknown.
    if value in (-1, None) or (value == 0 and key.endswith(".port")):
        return ""
    if key == "shellwatch.network.duration" and isinstance(value, int):
        return f"{value / 1e9:.1f} s"
    return value_text(value)


def _list_table(alert: Doc, columns: Sequence[tuple[str, str]], present: set[str]) -> Table | None:
    used = [(label, key) for label, key in columns if key in present]
    if not used:
        return None
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for label, _ in used:
        table.add_column(label, overflow="fold")
    for row in _parallel(alert, [key for _, key in used]):
        table.add_row(*(Text(_cell(key, value)) for (_, key), value in zip(used, row, strict=True)))
    return table


def section(alert: Doc, spec: Section, keys: Iterable[str]) -> Panel | None:
    """``spec`` over these keys of ``alert``: named fields in order, then tables, then any other key."""
    present = set(keys)
    if not present:
        return None
    grid = _grid()
    for label, key in spec.fields:
        if key in present:
            grid.add_row(label, _plain(alert[key], spec.style))
    named = spec.names()
    for key in sorted(present - named):
        grid.add_row(Text(key), _plain(alert[key], spec.style))
    parts: list[RenderableType] = [grid] if grid.row_count else []
    parts.extend(table for columns in spec.tables if (table := _list_table(alert, columns, present)))
    return Panel(Group(*parts), title=spec.title, title_align="left", border_style=spec.style or "blue")


def sections(alert: Doc) -> list[Panel]:
    """Every section that has data, in :data:`SECTIONS` order ("other fields" last)."""
    keys = assign(alert)
    return [panel for spec in SECTIONS if (panel := section(alert, spec, keys[spec.title])) is not None]


def alert_view(alert: Doc, alert_id: int | None = None) -> Group:
    """The whole alert: header, process tree (when the alert names a process), then the sections."""
    parts: list[RenderableType] = [header(alert, alert_id)]
    if any(key in alert for key in tree_keys(alert)):
        parts.append(
            Panel(process_tree(alert), title="process tree", title_align="left", border_style="blue")
        )
    parts.extend(sections(alert))
    return Group(*parts)
