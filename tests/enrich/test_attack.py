"""ATT&CK names: the shipped table, the enricher's ECS keys, and the script that regenerates the table.

The script is run on a tiny STIX bundle written here (MITRE's shape: tactics, a matrix, techniques with
kill-chain phases, a revoked, a deprecated and a mobile technique), so no download is needed.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from shellwatch.enrich.attack import (
    FRAMEWORK,
    UNKNOWN,
    AttackEnricher,
    AttackTable,
    default_table,
    load_table,
    technique_reference,
)
from shellwatch.errors import ConfigError
from shellwatch.events import Alert
from tests.conftest import ROOT

DATA = ROOT / "src" / "shellwatch" / "enrich" / "attack_data.json"


def load_script() -> ModuleType:
    """``scripts/attack_table.py`` as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("attack_table", ROOT / "scripts" / "attack_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def enriched(*ids: str) -> Alert:
    alert: Alert = {"rule.id": "r1", "threat.technique.id": list(ids)}
    AttackEnricher().enrich(alert)
    return alert


# The shipped table


def test_shipped_table_is_small_enterprise_and_versioned() -> None:
    table = default_table()
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    assert DATA.stat().st_size < 300_000
    assert raw["domain"] == "enterprise-attack"
    assert table.version == raw["attack_version"] and table.version[0].isdigit()
    assert len(table.tactics) == 14 and len(table.techniques) > 600
    assert all(tid.startswith("T") and not tid.startswith("TA") for tid in table.techniques)
    assert next(iter(table.tactics)) == "TA0043"  # matrix order: Reconnaissance first


def test_shipped_table_is_read_once() -> None:
    assert default_table() is default_table()
    assert AttackEnricher().table is AttackEnricher().table


def test_shell_techniques_are_named() -> None:
    table = default_table()
    assert table.display_name("T1059") == "Command and Scripting Interpreter"
    assert table.display_name("T1059.004") == "Command and Scripting Interpreter: Unix Shell"
    assert table.display_name("t1059.001 ") == "Command and Scripting Interpreter: PowerShell"
    assert table.techniques["T1059.003"].name == "Windows Command Shell"
    assert table.tactics["TA0002"].shortname == "execution"


# The enricher


def test_subtechnique_gets_ecs_keys() -> None:
    alert = enriched("T1059.004")
    assert alert["threat.framework"] == FRAMEWORK
    assert alert["threat.technique.id"] == ["T1059.004"]
    assert alert["threat.technique.name"] == ["Command and Scripting Interpreter: Unix Shell"]
    assert alert["threat.technique.reference"] == ["https://attack.mitre.org/techniques/T1059/004/"]
    assert alert["threat.technique.subtechnique.id"] == ["T1059.004"]
    assert alert["threat.technique.subtechnique.name"] == ["Unix Shell"]
    assert alert["threat.tactic.id"] == ["TA0002"]
    assert alert["threat.tactic.name"] == ["Execution"]
    assert alert["threat.tactic.reference"] == ["https://attack.mitre.org/tactics/TA0002/"]
    assert alert["shellwatch.attack.version"] == default_table().version


def test_names_stay_parallel_and_tactics_are_deduplicated_in_matrix_order() -> None:
    alert = enriched("T1105", "T1059.004", "T9999", "T1059.001", "T1059.004")
    assert alert["threat.technique.name"] == [
        "Ingress Tool Transfer",
        "Command and Scripting Interpreter: Unix Shell",
        UNKNOWN,
        "Command and Scripting Interpreter: PowerShell",
        "Command and Scripting Interpreter: Unix Shell",
    ]
    assert alert["threat.technique.subtechnique.id"] == ["T1059.004", "T1059.001"]
    assert alert["threat.tactic.id"] == ["TA0002", "TA0011"]  # Execution before Command and Control
    assert alert["threat.tactic.name"] == ["Execution", "Command and Control"]


def test_unknown_ids_are_kept_and_named_unknown() -> None:
    alert = enriched("T9999", "T9999.123", "")
    assert alert["threat.technique.id"] == ["T9999", "T9999.123", ""]
    assert alert["threat.technique.name"] == [UNKNOWN, UNKNOWN, UNKNOWN]
    assert alert["threat.technique.subtechnique.name"] == [UNKNOWN]
    assert alert["threat.technique.reference"] == [
        "https://attack.mitre.org/techniques/T9999/",
        "https://attack.mitre.org/techniques/T9999/123/",
        "",
    ]
    assert "threat.tactic.id" not in alert


def test_technique_without_subtechnique_writes_no_subtechnique_keys() -> None:
    alert = enriched("T1046")
    assert alert["threat.technique.name"] == ["Network Service Discovery"]
    assert not any(key.startswith("threat.technique.subtechnique") for key in alert)


def test_scalar_id_is_accepted() -> None:
    alert: Alert = {"threat.technique.id": "T1059"}
    AttackEnricher().enrich(alert)
    assert alert["threat.technique.name"] == ["Command and Scripting Interpreter"]


@pytest.mark.parametrize("alert", [{}, {"threat.technique.id": []}, {"threat.technique.id": None}])
def test_alert_without_techniques_gets_no_key(alert: Alert) -> None:
    before = dict(alert)
    AttackEnricher().enrich(alert)
    assert alert == before


def test_technique_reference() -> None:
    assert technique_reference("T1105") == "https://attack.mitre.org/techniques/T1105/"
    assert technique_reference("attack.t1105") == ""


# Loading a table


def test_custom_table_and_malformed_tables(tmp_path: Path) -> None:
    good = {
        "attack_version": "1.0",
        "tactics": {"TA0002": {"name": "Execution", "shortname": "execution"}},
        "techniques": {"T1059": {"name": "Interpreter", "tactics": ["TA0002"]}},
    }
    path = tmp_path / "table.json"
    path.write_text(json.dumps(good), encoding="utf-8")
    table = load_table(path)
    assert AttackEnricher(table).table.display_name("T1059") == "Interpreter"
    dangling = dict(good, techniques={"T1059": {"name": "Interpreter", "tactics": ["TA0099"]}})
    with pytest.raises(ConfigError, match="T1059->TA0099"):
        AttackTable.from_mapping(dangling)
    with pytest.raises(ConfigError, match="not an ATT&CK table"):
        AttackTable.from_mapping({"tactics": {}})
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"table\.json"):
        load_table(path)


# The generating script


def _technique(tid: str, name: str, phases: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "type": "attack-pattern",
        "id": f"attack-pattern--{tid}",
        "name": name,
        "external_references": [{"source_name": "mitre-attack", "external_id": tid}],
        "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": p} for p in phases],
        "x_mitre_domains": ["enterprise-attack"],
        **extra,
    }


def _tactic(tid: str, name: str, short: str) -> dict[str, Any]:
    return {
        "type": "x-mitre-tactic",
        "id": f"x-mitre-tactic--{tid}",
        "name": name,
        "x_mitre_shortname": short,
        "external_references": [{"source_name": "mitre-attack", "external_id": tid}],
    }


def tiny_bundle() -> dict[str, Any]:
    return {
        "type": "bundle",
        "objects": [
            {"type": "x-mitre-collection", "x_mitre_version": "99.1"},
            _tactic("TA0011", "Command and Control", "command-and-control"),
            _tactic("TA0002", "Execution", "execution"),
            {
                "type": "x-mitre-matrix",
                "external_references": [{"source_name": "mitre-attack", "external_id": "enterprise-attack"}],
                "tactic_refs": ["x-mitre-tactic--TA0002", "x-mitre-tactic--TA0011"],
            },
            _technique("T1059.004", "Unix Shell", ["execution"]),
            _technique("T1059", "Command and Scripting Interpreter", ["execution"]),
            _technique("T1105", "Ingress Tool Transfer", ["command-and-control"]),
            _technique("T1086", "PowerShell", ["execution"], revoked=True),
            _technique("T1064", "Scripting", ["execution"], x_mitre_deprecated=True),
            _technique("T1400", "Mobile Thing", ["execution"], x_mitre_domains=["mobile-attack"]),
        ],
    }


def test_script_builds_the_table_from_a_stix_bundle(tmp_path: Path) -> None:
    script = load_script()
    source = tmp_path / "enterprise-attack.json"
    source.write_text(json.dumps(tiny_bundle()), encoding="utf-8")
    output = tmp_path / "attack_data.json"
    assert script.main([str(source), "--output", str(output)]) == 0
    table = load_table(output)
    assert table.version == "99.1"
    assert list(table.tactics) == ["TA0002", "TA0011"]
    assert list(table.techniques) == ["T1059", "T1059.004", "T1105"]
    assert table.display_name("T1059.004") == "Command and Scripting Interpreter: Unix Shell"
    assert script.main([str(source), "--output", str(output), "--check"]) == 0


def test_script_asks_for_the_version_when_the_bundle_has_none(tmp_path: Path) -> None:
    script = load_script()
    bundle = tiny_bundle()
    bundle["objects"] = bundle["objects"][1:]
    source = tmp_path / "enterprise-attack.json"
    source.write_text(json.dumps(bundle), encoding="utf-8")
    output = tmp_path / "out.json"
    assert script.main([str(source), "--output", str(output)]) == 2
    assert script.main([str(source), "--output", str(output), "--attack-version", "15"]) == 0
    assert load_table(output).version == "15"
