"""Rules as data: each is (kind, severity, pattern, reason), checked per segment against one view of it.

A view is a string built from a segment and its neighbours:

``text``          the segment as written;
``command``       the command that really runs (past ``sudo``, ``env``, assignments), lowercased;
``redirections``  the segment's redirections, one a line;
``writes``        the files the segment writes: redirection targets, ``tee`` files, ``cp``/``mv``
                  destinations, ``Set-Content``/``Out-File`` paths, one a line;
``pipeline``      the segment and the ones it pipes into, joined with `` | ``;
``first``         the first command word, lowercased (``sudo`` in ``sudo -l``);
``piped``         the command that really runs when the segment reads a pipe, else "".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shellwatch.cmdline._words import basename, effective
from shellwatch.cmdline.model import Finding, Segment


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str
    severity: str
    pattern: re.Pattern[str]
    reason: str
    view: str = "text"


def _rule(kind: str, severity: str, pattern: str, reason: str, view: str = "text") -> Rule:
    return Rule(kind, severity, re.compile(pattern, re.IGNORECASE | re.MULTILINE), reason, view)


_SHELL = r"(?:ba|da|z|k|c|tc|a|fi)?sh"
_INTERPRETER = rf"(?:{_SHELL}|python[\d.]*|perl|ruby|php|node|lua|iex|invoke-expression|powershell|pwsh)"
_PIPE_TO = rf"\|&?\s*(?:(?:sudo|doas|env|exec|nohup)\s+(?:-\S+\s+)*)*(?:\S*[/\\])?{_INTERPRETER}\b(?!\.\w|-)"
_DOWNLOADER = (
    r"(?:curl|wget|fetch|lwp-download|aria2c|iwr|irm|invoke-webrequest|invoke-restmethod|"
    r"certutil|bitsadmin|start-bitstransfer)"
)
_WEBCLIENT = r"(?:net\.webclient|downloadstring|downloaddata|downloadfile|webrequest\]::create)"
_IEX = r"(?:\biex\b|invoke-expression)"
_CRON = r"(?:/etc/cron|/var/spool/cron|/etc/anacrontab|/var/spool/anacron)"
_SYSTEMD = r"(?:/etc/systemd/|/lib/systemd/|/usr/lib/systemd/|\.config/systemd/|/etc/init\.d/|/etc/init/)"
_RC = (
    r"(?:/etc/rc\.local|/etc/rc\.d/|/etc/profile|/etc/bash\.bashrc|/etc/environment|/etc/ld\.so\.preload|"
    r"\.bashrc\b|\.bash_profile\b|\.bash_login\b|\.bash_logout\b|\.profile\b|\.zshrc\b|\.zprofile\b|"
    r"\.zlogin\b|\.config/autostart/|/etc/xdg/autostart/|\\startup\\|microsoft\.powershell_profile\.ps1)"
)

RULES: tuple[Rule, ...] = (
    # network-redirection
    _rule(
        "network-redirection",
        "malicious",
        r"/dev/(?:tcp|udp)/",
        "redirection to a /dev/tcp or /dev/udp socket",
        "redirections",
    ),
    _rule(
        "network-redirection",
        "malicious",
        r"^(?:exec\s+)?\d*<?>?&?\s*/dev/(?:tcp|udp)/",
        "socket opened on a file descriptor",
    ),
    # download-to-interpreter
    _rule(
        "download-to-interpreter",
        "malicious",
        rf"^\S*?\b{_DOWNLOADER}\b.*?{_PIPE_TO}",
        "download piped to an interpreter",
        "pipeline",
    ),
    _rule(
        "download-to-interpreter",
        "malicious",
        rf"{_WEBCLIENT}.*?\|\s*{_IEX}",
        "web client output piped to Invoke-Expression",
        "pipeline",
    ),
    _rule(
        "download-to-interpreter",
        "malicious",
        rf"{_IEX}.*(?:{_WEBCLIENT}|\b(?:iwr|irm|invoke-webrequest|invoke-restmethod)\b)",
        "Invoke-Expression of a download",
    ),
    _rule(
        "download-to-interpreter",
        "malicious",
        rf"^(?:\S*/)?(?:{_SHELL}|python[\d.]*|perl|ruby)\b.*(?:\$\(|<\(|`)\s*(?:\S*/)?(?:curl|wget)\b",
        "interpreter runs a download",
    ),
    # pipe-to-shell
    _rule(
        "pipe-to-shell",
        "suspicious",
        rf"^{_INTERPRETER}$",
        "input piped into a shell or interpreter",
        "piped",
    ),
    # history-tampering
    _rule("history-tampering", "suspicious", r"^history\s+(?:-\w*\s+)*-\w*[cdw]", "shell history cleared"),
    _rule(
        "history-tampering",
        "suspicious",
        r"\bunset\s+(?:-v\s+)?(?:\w+\s+)*HIST(?:FILE|SIZE)\b",
        "history file unset",
    ),
    _rule(
        "history-tampering",
        "suspicious",
        r"\bHIST(?:FILE|SIZE|FILESIZE)=(?:/dev/null|0\b|['\"]{2})",
        "history disabled by variable",
    ),
    _rule("history-tampering", "suspicious", r"\bset\s+\+o\s+history\b", "history recording turned off"),
    _rule(
        "history-tampering",
        "suspicious",
        r"^(?:rm|shred|unlink|truncate|srm|wipe|ln)\b.*(?:\.\w*_history|consolehost_history)",
        "history file removed",
    ),
    _rule(
        "history-tampering",
        "suspicious",
        r"(?:\.\w*_history|consolehost_history\.txt)\s*$",
        "history file overwritten",
        "writes",
    ),
    _rule(
        "history-tampering",
        "suspicious",
        r"\b(?:clear-history|remove-item\b.*consolehost_history|set-psreadlineoption\b.*historysavestyle\s+savenothing)",
        "PowerShell history cleared",
    ),
    # persistence-write
    _rule("persistence-write", "suspicious", rf"{_CRON}", "write to a cron path", "writes"),
    _rule(
        "persistence-write",
        "suspicious",
        r"^crontab\s+(?:-u\s+\S+\s+)?(?:-\s*$|[^-\s]\S*\s*$)",
        "crontab installed from input or a file",
    ),
    _rule(
        "persistence-write", "suspicious", rf"{_SYSTEMD}", "write to a service unit or init script", "writes"
    ),
    _rule("persistence-write", "suspicious", r"^systemctl\s+(?:--?\S+\s+)*enable\b", "service enabled"),
    _rule("persistence-write", "suspicious", rf"{_RC}", "write to a shell start-up or rc file", "writes"),
    _rule("persistence-write", "suspicious", r"authorized_keys2?\b", "write to authorized_keys", "writes"),
    _rule("persistence-write", "suspicious", r"^schtasks(?:\.exe)?\b.*\s/create\b", "scheduled task created"),
    _rule(
        "persistence-write",
        "suspicious",
        r"^reg(?:\.exe)?\s+add\b.*\\(?:run|runonce|runservices|winlogon|image file execution options)\b",
        "registry autorun key written",
    ),
    _rule(
        "persistence-write",
        "suspicious",
        r"^sc(?:\.exe)?\s+(?:\\\\\S+\s+)?(?:create|config)\b",
        "service created or changed",
    ),
    _rule(
        "persistence-write",
        "suspicious",
        r"\b(?:new-itemproperty|set-itemproperty)\b.*\\currentversion\\run",
        "registry autorun key written",
    ),
    _rule(
        "persistence-write",
        "suspicious",
        r"\b(?:register-scheduledtask|new-scheduledtask\w*|new-service)\b",
        "scheduled task or service created",
    ),
    # privilege-change
    _rule(
        "privilege-change",
        "malicious",
        r"^chmod\s+(?:-\S+\s+)*(?:[ugoa]*[+=][rwxXt]*s|[0-7]?[2467][0-7]{3}\b)",
        "setuid or setgid bit set",
    ),
    _rule("privilege-change", "malicious", r"^setcap\b", "file capabilities set"),
    _rule(
        "privilege-change",
        "malicious",
        r"^(?:usermod\b.*-\w*G\s*\S*|gpasswd\s+-a\s+\S+|adduser\s+\S+|addgroup\s+\S+)\b.*\b(?:sudo|wheel|admin|root)\b",
        "user added to an administrative group",
    ),
    _rule(
        "privilege-change",
        "malicious",
        r"^net1?(?:\.exe)?\s+localgroup\s+(?:\"?administrators\"?|\"?remote desktop users\"?)\s.*/add\b",
        "user added to a Windows administrative group",
    ),
    _rule(
        "privilege-change",
        "malicious",
        r"\badd-localgroupmember\b.*-group\s+['\"]?administrators",
        "user added to a Windows administrative group",
    ),
    _rule(
        "privilege-change",
        "malicious",
        r"/etc/(?:sudoers|passwd|shadow)\b",
        "write to sudoers or the user database",
        "writes",
    ),
    _rule(
        "privilege-change",
        "suspicious",
        r"^(?:sudo|su|doas|runas|pkexec)$",
        "command run with other privileges",
        "first",
    ),
    # reverse-shell-tool
    _rule(
        "reverse-shell-tool",
        "malicious",
        r"^(?:nc|ncat|netcat|nc\.traditional|nc\.openbsd)\b.*\s(?:-\w*[ec]\b|--exec\b|--sh-exec\b|--lua-exec\b)",
        "netcat runs a program for the connection",
    ),
    _rule("reverse-shell-tool", "malicious", r"^socat\b.*\b(?:exec|system):", "socat runs a program"),
    _rule(
        "reverse-shell-tool",
        "malicious",
        rf"(?:^|\|\s*)(?:\S*/)?{_SHELL}\s+-i\b.*\|\s*(?:nc|ncat|netcat|telnet|openssl\s+s_client)\b",
        "interactive shell piped to a network tool",
        "pipeline",
    ),
    _rule(
        "reverse-shell-tool",
        "malicious",
        r"\bsocket\b.*\b(?:connect|dup2)\b.*\b(?:pty\.spawn|subprocess|/bin/(?:ba)?sh|exec)",
        "script opens a socket and runs a shell",
    ),
    _rule(
        "reverse-shell-tool",
        "malicious",
        r"net\.sockets\.tcpclient\b.*\b(?:iex|invoke-expression|getstream)",
        "PowerShell TCP client runs commands",
    ),
    # decode-to-shell
    _rule(
        "decode-to-shell",
        "malicious",
        rf"^\S*?\b(?:base64|base32|openssl\s+(?:enc\s+)?-?base64|xxd|uudecode)\b.*?\s-{{1,2}}(?:d|decode|D|r|p)\b.*?{_PIPE_TO}",
        "decoded data piped to an interpreter",
        "pipeline",
    ),
    _rule(
        "decode-to-shell",
        "malicious",
        rf"^(?:\S*/)?(?:{_SHELL}|eval)\b.*(?:\$\(|`).*\bbase64\s+(?:-\w*\s+)*-{{1,2}}(?:d|decode)\b",
        "shell runs decoded data",
    ),
    _rule(
        "decode-to-shell",
        "malicious",
        rf"(?:{_IEX}.*frombase64string|frombase64string.*{_IEX})",
        "Invoke-Expression of decoded data",
    ),
    # temp-path-exec
    _rule(
        "temp-path-exec",
        "suspicious",
        r"^(?:\S*[/\\])?(?:"
        r"(?:ba|da|z|k)?sh|source|\.|python[\d.]*|perl|ruby|node|php|chmod\s+(?:\S*\+\S*x|[0-7]*[157]{3})|"
        r"cmd(?:\.exe)?\s+/[ck]|powershell(?:\.exe)?(?:\s+-\S+)*\s+(?:-file\s+)?|start(?:-process)?|cscript|wscript|"
        r"rundll32|regsvr32|mshta|msiexec(?:\s+/\S+)*)?\s*[\"']?"
        r"(?:/tmp/|/var/tmp/|/dev/shm/|%te?mp%\\|\$env:te?mp\\|\$\{?tmpdir\}?/|c:\\windows\\temp\\|"
        r"c:\\users\\[^\\]+\\appdata\\local\\temp\\)",
        "program run from a temporary directory",
    ),
    # defense-evasion
    _rule(
        "defense-evasion", "malicious", r"^setenforce\s+(?:0|permissive)\b", "SELinux enforcement turned off"
    ),
    _rule(
        "defense-evasion",
        "malicious",
        r"^(?:systemctl\s+(?:--?\S+\s+)*(?:stop|disable|mask|kill)\s+(?:\S+\s+)*|service\s+)"
        r"(?:auditd|apparmor|firewalld|ufw|falcon-sensor|osqueryd|sysmon\w*|rsyslog|syslog|"
        r"syslog-ng|wazuh-agent|ossec|elastic-agent|filebeat|auditbeat)\b",
        "security or logging service stopped",
    ),
    _rule(
        "defense-evasion",
        "malicious",
        r"^auditctl\s+(?:.*\s)?(?:-D\b|-e\s*0\b)",
        "audit rules deleted or disabled",
    ),
    _rule(
        "defense-evasion", "malicious", r"\bset-mppreference\b.*-disable\w+", "Defender protection disabled"
    ),
    _rule("defense-evasion", "malicious", r"\badd-mppreference\b.*-exclusion\w+", "Defender exclusion added"),
    _rule(
        "defense-evasion",
        "malicious",
        r"^(?:ufw\s+disable|iptables\s+(?:-\S+\s+)*-F\b)",
        "firewall turned off",
    ),
    _rule(
        "defense-evasion",
        "malicious",
        r"^netsh(?:\.exe)?\s+(?:adv)?firewall\s+set\b.*\bstate\s+off\b",
        "Windows firewall turned off",
    ),
    _rule("defense-evasion", "malicious", r"^wevtutil(?:\.exe)?\s+(?:cl|clear-log)\b", "event log cleared"),
    _rule("defense-evasion", "malicious", r"\bclear-eventlog\b", "event log cleared"),
)

_DUP = re.compile(r"^\s*(?:\d+|&)?(?:>>|>\||>|<>|&>>|&>)&?\s*")
_COPIERS = frozenset(
    {
        "cp",
        "mv",
        "install",
        "ln",
        "rsync",
        "scp",
        "copy",
        "move",
        "xcopy",
        "robocopy",
        "copy-item",
        "move-item",
        "cpi",
        "mi",
        "dd",
    }
)
_PS_WRITERS = frozenset(
    {"set-content", "add-content", "out-file", "new-item", "sc", "ac", "ni", "tee-object"}
)


def write_targets(segment: Segment) -> list[str]:
    """Files that ``segment`` writes (best effort, never its inputs)."""
    targets: list[str] = []
    for redirection in segment.redirections:
        match = _DUP.match(redirection)
        if match is None:
            continue
        target = redirection[match.end() :].strip().strip("\"'")
        if target and not target.rstrip("-").isdigit():
            targets.append(target)
    args = effective(segment.argv, segment.shell)
    if not args:
        return targets
    name = basename(args[0], segment.shell).lower()
    rest = list(args[1:])
    positional = [a for a in rest if not a.startswith("-") and not (segment.shell != "bash" and a[:1] == "/")]
    if name == "tee":
        targets.extend(positional)
    elif name == "dd":
        targets.extend(a[3:] for a in rest if a.startswith("of="))
    elif name == "sed" and any(a.startswith("-i") or a == "--in-place" for a in rest) and positional:
        targets.append(positional[-1])
    elif name in _COPIERS or name in _PS_WRITERS:
        named = _named_value(rest, ("-destination", "-path", "-filepath", "-literalpath"))
        if named:
            targets.append(named)
        elif name in _PS_WRITERS and positional:
            targets.append(positional[0])
        elif len(positional) >= 2 or (name in {"copy-item", "move-item", "ln"} and positional):
            targets.append(positional[-1])
    return targets


def _named_value(args: list[str], names: tuple[str, ...]) -> str:
    lowered = [a.lower() for a in args]
    for name in names:
        if name in lowered:
            index = lowered.index(name)
            if index + 1 < len(args):
                return args[index + 1]
    return ""


def views(segments: tuple[Segment, ...], index: int) -> dict[str, str]:
    """The strings the rules look at for one segment."""
    segment = segments[index]
    args = effective(segment.argv, segment.shell)
    command = basename(args[0], segment.shell).lower() if args else ""
    pipeline = [segment.text]
    current = segment
    j = index + 1
    while current.operator in {"|", "|&"} and j < len(segments):
        if segments[j].depth > segment.depth:
            j += 1
            continue
        if segments[j].depth < segment.depth:
            break
        current = segments[j]
        pipeline.append(current.text)
        j += 1
    piped = ""
    j = index - 1
    while j >= 0 and segments[j].depth > segment.depth:
        j -= 1
    if j >= 0 and segments[j].depth == segment.depth and segments[j].operator in {"|", "|&"}:
        piped = command
    return {
        "text": segment.text,
        "command": command,
        "redirections": "\n".join(segment.redirections),
        "writes": "\n".join(write_targets(segment)),
        "pipeline": " | ".join(pipeline),
        "first": segment.command.lower(),
        "piped": piped,
    }


def check(segments: tuple[Segment, ...], rules: tuple[Rule, ...] = RULES) -> list[Finding]:
    """Findings over all segments, at most one per kind and segment (the most severe)."""
    findings: dict[tuple[str, int], Finding] = {}
    for index in range(len(segments)):
        seen = views(segments, index)
        for rule in rules:
            if not rule.pattern.search(seen.get(rule.view, "")):
                continue
            key = (rule.kind, index)
            previous = findings.get(key)
            if previous is None or (previous.severity == "suspicious" and rule.severity == "malicious"):
                findings[key] = Finding(rule.kind, rule.reason, index, rule.severity)
    return sorted(findings.values(), key=lambda f: (f.segment, f.kind))
