"""``shellwatch rules list | test | coverage``: the rules a scan would run, tried and summarised."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from shellwatch.cli.app import NoBuiltinOpt, RulesOpt, app
from shellwatch.detect.rule_tests import coverage, run_rule_tests
from shellwatch.detect.ruleset import RuleSet

rules_app = typer.Typer(help="The Sigma rules: list them, test them against their events, show coverage.")
app.add_typer(rules_app, name="rules")


@rules_app.command("list")
def list_rules(
    rules: RulesOpt = None,
    no_builtin_rules: NoBuiltinOpt = False,
    errors: Annotated[bool, typer.Option("--errors", help="Also list every rule that cannot run.")] = False,
) -> None:
    """The rules a scan runs: id, title, level, category, techniques, log source."""
    ruleset = RuleSet.build(list(rules or []), builtin=not no_builtin_rules)
    table = Table(title=f"rules ({len(ruleset.rules)} loaded, {len(ruleset.errors)} not loaded)")
    for column in ("id", "title", "level", "category", "techniques", "log source"):
        table.add_column(column, overflow="fold")
    for rule in sorted(ruleset.rules, key=lambda rule: (rule.meta.logsource.product or "", rule.meta.title)):
        meta = rule.meta
        source = "/".join(
            part or "*" for part in (meta.logsource.product, meta.logsource.category, meta.logsource.service)
        )
        table.add_row(meta.id, meta.title, meta.level, meta.category or "", " ".join(meta.techniques), source)
    console = Console()
    console.print(table)
    if errors:
        for error in ruleset.errors:
            console.print(f"{error.location()}: {error.reason}", highlight=False)


@rules_app.command("test")
def test_rules(rules: RulesOpt = None, no_builtin_rules: NoBuiltinOpt = False) -> None:
    """Run every rule that has a ``<rule>.tests.yml`` beside it against its true and false positives."""
    results = run_rule_tests(list(rules or []), builtin=not no_builtin_rules)
    console = Console()
    failed = [result for result in results if result.failures]
    for result in failed:
        console.print(f"[red]FAIL[/red] {result.path}: {result.title}", highlight=False)
        for failure in result.failures:
            console.print(f"    {failure}", highlight=False)
    cases = sum(result.cases for result in results)
    console.print(
        f"{len(results) - len(failed)} passed, {len(failed)} failed ({len(results)} rules, {cases} events)"
    )
    if failed:
        raise typer.Exit(1)


@rules_app.command("coverage")
def show_coverage(rules: RulesOpt = None, no_builtin_rules: NoBuiltinOpt = False) -> None:
    """ATT&CK techniques the rules cover, with the number of rules per platform."""
    ruleset = RuleSet.build(list(rules or []), builtin=not no_builtin_rules)
    rows = coverage(ruleset)
    platforms = sorted({platform for row in rows for platform in row.platforms})
    table = Table(title=f"ATT&CK coverage ({len(rows)} techniques, {len(ruleset.rules)} rules)")
    table.add_column("technique")
    for platform in platforms:
        table.add_column(platform, justify="right")
    for row in rows:
        table.add_row(row.technique, *(str(row.platforms.get(platform, "")) for platform in platforms))
    Console().print(table)
