"""The context stage end to end, through the real readers: sessions, lineage and network context."""

from __future__ import annotations

from pathlib import Path

from shellwatch.cli.app import sample_dir
from shellwatch.detect.ruleset import RuleSet
from shellwatch.detect.stage import DetectionStage
from shellwatch.enrich.context import ContextEnricher
from shellwatch.enrich.stage import EnrichmentStage
from shellwatch.pipeline import IngestConfig, run_scan
from shellwatch.sinks import Sinks
from shellwatch.sources.files import expand
from shellwatch.state.stage import ContextStage
from tests.sinks import ListSink

FIXTURES = Path(__file__).parent.parent / "fixtures"


def scan(paths: list[Path], ruleset: RuleSet | None = None) -> tuple[ListSink, ContextStage]:
    keep, context = ListSink(), ContextStage()
    detection = DetectionStage.from_ruleset(ruleset or RuleSet.build(use_cache=False))
    enrichment = EnrichmentStage([ContextEnricher(context)])
    run_scan(
        expand([str(path) for path in paths]),
        IngestConfig(),
        detection,
        Sinks([keep]),
        None,
        context,
        enrichment,
    )
    return keep, context


def test_failed_burst_then_ssh_login_then_reverse_shell() -> None:
    web01 = sample_dir() / "linux-web01"
    keep, _ = scan([web01 / "audit.log", web01 / "auth.log", web01 / "conn.log"])
    logins = [e for e in keep.events if e.get("event.action") == "user_start"]
    assert logins and logins[0]["shellwatch.session.failures_before"] == 6  # audit's failed USER_AUTHs
    shell = next(alert for alert in keep.alerts if "/dev/tcp/" in str(alert.get("process.command_line", "")))
    assert shell["shellwatch.category"] == "reverse-shell"
    assert shell["process.entry_meta.type"] == "sshd"
    assert shell["process.entry_meta.source.ip"] == "203.0.113.50"
    assert shell["shellwatch.session.user"] == "deploy"
    assert shell["process.interactive"] is True
    # the connection comes from the endpoint's audit log, its duration from the Zeek sensor's conn.log
    assert shell["shellwatch.network.destination.ip"] == ["203.0.113.50"]
    assert shell["shellwatch.network.destination.port"] == [4444]
    assert shell["shellwatch.network.sensor"] == ["zeek.conn"]
    assert (
        isinstance(shell["shellwatch.network.duration"], list) and shell["shellwatch.network.duration"][0] > 0
    )


def test_web_server_shell_is_seen_through_the_grandparent() -> None:
    keep, _ = scan([sample_dir() / "linux-web01" / "audit.log"])
    served = [
        alert for alert in keep.alerts if alert.get("process.parent.parent.executable") == "/usr/bin/node"
    ]
    assert served, [alert["rule.name"] for alert in keep.alerts]
    assert all(alert["process.entry_meta.type"] == "init" for alert in served)
    assert served[0]["process.entry_leader.executable"] == "/usr/bin/node"


def test_rdp_burst_then_logon_then_shell() -> None:
    keep, context = scan([FIXTURES / "ingest" / "winxml" / "rdp_bruteforce.xml"], RuleSet())
    logon = next(event for event in keep.events if event.get("event.code") == "4624")
    assert logon["shellwatch.session.failures_before"] == 3
    shells = [event for event in keep.events if event.get("event.code") == "4688"]
    assert shells
    for event in shells:
        assert event["shellwatch.session.source_ip"] == logon["source.ip"]
        assert event["process.entry_meta.source.ip"] == logon["source.ip"]
        assert event["shellwatch.session.method"] == "RemoteInteractive"
        assert event["process.entry_meta.type"] == "terminal"
    assert context.sessions.hosts
