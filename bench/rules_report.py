"""What the rules do on the real corpus: SigmaHQ load figures, labelled regression samples, and the alerts
per file of the real EVTX attack samples. Prints Markdown for docs/rules.md.

    .venv/bin/python bench/rules_report.py [--corpus ../shared/corpus]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import yaml

from shellwatch.detect.ruleset import RuleSet
from shellwatch.detect.stage import DetectionStage
from shellwatch.events import Alert
from shellwatch.pipeline import FileReport, IngestConfig, ingest_source
from shellwatch.sources.files import expand

ROOT = Path(__file__).resolve().parents[1]
SIGMA_DIRS = ("rules", "rules-emerging-threats", "rules-threat-hunting", "rules-placeholder")
ATTACK_SETS = ("evtx/deepbluecli", "evtx/evtx-to-mitre", "evtx/sbousseaden")


def _alerts(stage: DetectionStage, path: Path) -> list[Alert]:
    alerts: list[Alert] = []
    for source in expand([path]):
        for event in ingest_source(source, FileReport(source.name), IngestConfig(format="evtx")):
            alerts.extend(stage.process(event))
    alerts.extend(stage.flush())
    return alerts


def load_figures(corpus: Path) -> None:
    print("| SigmaHQ folder | rule files | loaded | not loaded |")
    print("|---|---:|---:|---:|")
    reasons: Counter[str] = Counter()
    for name in SIGMA_DIRS:
        folder = corpus / "sigma" / name
        ruleset = RuleSet.build([folder], builtin=False)
        files = len(list(folder.rglob("*.yml")))
        loaded = len(ruleset.rules) + len(ruleset.correlations)
        print(f"| `{name}` | {files} | {loaded} | {len(ruleset.errors)} |")
        reasons.update(error.reason.split(":")[0][:90] for error in ruleset.errors)
    print()
    for reason, count in reasons.most_common():
        print(f"- {count} x {reason}")


def regression(corpus: Path) -> None:
    base = corpus / "evtx" / "sigma-regression"
    ok = wrong = 0
    rows = []
    for info in sorted(base.glob("*/*/info.yml")) + sorted(base.glob("*/*/*/info.yml")):
        meta = yaml.safe_load(info.read_text())
        rule_id = meta["rule_metadata"][0]["id"]
        expected = meta["regression_tests_info"][0].get("match_count")
        rule = base / "_rules" / f"{info.parent.name}.yml"
        if not rule.exists():
            continue
        stage = DetectionStage.from_ruleset(RuleSet.build([rule], builtin=False))
        hits = sum(
            alert.get("rule.id") == rule_id
            for evtx in info.parent.glob("*.evtx")
            for alert in _alerts(stage, evtx)
        )
        good = hits >= 1 if expected is None else hits >= expected
        ok, wrong = ok + good, wrong + (not good)
        if not good or (expected is not None and hits != expected):
            rows.append(f"| `{info.parent.name}` | {expected} | {hits} |")
    print(f"{ok} of {ok + wrong} labelled samples matched by their rule.")
    if rows:
        print()
        print("| sample | expected matches | matches |")
        print("|---|---:|---:|")
        print("\n".join(rows))


def attack_samples(corpus: Path, builtin_only: bool) -> None:
    if builtin_only:
        ruleset = RuleSet.build([], builtin=True)
    else:
        ruleset = RuleSet.build([corpus / "sigma" / "rules" / "windows"], builtin=False)
    stage = DetectionStage.from_ruleset(ruleset)
    print("| file | alerts | rules that fired (count) |")
    print("|---|---:|---|")
    for folder in ATTACK_SETS:
        for path in sorted((corpus / folder).glob("*.evtx")):
            alerts = _alerts(stage, path)
            if not alerts:
                continue
            titles = Counter(str(alert["rule.name"]) for alert in alerts)
            shown = "; ".join(f"{title} ({count})" for title, count in titles.most_common(6))
            more = f"; +{len(titles) - 6} more" if len(titles) > 6 else ""
            print(f"| `{folder.split('/')[-1]}/{path.name}` | {len(alerts)} | {shown}{more} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    args = parser.parse_args()
    print("## SigmaHQ rules loaded\n")
    load_figures(args.corpus)
    print("\n## Labelled regression samples\n")
    regression(args.corpus)
    print("\n## Built-in pack on the real EVTX attack samples\n")
    attack_samples(args.corpus, builtin_only=True)
    print("\n## SigmaHQ Windows rules on the real EVTX attack samples\n")
    attack_samples(args.corpus, builtin_only=False)


if __name__ == "__main__":
    main()
