"""Hash reputation: the local database and its CSV imports, and VirusTotal through the real vt-py client.

VirusTotal is a small v3 API server on 127.0.0.1 (stdlib ``http.server`` in a thread) that checks the
``x-apikey`` header, answers with the real JSON shapes, and counts the requests it gets. Time is a clock
the tests move, so the rate limiter and the cache TTL are tested without sleeping.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import zipfile
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from shellwatch.enrich.base import SCORE_KEY
from shellwatch.enrich.reputation import (
    HashDatabase,
    ReputationEnricher,
    VTSettings,
    collect_hashes,
    permalink,
    ratio_from_stats,
    verdict_from_stats,
)
from shellwatch.errors import InputError
from shellwatch.events import Alert
from tests.conftest import FIXTURES

API_KEY = "test-key"
START = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
MB_CSV = FIXTURES / "enrich" / "malwarebazaar_recent.csv"


def digests(seed: str) -> tuple[str, str, str]:
    """MD5, SHA-1 and SHA-256 of a made-up file."""
    data = seed.encode()
    return hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest()


AGENT_TESLA = digests("mb-agenttesla")  # in the MalwareBazaar fixture
EVIL = digests("evil")
CLEAN = digests("clean")


def alert_for(*seeds: str, owner: str = "process") -> Alert:
    """An alert whose process (or ``owner``) has the SHA-256 of each seed (one owner per seed)."""
    owners = [owner, "process.parent", "file", "dll", "x.y"]
    alert: Alert = {"rule.level": "medium", SCORE_KEY: 50}
    for who, seed in zip(owners, seeds, strict=False):
        alert[f"{who}.hash.sha256"] = digests(seed)[2]
    return alert


# A VirusTotal v3 API on loopback


class FakeVirusTotal(ThreadingHTTPServer):
    """``GET /api/v3/files/{id}`` as VirusTotal answers it: the file object, 404, 401 or 429."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), VirusTotalHandler)
        self.files: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.quota_exceeded = False
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def add(self, seed: str, name: str = "", **stats: int) -> tuple[str, str, str]:
        """Make VirusTotal know a file, with its ``last_analysis_stats``; return its hashes."""
        md5, sha1, sha256 = digests(seed)
        full = {"malicious": 0, "suspicious": 0, "undetected": 0, "harmless": 0, "type-unsupported": 4}
        attributes = {"last_analysis_stats": full | stats, "md5": md5, "sha1": sha1, "sha256": sha256}
        if name:
            attributes["meaningful_name"] = name
        for digest in (md5, sha1, sha256):
            self.files[digest] = attributes
        return md5, sha1, sha256


class VirusTotalHandler(BaseHTTPRequestHandler):
    server: FakeVirusTotal
    prefix = "/api/v3/files/"

    def do_GET(self) -> None:
        vt = self.server
        vt.requests.append(self.path)
        if self.headers.get("x-apikey") != API_KEY:
            self.error(401, "WrongCredentialsError", "Wrong API key")
        elif vt.quota_exceeded:
            self.error(429, "QuotaExceededError", "Quota exceeded")
        elif not self.path.startswith(self.prefix) or self.path[len(self.prefix) :] not in vt.files:
            self.error(404, "NotFoundError", f'File "{self.path[len(self.prefix) :]}" not found')
        else:
            attributes = vt.files[self.path[len(self.prefix) :]]
            sha256 = attributes["sha256"]
            links = {"self": f"https://www.virustotal.com/api/v3/files/{sha256}"}
            self.send(200, {"data": {"type": "file", "id": sha256, "links": links, "attributes": attributes}})

    def error(self, status: int, code: str, message: str) -> None:
        self.send(status, {"error": {"code": code, "message": message}})

    def send(self, status: int, document: dict[str, Any]) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture()
def vt_server() -> Iterator[FakeVirusTotal]:
    server = FakeVirusTotal()
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


class Clock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock() -> Clock:
    return Clock()


MakeEnricher = Callable[..., ReputationEnricher]


@pytest.fixture()
def make_enricher(tmp_path: Path, vt_server: FakeVirusTotal, clock: Clock) -> Iterator[MakeEnricher]:
    """Enrichers on one database (``tmp_path/reputation.db``), asking the loopback VirusTotal."""
    made: list[ReputationEnricher] = []

    def make(
        key: str | None = API_KEY, host: str | None = None, per_day: int = 500, **options: Any
    ) -> ReputationEnricher:
        settings = VTSettings(key, host=host or vt_server.url, per_day=per_day, timeout=5) if key else None
        enricher = ReputationEnricher(tmp_path / "reputation.db", settings, clock=clock, **options)
        made.append(enricher)
        return enricher

    yield make
    for enricher in made:
        enricher.close()


def enriched(enricher: ReputationEnricher, alert: Alert) -> Alert:
    enricher.enrich(alert)
    return alert


# Verdicts from VirusTotal's statistics


@pytest.mark.parametrize(
    ("stats", "verdict"),
    [
        ({"malicious": 12, "suspicious": 0, "undetected": 58, "harmless": 0}, "malicious"),
        ({"malicious": 3, "undetected": 60}, "malicious"),
        ({"malicious": 2, "undetected": 60}, "suspicious"),
        ({"malicious": 0, "suspicious": 3, "undetected": 60}, "suspicious"),
        ({"malicious": 0, "suspicious": 2, "undetected": 60}, "harmless"),
        ({"malicious": 0, "harmless": 1}, "harmless"),
        ({"malicious": 0, "undetected": 0, "harmless": 0, "type-unsupported": 10}, "unknown"),
        ({}, "unknown"),
    ],
)
def test_verdict_from_stats(stats: dict[str, int], verdict: str) -> None:
    assert verdict_from_stats(stats) == verdict


def test_ratio_counts_engines_that_gave_a_result() -> None:
    stats = {"malicious": 12, "suspicious": 1, "undetected": 55, "harmless": 2, "type-unsupported": 5}
    assert ratio_from_stats(stats) == "12/70"


# The local database


def test_malwarebazaar_export_imports_and_reports_the_bad_lines(tmp_path: Path) -> None:
    db = HashDatabase(tmp_path / "reputation.db")
    result = db.import_csv(MB_CSV)
    assert (result.format, result.imported, result.updated, result.unchanged) == ("malwarebazaar", 2, 0, 0)
    assert result.skipped == {"bad hash": 1, "wrong column count": 1}
    assert [(issue.line, issue.reason) for issue in result.errors] == [
        (12, "bad hash"),
        (13, "wrong column count"),
    ]
    assert str(result.errors[0]).startswith(f"{MB_CSV}:12: bad hash: sha256_hash ")
    for digest in AGENT_TESLA:
        answer = db.lookup(digest)
        assert answer is not None
        assert (answer.verdict, answer.source, answer.name) == (
            "malicious",
            "local:malwarebazaar",
            "AgentTesla",
        )
    unsigned = db.lookup(digests("mb-unsigned")[2])
    assert unsigned is not None and unsigned.name == ""  # "n/a" is no signature
    again = db.import_csv(MB_CSV)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 2)
    db.close()


def test_zipped_malwarebazaar_dump_is_read(tmp_path: Path) -> None:
    archive = tmp_path / "full.csv.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(MB_CSV, "full.csv")
    db = HashDatabase(tmp_path / "reputation.db")
    assert db.import_csv(archive).imported == 2
    db.close()


def test_generic_list_with_verdicts_sources_and_bad_rows(tmp_path: Path) -> None:
    listing = tmp_path / "team_hashes.csv"
    md5 = digests("dropper")[0]
    listing.write_text(
        "SHA256,Verdict,Source,Name\n"
        f"{CLEAN[2]},harmless,allowlist,powershell.exe\n"
        f"{EVIL[2]},,,Dropper\n"
        f"{EVIL[2][:10]},harmless,,short\n"
        f"{digests('odd')[2]},clean,,odd\n"
        f"{md5},suspicious,,wrong column\n"
    )
    db = HashDatabase(tmp_path / "reputation.db")
    result = db.import_csv(listing)
    assert (result.format, result.imported) == ("generic", 2)
    assert [(issue.line, issue.reason) for issue in result.errors] == [
        (4, "bad hash"),
        (5, "bad verdict"),
        (6, "bad hash"),  # an MD5 in the sha256 column
    ]
    clean, evil = db.lookup(CLEAN[2]), db.lookup(EVIL[2])
    assert clean is not None and (clean.verdict, clean.source) == ("harmless", "local:allowlist")
    assert evil is not None and (evil.verdict, evil.source, evil.name) == (
        "malicious",
        "local:team_hashes",
        "Dropper",
    )
    listing.write_text(f"hash,verdict\n{EVIL[2]},suspicious\n")
    assert db.import_csv(listing).updated == 1
    evil = db.lookup(EVIL[2])
    assert evil is not None and evil.verdict == "suspicious"
    db.close()


def test_a_file_without_hash_column_is_refused(tmp_path: Path) -> None:
    listing = tmp_path / "names.csv"
    listing.write_text("name,comment\nmimikatz,bad\n")
    with pytest.raises(InputError, match=r"names\.csv:1: no header"):
        HashDatabase(tmp_path / "reputation.db").import_csv(listing)


def test_local_hit_needs_no_virustotal(make_enricher: MakeEnricher, vt_server: FakeVirusTotal) -> None:
    enricher = make_enricher()
    enricher.db.import_csv(MB_CSV)
    md5, _, sha256 = AGENT_TESLA
    alert = enriched(enricher, {"process.hash.sha256": sha256, "process.hash.md5": md5, SCORE_KEY: 50})
    assert vt_server.requests == []
    assert alert["shellwatch.reputation.hash.value"] == [sha256, md5]
    assert alert["shellwatch.reputation.hash.field"] == ["process.hash.sha256", "process.hash.md5"]
    assert alert["shellwatch.reputation.hash.verdict"] == ["malicious", "malicious"]
    assert alert["shellwatch.reputation.hash.source"] == ["local:malwarebazaar"] * 2
    assert alert["shellwatch.reputation.hash.name"] == ["AgentTesla"] * 2
    assert alert["shellwatch.reputation.verdict"] == "malicious"
    assert "shellwatch.reputation.vt_status" not in alert
    assert alert[SCORE_KEY] == 70


def test_trusted_harmless_lowers_the_score(make_enricher: MakeEnricher, tmp_path: Path) -> None:
    listing = tmp_path / "allowlist.csv"
    listing.write_text(f"sha256,verdict\n{CLEAN[2]},harmless\n")
    trusting, doubting = make_enricher(trusted_sources={"allowlist"}), make_enricher()
    trusting.db.import_csv(listing)
    assert enriched(trusting, alert_for("clean"))[SCORE_KEY] == 40
    assert enriched(doubting, alert_for("clean"))[SCORE_KEY] == 50
    unknown_parent = enriched(trusting, alert_for("clean", "never-seen"))
    assert unknown_parent["shellwatch.reputation.verdict"] == "unknown"
    assert unknown_parent[SCORE_KEY] == 50


def test_alert_without_hashes_gets_no_keys(make_enricher: MakeEnricher) -> None:
    alert: Alert = {"process.command_line": "bash -i", "process.hash.sha256": "not-a-hash"}
    enriched(make_enricher(), alert)
    assert alert == {"process.command_line": "bash -i", "process.hash.sha256": "not-a-hash"}


def test_hashes_are_grouped_per_file_and_process_first() -> None:
    md5, _, sha256 = EVIL
    alert: Alert = {
        "dll.hash.md5": CLEAN[0],
        "process.hash.md5": md5.upper(),
        "process.hash.sha256": sha256,
        "shellwatch.process.children.hash.sha256": [CLEAN[2], "", EVIL[2]],
    }
    groups = [[(ref.field, ref.digest) for ref in refs] for refs in collect_hashes(alert)]
    assert groups == [
        [("process.hash.md5", md5), ("process.hash.sha256", sha256)],
        [("dll.hash.md5", CLEAN[0])],
        [("shellwatch.process.children.hash.sha256", CLEAN[2])],
        [("shellwatch.process.children.hash.sha256", EVIL[2])],
    ]


# VirusTotal


def test_virustotal_answer(make_enricher: MakeEnricher, vt_server: FakeVirusTotal) -> None:
    md5, sha1, sha256 = vt_server.add("evil", "payload.exe", malicious=12, undetected=58)
    alert = enriched(make_enricher(), {"file.hash.md5": md5, "file.hash.sha1": sha1, SCORE_KEY: 50})
    assert vt_server.requests == [f"/api/v3/files/{sha1}"]  # one file, one request: the strongest hash
    assert alert["shellwatch.reputation.hash.verdict"] == ["malicious", "malicious"]
    assert alert["shellwatch.reputation.hash.source"] == ["virustotal", "virustotal"]
    assert alert["shellwatch.reputation.hash.name"] == ["payload.exe", "payload.exe"]
    assert alert["shellwatch.reputation.hash.ratio"] == ["12/70", "12/70"]
    assert alert["shellwatch.reputation.hash.link"] == [permalink(sha256)] * 2
    assert permalink(sha256) == f"https://www.virustotal.com/gui/file/{sha256}"
    assert (alert["shellwatch.reputation.verdict"], alert["shellwatch.reputation.vt_status"]) == (
        "malicious",
        "ok",
    )
    assert alert[SCORE_KEY] == 70
    by_sha256 = enriched(make_enricher(), {"process.hash.sha256": sha256})
    assert by_sha256["shellwatch.reputation.vt_status"] == "cached"  # the answer is kept for every hash
    assert len(vt_server.requests) == 1


def test_not_on_virustotal_is_cached(make_enricher: MakeEnricher, vt_server: FakeVirusTotal) -> None:
    enricher = make_enricher()
    first = enriched(enricher, alert_for("nobody-knows"))
    assert (first["shellwatch.reputation.verdict"], first["shellwatch.reputation.vt_status"]) == (
        "unknown",
        "ok",
    )
    assert first["shellwatch.reputation.hash.source"] == ["virustotal"]
    second = enriched(enricher, alert_for("nobody-knows"))
    assert second["shellwatch.reputation.vt_status"] == "cached"
    assert len(vt_server.requests) == 1


def test_cache_expires_after_its_ttl(
    make_enricher: MakeEnricher, vt_server: FakeVirusTotal, clock: Clock
) -> None:
    vt_server.add("evil", malicious=40, undetected=30)
    enricher = make_enricher()
    enriched(enricher, alert_for("evil"))
    clock.now += 7 * 86400 - 1
    assert enriched(enricher, alert_for("evil"))["shellwatch.reputation.vt_status"] == "cached"
    clock.now += 2
    assert enriched(enricher, alert_for("evil"))["shellwatch.reputation.vt_status"] == "ok"
    assert len(vt_server.requests) == 2


def test_quota_exceeded_stops_asking(
    make_enricher: MakeEnricher, vt_server: FakeVirusTotal, clock: Clock
) -> None:
    vt_server.add("evil", malicious=40)
    vt_server.quota_exceeded = True
    enricher = make_enricher()
    alert = enriched(enricher, alert_for("evil", "clean"))
    assert alert["shellwatch.reputation.vt_status"] == "rate-limited"
    assert alert["shellwatch.reputation.hash.verdict"] == ["unknown", "unknown"]
    assert alert["shellwatch.reputation.hash.source"] == ["", ""]
    assert enriched(enricher, alert_for("evil"))["shellwatch.reputation.vt_status"] == "rate-limited"
    assert len(vt_server.requests) == 1
    vt_server.quota_exceeded = False
    clock.now += 60
    assert enriched(enricher, alert_for("evil"))["shellwatch.reputation.verdict"] == "malicious"
    assert len(vt_server.requests) == 2


def test_free_tier_limit_defers_the_fifth_lookup(
    make_enricher: MakeEnricher, vt_server: FakeVirusTotal, clock: Clock
) -> None:
    enricher = make_enricher()
    for number in range(4):
        assert enriched(enricher, alert_for(f"file-{number}"))["shellwatch.reputation.vt_status"] == "ok"
        clock.now += 10
    fifth = enriched(enricher, alert_for("file-4"))
    assert fifth["shellwatch.reputation.vt_status"] == "deferred"
    assert len(vt_server.requests) == 4
    clock.now = START + 60  # the first lookup leaves the one-minute window
    assert enriched(enricher, alert_for("file-4"))["shellwatch.reputation.vt_status"] == "ok"
    assert len(vt_server.requests) == 5


def test_daily_budget_is_shared_by_enrichers_on_one_database(
    make_enricher: MakeEnricher, vt_server: FakeVirusTotal, clock: Clock
) -> None:
    enriched(make_enricher(per_day=2), alert_for("a"))
    clock.now += 120
    second = make_enricher(per_day=2)
    enriched(second, alert_for("b"))
    clock.now += 120
    assert enriched(second, alert_for("c"))["shellwatch.reputation.vt_status"] == "deferred"
    assert len(vt_server.requests) == 2


def test_offline_is_unavailable_and_never_raises(make_enricher: MakeEnricher, clock: Clock) -> None:
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    enricher = make_enricher(host=f"http://127.0.0.1:{port}")
    alert = enriched(enricher, alert_for("evil"))
    assert alert["shellwatch.reputation.vt_status"] == "unavailable"
    assert alert["shellwatch.reputation.verdict"] == "unknown"
    assert "shellwatch.enrich.errors" not in alert


def test_wrong_key_is_unauthorized_for_the_run(
    make_enricher: MakeEnricher, vt_server: FakeVirusTotal, clock: Clock
) -> None:
    enricher = make_enricher(key="wrong-key")
    assert enriched(enricher, alert_for("evil"))["shellwatch.reputation.vt_status"] == "unauthorized"
    clock.now += 3600
    assert enriched(enricher, alert_for("clean"))["shellwatch.reputation.vt_status"] == "unauthorized"
    assert len(vt_server.requests) == 1


def test_without_key_virustotal_is_not_used(make_enricher: MakeEnricher, vt_server: FakeVirusTotal) -> None:
    alert = enriched(make_enricher(key=None), alert_for("evil"))
    assert alert["shellwatch.reputation.verdict"] == "unknown"
    assert "shellwatch.reputation.vt_status" not in alert
    assert vt_server.requests == []


def test_settings_from_environment() -> None:
    assert VTSettings.from_env({"VT_API_KEY": " k "}) == VTSettings("k")
    assert VTSettings.from_env({}) is None


def test_default_database_lives_in_the_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELLWATCH_CACHE_DIR", str(tmp_path / "cache"))
    with ReputationEnricher() as enricher:
        enricher.enrich(alert_for("evil"))
        assert enricher.db.path == tmp_path / "cache" / "reputation.db"
        assert enricher.db.path.is_file()
