"""Sigma correlation rules over base-rule matches, in event time (``shellwatch.detect.correlate``)."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule

from shellwatch.detect.correlate import (
    Condition,
    CorrelationError,
    Correlator,
    CorrelatorSettings,
    MissingGroup,
    reference_map,
)
from shellwatch.detect.model import Match, RuleMeta
from shellwatch.events import Alert, Event, Value, timestamp_from_epoch

BASE = 1_714_557_600.0  # 2024-05-01T10:00:00Z
FAILED = RuleMeta(id="failed-login", title="Failed login", level="low")
SUCCESS = RuleMeta(id="successful-login", title="Successful login", level="low")
WHOAMI = RuleMeta(id="whoami", title="whoami", level="low")
IPCONFIG = RuleMeta(id="ipconfig", title="ipconfig", level="low")
NETUSER = RuleMeta(id="net-user", title="net user", level="low")
SSH_FAIL = RuleMeta(id="ssh-fail", title="SSH failure", level="low")
RESOLVE = {meta.id: meta for meta in (FAILED, SUCCESS, WHOAMI, IPCONFIG, NETUSER, SSH_FAIL)}


def at(seconds: float) -> str:
    return timestamp_from_epoch(BASE + seconds)


def match(rule: RuleMeta, seconds: float, host: str = "web1", **fields: Value) -> Match:
    event: Event = {"@timestamp": at(seconds), "host.name": host}
    event.update({name.replace("__", "."): value for name, value in fields.items()})
    return Match(rule, event)


def correlation(body: str, header: str = "") -> SigmaCorrelationRule:
    text = f"title: Test correlation\nid: 5d7f2b1e-0000-4000-8000-000000000001\nlevel: high\n{header}"
    return SigmaCorrelationRule.from_yaml(f"{text}correlation:\n{body}")


def run(
    rules: Sequence[SigmaCorrelationRule], matches: Iterable[Match], **options: Any
) -> tuple[list[Alert], Correlator]:
    correlator = Correlator(rules, RESOLVE, CorrelatorSettings(**options))
    return list(correlator.run(matches)), correlator


MANY_FAILED = """\
  type: event_count
  rules: failed-login
  group-by: [source.ip, user.name]
  timespan: 5m
  condition:
    gte: 10
"""


# -- event_count --------------------------------------------------------------------------------


def test_event_count_many_failed_logins_alert_document() -> None:
    header = "tags: [attack.credential-access, attack.t1110.001]\nshellwatch:\n  category: chained-commands\n"
    rule = correlation(MANY_FAILED, header)
    stream = [
        match(FAILED, 20 * i, source__ip="203.0.113.7", user__name="alice", process__pid=100 + i)
        for i in range(10)
    ]
    alerts, _ = run([rule], stream)
    assert alerts == [
        {
            "@timestamp": at(180),
            "host.name": "web1",
            "source.ip": "203.0.113.7",
            "user.name": "alice",
            "process.pid": 109,
            "event.kind": "alert",
            "rule.id": "5d7f2b1e-0000-4000-8000-000000000001",
            "rule.name": "Test correlation",
            "rule.level": "high",
            "threat.technique.id": ["T1110.001"],
            "shellwatch.category": "chained-commands",
            "shellwatch.correlation.group_by": ["source.ip", "user.name"],
            "shellwatch.correlation.type": "event_count",
            "shellwatch.correlation.count": 10,
            "shellwatch.correlation.rules": ["failed-login"],
            "shellwatch.correlation.first": at(0),
            "shellwatch.correlation.last": at(180),
        }
    ]


def test_event_count_nine_is_not_enough_and_twenty_give_two_alerts() -> None:
    rule = correlation(MANY_FAILED)
    nine = [match(FAILED, i, source__ip="203.0.113.7", user__name="alice") for i in range(9)]
    assert run([rule], nine)[0] == []
    twenty = [match(FAILED, i, source__ip="203.0.113.7", user__name="alice") for i in range(20)]
    alerts, _ = run([rule], twenty)
    assert [alert["@timestamp"] for alert in alerts] == [at(9), at(19)]
    assert [alert["shellwatch.correlation.first"] for alert in alerts] == [at(0), at(10)]


def test_event_count_groups_are_separate() -> None:
    rule = correlation(MANY_FAILED)
    stream = [
        match(FAILED, i, source__ip="203.0.113.7", user__name="alice" if i % 2 else "bob") for i in range(18)
    ]
    assert run([rule], stream)[0] == []


@pytest.mark.parametrize(("last", "expected"), [(300.0, 1), (300.000001, 0)])
def test_event_count_timespan_edge_is_inclusive(last: float, expected: int) -> None:
    """The first match at 0 and the tenth exactly one timespan later still count together."""
    rule = correlation(MANY_FAILED)
    moments = [0.0, *(100.0 + i for i in range(8)), last]
    stream = [match(FAILED, moment, source__ip="198.51.100.1", user__name="bob") for moment in moments]
    alerts, _ = run([rule], stream)
    assert len(alerts) == expected


def test_event_count_one_event_outside_the_window_is_forgotten() -> None:
    rule = correlation(MANY_FAILED)
    stream = [match(FAILED, 0, source__ip="192.0.2.9", user__name="carol")]
    stream += [match(FAILED, 301 + i, source__ip="192.0.2.9", user__name="carol") for i in range(9)]
    assert run([rule], stream)[0] == []
    stream.append(match(FAILED, 320, source__ip="192.0.2.9", user__name="carol"))
    alerts, _ = run([rule], stream)
    assert [alert["shellwatch.correlation.first"] for alert in alerts] == [at(301)]


# -- value_count --------------------------------------------------------------------------------

SPRAY = """\
  type: value_count
  rules: failed-login
  group-by: source.ip
  timespan: 10m
  condition:
    gte: 5
    field: user.name
"""


def test_value_count_distinct_target_users_per_source() -> None:
    rule = correlation(SPRAY)
    users = ["a", "b", "a", "c", "b", "d", "e", "f"]
    stream = [
        match(FAILED, 10 * i, source__ip="203.0.113.50", user__name=user) for i, user in enumerate(users)
    ]
    alerts, _ = run([rule], stream)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["@timestamp"] == at(60)
    assert alert["shellwatch.correlation.value_count"] == 5
    assert alert["shellwatch.correlation.count"] == 7
    assert alert["source.ip"] == "203.0.113.50"
    assert alert["user.name"] == "e"


def test_value_count_ignores_matches_without_the_field() -> None:
    rule = correlation(SPRAY)
    stream = [match(FAILED, i, source__ip="203.0.113.50", user__name=str(i)) for i in range(4)]
    stream.append(match(FAILED, 5, source__ip="203.0.113.50"))
    alerts, correlator = run([rule], stream)
    assert alerts == []
    assert correlator.stats.ungrouped == 1


def test_value_count_values_leaving_the_window_are_no_longer_distinct() -> None:
    rule = correlation(SPRAY)
    stream = [match(FAILED, 0, source__ip="203.0.113.50", user__name="old")]
    stream += [match(FAILED, 601 + i, source__ip="203.0.113.50", user__name=str(i)) for i in range(4)]
    assert run([rule], stream)[0] == []


# -- temporal -----------------------------------------------------------------------------------

RECON = """\
  type: temporal
  rules: [whoami, ipconfig, net-user]
  group-by: user.name
  timespan: 5m
"""


def test_temporal_recon_commands_in_any_order() -> None:
    rule = correlation(RECON)
    stream = [
        match(NETUSER, 0, user__name="eve", process__name="net.exe"),
        match(WHOAMI, 30, user__name="eve", process__name="whoami.exe"),
        match(WHOAMI, 40, user__name="eve", process__name="whoami.exe"),
        match(IPCONFIG, 90, user__name="eve", process__name="ipconfig.exe"),
    ]
    alerts, _ = run([rule], stream)
    assert len(alerts) == 1
    assert alerts[0]["@timestamp"] == at(90)
    assert alerts[0]["process.name"] == "ipconfig.exe"
    assert alerts[0]["shellwatch.correlation.count"] == 3
    assert alerts[0]["shellwatch.correlation.first"] == at(0)
    assert alerts[0]["shellwatch.correlation.rules"] == ["whoami", "ipconfig", "net-user"]


def test_temporal_needs_every_rule_within_the_timespan_for_one_user() -> None:
    rule = correlation(RECON)
    late = [match(NETUSER, 0, user__name="eve"), match(WHOAMI, 200), match(IPCONFIG, 301, user__name="eve")]
    late[1] = match(WHOAMI, 200, user__name="eve")
    assert run([rule], late)[0] == []
    split = [match(NETUSER, 0, user__name="eve"), match(WHOAMI, 1, user__name="eve")]
    split.append(match(IPCONFIG, 2, user__name="mallory"))
    assert run([rule], split)[0] == []


def test_temporal_two_of_three() -> None:
    rule = correlation(RECON.replace("timespan: 5m", "timespan: 5m\n  condition:\n    gte: 2"))
    alerts, _ = run([rule], [match(WHOAMI, 0, user__name="eve"), match(WHOAMI, 1, user__name="eve")])
    assert alerts == []
    alerts, _ = run([rule], [match(WHOAMI, 0, user__name="eve"), match(NETUSER, 1, user__name="eve")])
    assert [alert["shellwatch.correlation.count"] for alert in alerts] == [2]


# -- temporal_ordered ---------------------------------------------------------------------------

FAIL_THEN_SUCCESS = """\
  type: temporal_ordered
  rules: [failed-login, successful-login]
  group-by: user.name
  timespan: 10m
"""


def test_temporal_ordered_failed_then_successful_login() -> None:
    rule = correlation(FAIL_THEN_SUCCESS)
    stream = [
        match(FAILED, 0, user__name="alice"),
        match(FAILED, 60, user__name="alice"),
        match(SUCCESS, 500, user__name="alice", source__ip="203.0.113.7"),
    ]
    alerts, _ = run([rule], stream)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["shellwatch.correlation.first"] == at(60)
    assert alert["shellwatch.correlation.last"] == at(500)
    assert alert["shellwatch.correlation.count"] == 2
    assert alert["source.ip"] == "203.0.113.7"


def test_temporal_ordered_wrong_order_or_too_far_apart() -> None:
    rule = correlation(FAIL_THEN_SUCCESS)
    reversed_order = [match(SUCCESS, 0, user__name="alice"), match(FAILED, 10, user__name="alice")]
    assert run([rule], reversed_order)[0] == []
    too_far = [match(FAILED, 0, user__name="alice"), match(SUCCESS, 600.5, user__name="alice")]
    assert run([rule], too_far)[0] == []
    edge = [match(FAILED, 0, user__name="alice"), match(SUCCESS, 600, user__name="alice")]
    assert len(run([rule], edge)[0]) == 1


def test_temporal_ordered_three_steps_uses_latest_start() -> None:
    rule = correlation(
        "  type: temporal_ordered\n  rules: [whoami, ipconfig, net-user]\n"
        "  group-by: user.name\n  timespan: 1m\n"
    )
    stream = [
        match(WHOAMI, 0, user__name="eve"),
        match(IPCONFIG, 10, user__name="eve"),
        match(WHOAMI, 50, user__name="eve"),
        match(IPCONFIG, 55, user__name="eve"),
        match(NETUSER, 100, user__name="eve"),
    ]
    alerts, _ = run([rule], stream)
    assert [alert["shellwatch.correlation.first"] for alert in alerts] == [at(50)]


def test_chained_correlation_many_failed_logins_then_success() -> None:
    """The Sigma specification's example: an event_count correlation inside a temporal_ordered one."""
    many = SigmaCorrelationRule.from_yaml(
        "title: Many failed logins\nname: many_failed_logins\n"
        "correlation:\n  type: event_count\n  rules: failed-login\n  group-by: user.name\n"
        "  timespan: 10m\n  condition:\n    gte: 3\n"
    )
    then = SigmaCorrelationRule.from_yaml(
        "title: Success after failures\nid: 0e95725d-7320-415d-80f7-004da920fc11\nlevel: critical\n"
        "correlation:\n  type: temporal_ordered\n  rules: [many_failed_logins, successful-login]\n"
        "  group-by: user.name\n  timespan: 1h\n"
    )
    stream = [match(FAILED, i * 30, user__name="alice") for i in range(3)]
    stream.append(match(SUCCESS, 1200, user__name="alice"))
    stream.append(match(SUCCESS, 1300, user__name="bob"))
    alerts, correlator = run([many, then], stream)
    assert [(alert["rule.id"], alert["@timestamp"]) for alert in alerts] == [
        ("0e95725d-7320-415d-80f7-004da920fc11", at(1200))
    ]
    assert alerts[0]["shellwatch.correlation.rules"] == ["many_failed_logins", "successful-login"]
    assert alerts[0]["shellwatch.correlation.first"] == at(60)
    assert correlator.silenced == frozenset({"many_failed_logins", "failed-login", "successful-login"})


# -- close-time conditions ----------------------------------------------------------------------

FEW = """\
  type: event_count
  rules: ssh-fail
  group-by: source.ip
  timespan: 1m
  condition:
    lt: 3
"""


def test_fewer_than_is_evaluated_when_the_window_closes() -> None:
    rule = correlation(FEW)
    correlator = Correlator([rule], RESOLVE, CorrelatorSettings(lateness=0))
    out: list[Alert] = []
    for moment, ip in [
        (0, "10.0.0.1"),
        (5, "10.0.0.2"),
        (10, "10.0.0.1"),
        (20, "10.0.0.2"),
        (30, "10.0.0.2"),
    ]:
        out += correlator.push(match(SSH_FAIL, moment, source__ip=ip))
    assert out == []
    out += correlator.push(match(SSH_FAIL, 60.5, source__ip="10.0.0.3"))
    assert [
        (alert["source.ip"], alert["@timestamp"], alert["shellwatch.correlation.count"]) for alert in out
    ] == [("10.0.0.1", at(10), 2)]
    flushed = correlator.flush()
    assert [(alert["source.ip"], alert["shellwatch.correlation.count"]) for alert in flushed] == [
        ("10.0.0.3", 1)
    ]
    assert correlator.flush() == []


def test_close_time_window_restarts_after_its_end() -> None:
    rule = correlation(FEW)
    stream = [match(SSH_FAIL, moment, source__ip="10.0.0.1") for moment in (0, 30, 60, 61, 62, 70)]
    alerts, _ = run([rule], stream, lateness=0)
    # window [0, 60] holds 3 (not < 3); window [61, 121] holds 3 as well
    assert alerts == []
    stream = [match(SSH_FAIL, moment, source__ip="10.0.0.1") for moment in (0, 30, 60, 61)]
    alerts, _ = run([rule], stream, lateness=0)
    assert [
        (alert["shellwatch.correlation.first"], alert["shellwatch.correlation.count"]) for alert in alerts
    ] == [(at(61), 1)]


@pytest.mark.parametrize(
    ("condition", "counts", "expected"),
    [
        ({"eq": 2}, [1, 2, 3], [2]),
        ({"neq": 2}, [1, 2, 3], [1, 3]),
        ({"gte": 2, "lte": 3}, [1, 2, 3, 4], [2, 3]),
        ({"gt": 1, "lt": 4}, [1, 2, 3, 4], [2, 3]),
    ],
)
def test_eq_neq_and_ranges(condition: dict[str, int], counts: list[int], expected: list[int]) -> None:
    base = Correlator([correlation(FEW)], RESOLVE).correlations[0]
    ranged = dataclasses.replace(base, condition=Condition.from_mapping(condition))
    stream = [
        match(SSH_FAIL, index * 0.1, source__ip=f"10.0.0.{count}")
        for count in counts
        for index in range(count)
    ]
    stream.sort(key=lambda item: str(item.event["@timestamp"]))
    alerts = list(Correlator([ranged]).run(stream))
    assert sorted(int(str(alert["source.ip"]).rsplit(".", 1)[1]) for alert in alerts) == expected


def test_range_conditions_are_only_checked_at_close() -> None:
    assert Condition.from_mapping({"gte": 2}).monotone
    assert not Condition.from_mapping({"gte": 2, "lte": 5}).monotone
    assert Condition.from_mapping({"gt": 1, "lt": 4}).holds(3)
    assert not Condition.from_mapping({"gt": 1, "lt": 4}).holds(4)
    with pytest.raises(CorrelationError):
        Condition.from_mapping({"field": "user.name"})


# -- order, lateness, watermark -----------------------------------------------------------------


def test_out_of_order_within_lateness_counts_as_sorted() -> None:
    rule = correlation(MANY_FAILED)
    stream = [match(FAILED, i * 5, source__ip="203.0.113.7", user__name="alice") for i in range(10)]
    shuffled = stream[5:] + stream[:5]  # two files: the later one read first, 25 s apart
    alerts, correlator = run([rule], shuffled, lateness=60)
    assert [alert["@timestamp"] for alert in alerts] == [at(45)]
    assert correlator.stats.late == 0


def test_match_older_than_the_released_ones_is_dropped_and_counted() -> None:
    rule = correlation(MANY_FAILED)
    stream = [match(FAILED, 100 + i, source__ip="203.0.113.7", user__name="alice") for i in range(9)]
    stream.append(match(FAILED, 0, source__ip="203.0.113.7", user__name="alice"))
    alerts, correlator = run([rule], stream, lateness=5)
    assert alerts == []
    assert correlator.stats.late == 1


def test_unbounded_lateness_buffers_until_flush() -> None:
    rule = correlation(MANY_FAILED)
    second_file = [match(FAILED, 1000 + i, source__ip="203.0.113.7", user__name="alice") for i in range(5)]
    first_file = [match(FAILED, 990 + i, source__ip="203.0.113.7", user__name="alice") for i in range(5)]
    correlator = Correlator([rule], RESOLVE, CorrelatorSettings(lateness=None))
    pushed = [alert for item in second_file + first_file for alert in correlator.push(item)]
    assert pushed == []
    flushed = correlator.flush()
    assert [alert["@timestamp"] for alert in flushed] == [at(1004)]
    assert correlator.stats.late == 0


def test_full_buffer_releases_its_oldest() -> None:
    rule = correlation(MANY_FAILED)
    stream = [match(FAILED, i, source__ip="203.0.113.7", user__name="alice") for i in range(10)]
    correlator = Correlator([rule], RESOLVE, CorrelatorSettings(lateness=None, max_pending=3))
    pushed = [alert for item in stream for alert in correlator.push(item)]
    assert pushed == []  # the 10th is still buffered
    assert correlator.stats.overflow == 7
    assert [alert["@timestamp"] for alert in correlator.flush()] == [at(9)]


def test_untimed_matches_are_counted() -> None:
    rule = correlation(MANY_FAILED)
    correlator = Correlator([rule], RESOLVE)
    assert correlator.push(Match(FAILED, {"host.name": "web1", "@timestamp": "yesterday"})) == []
    assert correlator.push(Match(FAILED, {"host.name": "web1"})) == []
    assert correlator.stats.untimed == 2


# -- groups and aliases -------------------------------------------------------------------------


def test_missing_group_field_is_skipped_by_default() -> None:
    rule = correlation(MANY_FAILED)
    stream = [match(FAILED, i, source__ip="203.0.113.7") for i in range(10)]
    alerts, correlator = run([rule], stream)
    assert alerts == []
    assert correlator.stats.ungrouped == 10


def test_missing_group_field_as_none_group() -> None:
    rule = correlation(MANY_FAILED)
    stream = [match(FAILED, i, source__ip="203.0.113.7") for i in range(10)]
    alerts, _ = run([rule], stream, missing_group=MissingGroup.NONE)
    assert len(alerts) == 1
    assert "user.name" not in alerts[0]
    assert alerts[0]["source.ip"] == "203.0.113.7"


def test_aliases_map_one_group_to_different_fields_per_rule() -> None:
    rule = correlation(
        "  type: temporal_ordered\n  rules: [failed-login, successful-login]\n  group-by: account\n"
        "  timespan: 10m\n  aliases:\n    account:\n      failed-login: user.target.name\n"
        "      successful-login: user.name\n"
    )
    stream = [
        match(FAILED, 0, user__target__name="alice", user__name="SYSTEM"),
        match(SUCCESS, 5, user__name="bob"),
        match(SUCCESS, 10, user__name="alice"),
    ]
    alerts, _ = run([rule], stream)
    assert len(alerts) == 1
    assert alerts[0]["shellwatch.correlation.alias.account"] == "alice"
    assert alerts[0]["user.name"] == "alice"
    assert alerts[0]["@timestamp"] == at(10)


def test_field_map_translates_sigma_field_names() -> None:
    rule = correlation(MANY_FAILED.replace("[source.ip, user.name]", "[IpAddress, TargetUserName]"))
    stream = [match(FAILED, i, source__ip="203.0.113.7", user__name="alice") for i in range(10)]
    alerts, _ = run([rule], stream, field_map={"IpAddress": "source.ip", "TargetUserName": "user.name"})
    assert [alert["shellwatch.correlation.count"] for alert in alerts] == [10]


def test_live_groups_are_capped() -> None:
    rule = correlation(MANY_FAILED.replace("gte: 10", "gte: 2"))
    stream = [
        match(FAILED, 0, source__ip="203.0.113.1", user__name="a"),
        match(FAILED, 1, source__ip="203.0.113.2", user__name="a"),
        match(FAILED, 2, source__ip="203.0.113.3", user__name="a"),
        match(FAILED, 3, source__ip="203.0.113.1", user__name="a"),
        match(FAILED, 4, source__ip="203.0.113.3", user__name="a"),
    ]
    alerts, correlator = run([rule], stream, max_groups=2, lateness=0)
    assert [alert["source.ip"] for alert in alerts] == ["203.0.113.3"]
    assert correlator.stats.evicted == 2


def test_windows_are_evicted_once_their_time_has_passed() -> None:
    rule = correlation(MANY_FAILED)
    correlator = Correlator([rule], RESOLVE, CorrelatorSettings(lateness=0))
    for i in range(50):
        correlator.push(match(FAILED, i, source__ip=f"203.0.113.{i}", user__name="a"))
    assert len(correlator.state()["hosts"]["web1"]["windows"]["5d7f2b1e-0000-4000-8000-000000000001"]) == 50
    correlator.push(match(FAILED, 400, source__ip="198.51.100.1", user__name="a"))
    windows = correlator.state()["hosts"]["web1"]["windows"]["5d7f2b1e-0000-4000-8000-000000000001"]
    assert [key for key, _ in windows] == [["198.51.100.1", "a"]]
    assert windows[0][1]["entries"] == [[int(BASE + 400) * 1_000_000, None]]


# -- generate and base alerts -------------------------------------------------------------------


def test_generate_decides_whether_base_rules_alert() -> None:
    silent = correlation(MANY_FAILED)
    loud = SigmaCorrelationRule.from_yaml(
        "title: Loud\nname: loud\ncorrelation:\n  type: event_count\n  rules: [failed-login, whoami]\n"
        "  generate: true\n  timespan: 1m\n  condition:\n    gte: 2\n"
    )
    only_silent = Correlator([silent], RESOLVE)
    assert not only_silent.base_alerts("failed-login")
    assert only_silent.base_alerts("whoami")
    both = Correlator([silent, loud], RESOLVE)
    assert both.base_alerts("failed-login")
    assert both.base_alerts("whoami")
    assert both.referenced == frozenset({"failed-login", "whoami"})


def test_rules_not_referenced_are_ignored() -> None:
    correlator = Correlator([correlation(MANY_FAILED)], RESOLVE)
    assert correlator.push(match(WHOAMI, 0, user__name="eve")) == []
    assert correlator.state()["hosts"] == {}


def test_unsupported_and_unresolvable_rules_are_errors() -> None:
    with pytest.raises(CorrelationError, match="unknown rule 'nope'"):
        Correlator(
            [correlation("  type: event_count\n  rules: nope\n  timespan: 1m\n  condition:\n    gte: 2\n")]
        )
    with pytest.raises(CorrelationError, match="extended"):
        Correlator(
            [
                correlation(
                    "  type: temporal\n  rules: [whoami, ipconfig]\n  timespan: 1m\n"
                    "  condition: whoami and ipconfig\n"
                )
            ],
            RESOLVE,
        )
    with pytest.raises(CorrelationError, match="value_sum"):
        Correlator(
            [
                correlation(
                    "  type: value_sum\n  rules: whoami\n  timespan: 1m\n"
                    "  condition:\n    gte: 2\n    field: x\n"
                )
            ],
            RESOLVE,
        )
    with pytest.raises(CorrelationError, match="temporal_ordered"):
        Correlator(
            [
                correlation(
                    "  type: temporal_ordered\n  rules: [whoami, ipconfig]\n  timespan: 1m\n"
                    "  condition:\n    lt: 2\n"
                )
            ],
            RESOLVE,
        )


def test_cycles_between_correlations_are_errors() -> None:
    one = SigmaCorrelationRule.from_yaml(
        "title: One\nname: one\ncorrelation:\n  type: event_count\n  rules: [two]\n  timespan: 1m\n"
        "  condition:\n    gte: 2\n"
    )
    two = SigmaCorrelationRule.from_yaml(
        "title: Two\nname: two\ncorrelation:\n  type: event_count\n  rules: [one]\n  timespan: 1m\n"
        "  condition:\n    gte: 2\n"
    )
    with pytest.raises(CorrelationError, match="cycle"):
        Correlator([one, two], RESOLVE)


# -- state and partitioning ---------------------------------------------------------------------


def _mixed_stream(seed: int, hosts: Sequence[str], length: int) -> list[Match]:
    chooser = random.Random(seed)
    rules = [FAILED, SUCCESS, WHOAMI, IPCONFIG, NETUSER, SSH_FAIL]
    stream = []
    for index in range(length):
        moment = index * 7 + chooser.uniform(-20, 20)
        stream.append(
            match(
                chooser.choice(rules),
                moment,
                host=chooser.choice(hosts),
                user__name=chooser.choice(["alice", "bob"]),
                source__ip=chooser.choice(["203.0.113.1", "203.0.113.2"]),
            )
        )
    return stream


ALL_RULES = [
    MANY_FAILED.replace("gte: 10", "gte: 3"),
    SPRAY.replace("gte: 5", "gte: 2"),
    RECON,
    FAIL_THEN_SUCCESS,
    FEW,
]


def _all_correlations() -> list[SigmaCorrelationRule]:
    return [
        SigmaCorrelationRule.from_yaml(
            f"title: Rule {index}\nid: 5d7f2b1e-0000-4000-8000-00000000000{index}\nlevel: high\n"
            f"correlation:\n{body}"
        )
        for index, body in enumerate(ALL_RULES)
    ]


def _key(alert: Alert) -> bytes:
    return orjson.dumps(alert, option=orjson.OPT_SORT_KEYS)


def test_state_survives_json_and_resumes_exactly() -> None:
    stream = _mixed_stream(7, ["web1", "db1"], 300)
    options = CorrelatorSettings(lateness=30)
    whole = Correlator(_all_correlations(), RESOLVE, options)
    expected = list(whole.run(stream))
    assert len(expected) > 10
    first = Correlator(_all_correlations(), RESOLVE, options)
    got = [alert for item in stream[:150] for alert in first.push(item)]
    saved = orjson.loads(orjson.dumps(first.state()))
    second = Correlator.from_state(saved, _all_correlations(), RESOLVE, options)
    got += list(second.run(stream[150:]))
    assert got == expected
    assert second.stats == whole.stats


def test_state_of_another_version_is_refused() -> None:
    with pytest.raises(CorrelationError, match="version"):
        Correlator.from_state({"version": 99}, _all_correlations(), RESOLVE)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    length=st.integers(0, 200),
    lateness=st.sampled_from([0.0, 15.0, 60.0, None]),
    missing=st.sampled_from(list(MissingGroup)),
)
def test_partitioning_by_host_gives_the_same_alerts(
    seed: int, length: int, lateness: float | None, missing: MissingGroup
) -> None:
    hosts = ["web1", "web2", "db1", "db2"]
    stream = _mixed_stream(seed, hosts, length)
    options = CorrelatorSettings(lateness=lateness, missing_group=missing)
    together = Correlator(_all_correlations(), RESOLVE, options)
    expected = sorted(_key(alert) for alert in together.run(stream))
    left = Correlator(_all_correlations(), RESOLVE, options)
    right = Correlator(_all_correlations(), RESOLVE, options)
    alerts = list(left.run(item for item in stream if item.event["host.name"] in hosts[:2]))
    alerts += right.run(item for item in stream if item.event["host.name"] in hosts[2:])
    assert sorted(_key(alert) for alert in alerts) == expected
    assert together.stats.late == left.stats.late + right.stats.late


# -- real YAML through pySigma ------------------------------------------------------------------

YAML = """\
title: Failed logon
id: 0a6b6f3b-2a43-4f3c-8e0e-5b1b9d0b0001
name: failed_logon
status: test
level: low
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
---
title: Successful logon
id: 0a6b6f3b-2a43-4f3c-8e0e-5b1b9d0b0002
name: successful_logon
status: test
level: low
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4624
    condition: selection
---
title: Brute force followed by a logon
id: 0a6b6f3b-2a43-4f3c-8e0e-5b1b9d0b0003
status: test
level: high
tags:
    - attack.credential-access
    - attack.t1110
shellwatch:
    category: unusual-shell
correlation:
    type: temporal_ordered
    rules:
        - failed_logon
        - 0a6b6f3b-2a43-4f3c-8e0e-5b1b9d0b0002
    group-by:
        - user.name
    timespan: 10m
"""


@dataclass(frozen=True)
class _LoadedRule:
    rule: SigmaRule
    meta: RuleMeta


def test_correlator_from_sigma_collection() -> None:
    collection = SigmaCollection.from_yaml(YAML)
    base = [rule for rule in collection.rules if isinstance(rule, SigmaRule)]
    correlations = [rule for rule in collection.rules if isinstance(rule, SigmaCorrelationRule)]
    loaded = [_LoadedRule(rule, RuleMeta(str(rule.id), rule.title, str(rule.level))) for rule in base]
    references = reference_map(loaded)
    assert set(references) == {
        "failed_logon",
        "successful_logon",
        "0a6b6f3b-2a43-4f3c-8e0e-5b1b9d0b0001",
        "0a6b6f3b-2a43-4f3c-8e0e-5b1b9d0b0002",
    }
    correlator = Correlator(correlations, references)
    failed, success = (item.meta for item in loaded)
    assert not correlator.base_alerts(failed.id)
    alerts = list(
        correlator.run(
            [
                match(failed, 0, host="dc1", user__name="admin", event__code="4625"),
                match(success, 120, host="dc1", user__name="admin", event__code="4624"),
            ]
        )
    )
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["rule.id"] == "0a6b6f3b-2a43-4f3c-8e0e-5b1b9d0b0003"
    assert alert["rule.name"] == "Brute force followed by a logon"
    assert alert["rule.level"] == "high"
    assert alert["threat.technique.id"] == ["T1110"]
    assert alert["shellwatch.category"] == "unusual-shell"
    assert alert["shellwatch.correlation.rules"] == [failed.id, success.id]
    assert alert["event.code"] == "4624"
    assert alert["host.name"] == "dc1"


def test_unknown_category_in_a_correlation_rule_is_an_error() -> None:
    with pytest.raises(CorrelationError, match=r"shellwatch\.category"):
        Correlator([correlation(MANY_FAILED, "shellwatch:\n  category: whatever\n")], RESOLVE)
