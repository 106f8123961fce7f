"""User context: the identity source (passwd/group, AD CSV), privilege levels and their reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from shellwatch.enrich.base import SCORE_KEY
from shellwatch.enrich.user import Identity, UserEnricher, load_identity
from shellwatch.errors import ConfigError
from shellwatch.events import Alert

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "enrich" / "identity"
DOMAIN_SID = "S-1-5-21-1111111111-2222222222-3333333333"


@pytest.fixture(scope="module")
def identity() -> Identity:
    return load_identity(unix_dir=FIXTURES / "unix", ad_csv=FIXTURES / "ad" / "users.csv")


@pytest.fixture(scope="module")
def enricher(identity: Identity) -> UserEnricher:
    return UserEnricher(identity)


def enriched(enricher: UserEnricher, **fields: str) -> Alert:
    alert: Alert = {
        "rule.level": "medium",
        **{key.replace("__", "."): value for key, value in fields.items()},
    }
    enricher.enrich(alert)
    return alert


def privilege(alert: Alert) -> tuple[object, object]:
    return alert["shellwatch.user.privilege"], alert["shellwatch.user.privilege_reason"]


# --------------------------------------------------------------------------------------------- Linux


def test_uid_0_is_root_without_any_identity_source() -> None:
    alert = enriched(UserEnricher(), host__name="web01", user__id="0")
    assert privilege(alert) == ("root", ["uid 0"])
    assert alert["shellwatch.user.privileged"] is True
    assert alert[SCORE_KEY] == 50 + 10


def test_effective_uid_0_is_root() -> None:
    alert = enriched(UserEnricher(), user__name="alice", user__id="1000", user__effective__id="0")
    assert privilege(alert) == ("root", ["effective uid 0"])


def test_sudo_to_root() -> None:
    alert = enriched(
        UserEnricher(),
        user__name="alice",
        user__target__name="root",
        user__effective__name="root",
        process__parent__name="sudo",
    )
    assert privilege(alert) == ("root", ["effective user root", "sudo to root"])


def test_sudo_group_from_the_group_file(enricher: UserEnricher) -> None:
    alert = enriched(enricher, host__name="db01", user__name="alice", user__id="1000")
    assert privilege(alert) == ("admin", ["in sudo group"])
    assert alert["shellwatch.user.groups"] == ["alice", "sudo"]
    assert alert["user.group.name"] == "alice"
    assert alert["user.roles"] == ["alice", "sudo"]
    assert alert["user.full_name"] == "Alice Admin"


def test_host_files_win_over_global_ones(enricher: UserEnricher) -> None:
    on_web01 = enriched(enricher, host__name="WEB01.corp.example", user__id="1000")
    assert on_web01["user.full_name"] == "Carol Ops"
    assert privilege(on_web01) == ("admin", ["in wheel group"])
    elsewhere = enriched(enricher, host__name="db01", user__id="1001")
    assert elsewhere["user.full_name"] == "Bob User"
    assert privilege(elsewhere) == ("user", ["no privileged id, group or token"])
    assert elsewhere["shellwatch.user.privileged"] is False
    assert SCORE_KEY not in elsewhere


def test_group_ids_of_the_event_are_named_by_the_group_file(enricher: UserEnricher) -> None:
    alert = enriched(
        enricher, host__name="db01", user__name="bob", user__id="1001", user__effective__group__id="27"
    )
    assert privilege(alert) == ("admin", ["in sudo group"])
    assert alert["shellwatch.user.groups"] == ["bob", "docker", "sudo"]


def test_keys_the_event_has_are_kept(enricher: UserEnricher) -> None:
    alert = enriched(enricher, host__name="db01", user__id="1000", user__group__name="staff")
    assert alert["user.group.name"] == "staff"
    assert alert["shellwatch.user.groups"] == ["alice", "sudo", "staff"]


@pytest.mark.parametrize(
    ("fields", "reasons"),
    [
        (
            {"user__name": "www-data", "user__id": "33"},
            ["service account www-data", "uid 33 with no login shell (/usr/sbin/nologin)"],
        ),
        ({"user__name": "backup", "user__id": "34"}, ["uid 34 with no login shell (/usr/sbin/nologin)"]),
        ({"user__name": "nginx"}, ["service account nginx"]),
    ],
    ids=["by-name-and-shell", "by-shell", "by-name"],
)
def test_service_accounts(enricher: UserEnricher, fields: dict[str, str], reasons: list[str]) -> None:
    alert = enriched(enricher, host__name="db01", **fields)
    assert privilege(alert) == ("service", reasons)
    assert alert["shellwatch.user.privileged"] is False
    assert SCORE_KEY not in alert


def test_a_system_uid_with_a_login_shell_is_a_user(enricher: UserEnricher) -> None:
    assert enriched(enricher, host__name="db01", user__id="998")["shellwatch.user.privilege"] == "user"


def test_a_linux_name_reaches_ad_only_when_qualified(enricher: UserEnricher) -> None:
    qualified = enriched(enricher, host__name="db01", user__name="da.jones@corp.example")
    assert privilege(qualified) == ("admin", ["member of Domain Admins"])
    bare = enriched(enricher, host__name="db01", user__name="da.jones")
    assert bare["shellwatch.user.privilege"] == "user"


# ------------------------------------------------------------------------------------------- Windows


def test_system_by_sid() -> None:
    alert = enriched(UserEnricher(), user__name="WEB01$", user__domain="CORP", user__id="S-1-5-18")
    assert privilege(alert) == ("system", ["SID S-1-5-18 (SYSTEM)", "computer account WEB01$"])
    assert alert["shellwatch.user.privileged"] is True


def test_system_by_name_as_sysmon_writes_it() -> None:
    alert = enriched(UserEnricher(), user__name="SYSTEM", user__domain="NT AUTHORITY")
    assert privilege(alert) == ("system", ["user NT AUTHORITY\\SYSTEM"])


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"user__id": "S-1-5-20", "user__name": "NETWORK SERVICE"}, "SID S-1-5-20 (NETWORK SERVICE)"),
        ({"user__name": "LOCAL SERVICE", "user__domain": "NT AUTHORITY"}, "user NT AUTHORITY\\LOCAL SERVICE"),
        (
            {"user__name": "DefaultAppPool", "user__domain": "IIS APPPOOL"},
            "service account IIS APPPOOL\\DefaultAppPool",
        ),
    ],
)
def test_windows_service_accounts(fields: dict[str, str], reason: str) -> None:
    alert = enriched(UserEnricher(), **fields)
    assert privilege(alert) == ("service", [reason])


def test_the_new_process_account_of_a_4688_counts() -> None:
    alert = enriched(UserEnricher(), user__name="alice", user__domain="CORP", user__target__id="S-1-5-18")
    assert privilege(alert) == ("system", ["target SID S-1-5-18 (SYSTEM)"])


def test_domain_admins_from_the_ad_export_by_sid(enricher: UserEnricher) -> None:
    alert = enriched(
        enricher,
        host__name="WKS-0042",
        user__name="da.jones",
        user__domain="CORP",
        user__id=f"{DOMAIN_SID}-1105",
    )
    assert privilege(alert) == ("admin", ["member of Domain Admins"])
    assert alert["user.full_name"] == "Dana Jones"
    assert alert["user.group.name"] == "Domain Users"
    assert alert["shellwatch.user.groups"] == ["Domain Users", "Domain Admins", "VPN Users"]


def test_domain_admins_by_name_when_the_event_has_no_sid(enricher: UserEnricher) -> None:
    alert = enriched(enricher, host__name="WKS-0042", user__name="DA.JONES", user__domain="CORP")
    assert privilege(alert) == ("admin", ["member of Domain Admins"])


@pytest.mark.parametrize(
    ("rid", "reason"),
    [
        ("1107", "member of Enterprise Admins"),
        ("1109", "member of Domain Admins"),
        ("1110", "member of Administrators"),
        ("500", f"SID {DOMAIN_SID}-500 (built-in Administrator)"),
    ],
    ids=["domain-name", "primary-group", "builtin-sid", "rid-500"],
)
def test_other_ways_to_be_a_domain_administrator(enricher: UserEnricher, rid: str, reason: str) -> None:
    alert = enriched(enricher, host__name="WKS-0042", user__id=f"{DOMAIN_SID}-{rid}")
    assert privilege(alert) == ("admin", [reason])


def test_an_unknown_sid_is_not_looked_up_by_name(enricher: UserEnricher) -> None:
    alert = enriched(
        enricher,
        host__name="WKS-0042",
        user__name="da.jones",
        user__domain="CORP",
        user__id=f"{DOMAIN_SID}-9999",
    )
    assert alert["shellwatch.user.privilege"] == "user"
    assert "user.full_name" not in alert


def test_a_local_account_is_not_the_domain_one(enricher: UserEnricher) -> None:
    alert = enriched(
        enricher, host__name="wks-0042.corp.example", user__name="da.jones", user__domain="WKS-0042"
    )
    assert alert["shellwatch.user.privilege"] == "user"


def test_a_disabled_account_is_flagged(enricher: UserEnricher) -> None:
    alert = enriched(enricher, host__name="WKS-0042", user__id=f"{DOMAIN_SID}-1107")
    assert alert["shellwatch.user.disabled"] is True


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"winlog__event_data__TokenElevationType": "%%1937"}, "elevated token (%%1937)"),
        ({"shellwatch__windows__token_elevation": "full"}, "elevated token (%%1937)"),
        ({"winlog__event_data__IntegrityLevel": "High"}, "high integrity level"),
        ({"winlog__event_data__MandatoryLabel": "S-1-16-12288"}, "high integrity level"),
    ],
)
def test_elevated_token(fields: dict[str, str], reason: str) -> None:
    alert = enriched(UserEnricher(), user__name="bob", user__domain="CORP", **fields)
    assert privilege(alert) == ("elevated", [reason])
    assert alert["shellwatch.user.privileged"] is True


def test_a_limited_token_is_a_plain_user() -> None:
    alert = enriched(
        UserEnricher(),
        user__name="bob",
        user__domain="CORP",
        winlog__event_data__TokenElevationType="%%1938",
        winlog__event_data__IntegrityLevel="Medium",
    )
    assert alert["shellwatch.user.privilege"] == "user"


def test_a_stronger_level_wins_over_elevated() -> None:
    alert = enriched(UserEnricher(), user__id="S-1-5-18", sysmon__integrity_level="System")
    assert privilege(alert) == ("system", ["SID S-1-5-18 (SYSTEM)", "system integrity level"])


# ------------------------------------------------------------------------------------ no user, errors


def test_no_user_is_unknown(enricher: UserEnricher) -> None:
    alert = enriched(enricher, host__name="web01", process__name="sh")
    assert privilege(alert) == ("unknown", ["no user in the event"])
    assert alert["shellwatch.user.privileged"] is False
    assert "shellwatch.user.groups" not in alert


def test_malformed_unix_lines_are_reported_and_skipped() -> None:
    loaded = load_identity(passwd=FIXTURES / "bad" / "passwd", group=FIXTURES / "bad" / "group")
    passwd, group = str(FIXTURES / "bad" / "passwd"), str(FIXTURES / "bad" / "group")
    assert [str(issue) for issue in loaded.issues] == [
        f"{passwd}:3: expected 7 colon-separated fields (name:x:uid:gid:gecos:home:shell), found 1",
        f"{passwd}:4: uid 'abc' is not a number",
        f"{passwd}:5: empty user name",
        f"{group}:2: expected 4 colon-separated fields (name:x:gid:members), found 3",
        f"{group}:3: bad group name or gid 'notanumber'",
    ]
    alert = enriched(UserEnricher(loaded), user__name="mallory")
    assert privilege(alert) == ("admin", ["in sudo group"])


def test_malformed_ad_rows_are_reported_and_skipped(identity: Identity) -> None:
    path = str(FIXTURES / "ad" / "users.csv")
    assert [str(issue) for issue in identity.issues] == [
        f"{path}:10: expected 7 fields, found 3",
        f"{path}:11: objectSid 'S-1-5-21-x' is not a SID",
        f"{path}:12: userAccountControl 'lots' is not a number",
        f"{path}:13: no account name (sAMAccountName or userPrincipalName)",
    ]


def test_a_utf16_ad_export_with_other_column_names(tmp_path: Path) -> None:
    export = tmp_path / "ad.csv"
    text = (
        "UserPrincipalName,SID,Groups,Enabled\r\n"
        "ops.admin@corp.example,S-1-5-21-1-2-3-1200,Domain Admins,False\r\n"
    )
    export.write_bytes(text.encode("utf-16"))
    loaded = load_identity(ad_csv=export)
    assert loaded.issues == []
    alert = enriched(UserEnricher(loaded), user__name="ops.admin", user__domain="CORP")
    assert privilege(alert) == ("admin", ["member of Domain Admins"])
    assert alert["shellwatch.user.disabled"] is True


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"ad_csv": FIXTURES / "absent.csv"}, "cannot read the AD export"),
        ({"ad_csv": FIXTURES / "unix" / "passwd"}, "no sAMAccountName or userPrincipalName column"),
        ({"unix_dir": FIXTURES / "ad"}, "no passwd or group file"),
        (
            {"unix_dir": FIXTURES / "unix", "passwd": FIXTURES / "bad" / "passwd"},
            "do not also give single files",
        ),
        ({"passwd": FIXTURES / "absent"}, "cannot read the passwd file"),
    ],
)
def test_unusable_sources_are_config_errors(kwargs: dict[str, Path], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_identity(**kwargs)
