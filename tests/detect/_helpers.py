"""Tiny rules compiled straight from YAML text, matched with and without the prefilter."""

from __future__ import annotations

import textwrap

from sigma.rule import SigmaRule

from shellwatch.detect._matchers import build_matcher
from shellwatch.detect._view import EventView
from shellwatch.detect.compile import CompiledRule, compile_rule
from shellwatch.detect.load import rule_meta
from shellwatch.detect.prefilter import required_literals
from shellwatch.detect.ruleset import RuleSet, RuleSetData
from shellwatch.events import Event

HEADER = """\
title: test rule
id: 00000000-0000-4000-8000-000000000001
logsource:
  product: test
"""


def rule_yaml(detection: str) -> str:
    """A whole rule around ``detection`` (the lines under ``detection:``)."""
    return HEADER + "detection:\n" + textwrap.indent(textwrap.dedent(detection).strip("\n"), "  ") + "\n"


def compiled(detection: str) -> CompiledRule:
    rule = SigmaRule.from_yaml(rule_yaml(detection))
    return compile_rule(rule, rule_meta(rule))


def matches(detection: str, event: Event) -> bool:
    """Whether the rule matches ``event``; direct evaluation and the prefiltered rule set must agree."""
    rule = compiled(detection)
    direct = build_matcher(rule.condition)(EventView(event))
    ruleset = RuleSet(RuleSetData((rule,), (required_literals(rule.condition),)), router=None)
    assert bool(ruleset.evaluate(event)) is direct, "prefilter changed the result"
    return direct
