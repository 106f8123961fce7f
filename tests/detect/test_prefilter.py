"""The literal prefilter: what each condition needs, and that it never changes results."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shellwatch.detect._matchers import build_matcher
from shellwatch.detect._view import EventView
from shellwatch.detect.prefilter import Prefilter, required_clauses, required_literals
from shellwatch.detect.ruleset import RuleSet, RuleSetData
from shellwatch.events import Event
from tests.detect._helpers import compiled

CL = "process.command_line"
EXE = "process.executable"


def need(detection: str) -> frozenset[tuple[str, str]] | None:
    return required_literals(compiled(detection).condition)


def test_and_takes_the_most_selective_child() -> None:
    detection = f"a:\n  {EXE}|endswith: '\\cmd.exe'\nb:\n  {CL}|contains: ab\ncondition: a and b"
    assert need(detection) == {(EXE, "\\cmd.exe")}


def test_or_is_the_union_and_needs_every_branch() -> None:
    assert need(f"a:\n  {CL}|contains: ['xyz', 'Uvw']\ncondition: a") == {(CL, "xyz"), (CL, "uvw")}
    assert need(f"a:\n  {CL}: xyz\nb:\n  {CL}|re: 'q+'\ncondition: a or b") is None


def test_glob_uses_its_longest_piece() -> None:
    assert need(f"a:\n  {CL}: 'ab*cdef?g'\ncondition: a") == {(CL, "cdef")}


def test_negations_regex_keywords_and_numbers_have_no_need() -> None:
    assert need(f"a:\n  {CL}: xyz\ncondition: not a") is None
    assert need(f"a:\n  {CL}|re: 'xyz|abc'\ncondition: a") is None
    assert need("k:\n  - xyz\ncondition: k") == {("*", "xyz")}
    assert need("a:\n  event.code|gt: 4688\ncondition: a") is None
    assert need("a:\n  event.code: 4.5\ncondition: a") is None


def test_regex_needs_its_longest_top_level_literal_run() -> None:
    assert need(f"a:\n  {CL}|re: 'ipconfig\\s+/ALL'\ncondition: a") == {(CL, "ipconfig")}
    assert need(f"a:\n  {CL}|re|i: 'Invoke-Expression'\ncondition: a") == {(CL, "e-expre")}
    assert need(f"a:\n  {CL}|re: '(?i)Invoke'\ncondition: a") == {(CL, "nvo")}


def test_integer_equality_needs_its_digits() -> None:
    assert need("a:\n  event.code: 4688\ncondition: a") == {("event.code", "4688")}
    assert need("a:\n  event.code: -12\ncondition: a") == {("event.code", "12")}
    assert need(f"a:\n  {CL}: '*'\ncondition: a") is None


def test_negated_sibling_does_not_hide_the_need() -> None:
    detection = f"a:\n  {CL}|contains: whoami\nf:\n  user.name: root\ncondition: a and not f"
    assert need(detection) == {(CL, "whoami")}


def test_cased_patterns_need_their_lowered_ascii_text() -> None:
    assert need(f"a:\n  {CL}|cased: 'WhoAmI'\ncondition: a") == {(CL, "whoami")}
    assert need(f"a:\n  {CL}|cased: 'ΣΑΣ'\ncondition: a") is None


def test_candidates_and_always_evaluated_rules() -> None:
    prefilter = Prefilter([frozenset({(CL, "whoami")}), None, frozenset({(EXE, "cmd.exe")})])
    assert prefilter.fields == (CL, EXE)
    assert prefilter.always == (1,)
    assert prefilter.candidates({CL: "x WHOAMI"}) == [0, 1]
    assert prefilter.candidates({EXE: "c:\\cmd.exe"}) == [1, 2]
    assert prefilter.candidates({}) == [1]
    assert prefilter.candidates({"user.name": "nobody", "event.code": 1}) == [1]


def test_literals_do_not_match_across_field_boundaries() -> None:
    prefilter = Prefilter([frozenset({(CL, "ab")})])
    assert prefilter.candidates({CL: "a", EXE: "b"}) == []
    assert prefilter.candidates({"process.args": ["xa", "bx"]}) == []
    assert prefilter.candidates({"process.args": ["xa", "abx"]}) == []


def clauses(detection: str) -> set[frozenset[tuple[str, str]]]:
    return set(required_clauses(compiled(detection).condition))


def test_clauses_of_and_or_and_not() -> None:
    detection = f"a:\n  {EXE}|endswith: '\\cmd.exe'\nb:\n  {CL}|contains: ab\ncondition: a and b"
    assert clauses(detection) == {frozenset({(EXE, "\\cmd.exe")}), frozenset({(CL, "ab")})}
    selections = f"a:\n  {EXE}: x\n  {CL}: y\nb:\n  {EXE}: z\n  {CL}: w\nn:\n  user.name: u\n"
    detection = selections + "condition: (a or b) and not n"
    assert clauses(detection) == {
        frozenset({(EXE, "x"), (EXE, "z")}),
        frozenset({(EXE, "x"), (CL, "w")}),
        frozenset({(CL, "y"), (EXE, "z")}),
        frozenset({(CL, "y"), (CL, "w")}),
    }
    assert clauses(f"a:\n  {CL}: xyz\nb:\n  {CL}|re: 'q|r'\ncondition: a or b") == set()


def test_every_clause_is_checked() -> None:
    prefilter = Prefilter([(frozenset({(EXE, "cmd")}), frozenset({(CL, "whoami"), (CL, "id")}))])
    assert prefilter.candidates({EXE: "cmd.exe", CL: "dir"}) == []
    assert prefilter.candidates({EXE: "cmd.exe", CL: "whoami"}) == [0]
    assert prefilter.candidates({EXE: "sh", CL: "whoami"}) == []


def test_keywords_are_searched_in_every_value() -> None:
    prefilter = Prefilter([frozenset({("*", "who'ami"), ("*", "\\x")}), frozenset({(CL, "zz")})])
    for _ in range(2):  # the second time, values come from the screening cache
        assert prefilter.candidates({CL: "abc", "n": 5, "l": ["a", "b"], "t": True}) == []
        assert prefilter.candidates({"l": ["a", "WHO'AMI"]}) == [0]
        assert prefilter.candidates({"l": ["a", 'B"\\X']}) == [0]
        assert prefilter.candidates({CL: "zz who'ami"}) == [0, 1]
        assert prefilter.candidates({"log.file.path": "/logs/who'ami.evtx", "n": 7}) == []


RULES = [
    f"a:\n  {CL}|contains: who\ncondition: a",
    f"a:\n  {CL}|contains|all: ['net', 'user']\ncondition: a",
    f"a:\n  {EXE}|endswith: ['\\sh', '\\bash']\nb:\n  {CL}|contains: '-c'\ncondition: a and b",
    f"a:\n  {CL}|startswith: 'net'\nf:\n  user.name: root\ncondition: a and not f",
    f"a:\n  {CL}: 'n*t?u'\ncondition: a",
    f"a:\n  {CL}|re: '^w.o'\ncondition: a",
    f"a:\n  {CL}|re|i: 'NET\\s+U'\ncondition: a",
    f"a:\n  {CL}|re: 'Who|net'\ncondition: a",
    f"a:\n  {CL}|contains: who\nb:\n  {EXE}: '*'\ncondition: a or b",
    "k:\n  - 'net'\ncondition: k",
    f"a:\n  process.args|contains: '-c'\nb:\n  {CL}|cased: 'Who'\ncondition: a or b",
    f"a:\n  {CL}|windash|contains: '-u'\ncondition: a",
    f"a:\n  {CL}|contains: who\nb:\n  user.name: null\ncondition: a and b",
    f"a:\n  {EXE}|endswith: '\\bash'\nn:\n  {CL}|contains: who\ncondition: not (a and n)",
    "a:\n  event.code: 12\ncondition: a",
]
WORDS = [
    "who",
    "WHO",
    "net",
    "NeT",
    "user",
    "u",
    "-c",
    "/u",
    "\\sh",
    "\\bash",
    "c:",
    "n",
    "t",
    "-",
    " ",
    "root",
    "",
]
text = st.lists(st.sampled_from(WORDS), max_size=6).map("".join)
events = st.fixed_dictionaries(
    {},
    optional={
        CL: text,
        EXE: text,
        "user.name": st.sampled_from(["root", "ROOT", "alice", ""]),
        "process.args": st.lists(text, max_size=3),
        "event.code": st.one_of(
            st.integers(-20, 20), st.sampled_from(["12", "012", "-12", " 12 ", "12.0", "1e1", "1_2", "x12"])
        ),
    },
)


def _ruleset() -> tuple[RuleSet, list[object]]:
    rules = tuple(compiled(detection) for detection in RULES)
    needs = tuple(required_literals(rule.condition) for rule in rules)
    return RuleSet(RuleSetData(rules, needs), router=None), [build_matcher(rule.condition) for rule in rules]


RULESET, MATCHERS = _ruleset()


@settings(max_examples=400, deadline=None)
@given(events)
def test_prefilter_never_changes_results(event: Event) -> None:
    expected = [
        rule for rule, matcher in zip(RULESET.rules, MATCHERS, strict=True) if matcher(EventView(event))
    ]  # type: ignore[operator]
    assert RULESET.evaluate(event) == expected


def test_the_property_test_covers_matches() -> None:
    assert [r.meta.id for r in RULESET.evaluate({CL: "net user who", EXE: "/bin/bash"})] != []
