"""Rules as data: each is (kind, severity, pattern, reason, view), compiled once at import.

A rule looks at one *view* of a segment, a string built from the segment and its neighbours:

``run``           the command that really runs (past ``sudo``, ``env``, assignments, ``&``), its basename
                  lowercased, then its arguments with quotes removed; the body of ``bash -c``,
                  ``cmd /c`` or ``powershell -Command`` is left out, as it is split into segments of its own;
``command``       the basename of that command, lowercased;
``first``         the program word as written first, lowercased (``sudo`` in ``sudo -l``);
``program``       the path of the program that really runs, as written;
``script``        the script or program a launcher runs (``bash x.sh``, ``python x.py``, ``start x.exe``);
``redirections``  the segment's redirections as written, one a line;
``writes``        the files the segment writes: redirection targets, ``tee`` files, ``cp``/``mv``
                  destinations, ``Set-Content``/``Out-File`` paths, one a line;
``assignments``   the variables it sets (``HISTFILE=/dev/null``, ``export HISTSIZE=0``), one a line;
``pipeline``      the ``run`` of the segment and of the segments it pipes into, joined with `` | ``;
``piped``         the ``command`` when the segment reads a pipe, else "";
``text``          the segment as written.

Rules with the view ``line`` look once at the whole line (the segments' texts, one a line, with the
bodies of ``bash -c`` and such left to their own segments); their finding goes to the segment where the
match begins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shellwatch.cmdline._words import (
    POSIX_SHELLS,
    basename,
    command_start,
    effective_start,
    is_assignment,
    name_at,
    shell_body,
)
from shellwatch.cmdline.model import PIPES, Finding, Segment


@dataclass(frozen=True, slots=True)
class Rule:
    """One flag: ``pattern`` searched in one view of a segment.

    ``needles`` (lowercase) make a cheap first test for patterns that are not anchored at the start: the
    pattern is only searched when one of them is in the view.
    """

    kind: str
    severity: str
    pattern: re.Pattern[str]
    reason: str
    view: str = "run"
    needles: tuple[str, ...] = ()


# Views that hold one item a line. The others are one string (``.`` matches a newline in them), where a
# leading ``^`` makes the regex engine try the start only. Patterns avoid nested unbounded repeats, so that
# no text makes a search slower than linear (tests/cmdline/test_flags.py feeds them adversarial text).
MULTILINE_VIEWS = frozenset({"redirections", "writes", "assignments", "line"})


def _rule(
    kind: str, severity: str, pattern: str, reason: str, view: str = "run", needles: tuple[str, ...] = ()
) -> Rule:
    flags = re.IGNORECASE | (re.MULTILINE if view in MULTILINE_VIEWS else re.DOTALL)
    return Rule(kind, severity, re.compile(pattern, flags), reason, view, needles)


_SHELL = r"(?:ba|da|z|k|c|tc|a|fi|mk)?sh"
_INTERPRETER = rf"(?:{_SHELL}|python[\d.]*|perl|ruby|php|node|lua|iex|invoke-expression|powershell|pwsh)"
_TO_INTERPRETER = rf"\|\s*{_INTERPRETER}(?=\s|$)"
_DOWNLOADER = (
    r"(?:curl|wget|fetch|lwp-download|lwp-request|aria2c|iwr|irm|invoke-webrequest|invoke-restmethod|"
    r"certutil|bitsadmin|start-bitstransfer)"
)
_WEBCLIENT = (
    r"(?:net\.webclient|downloadstring|downloaddata|downloadfile|webrequest\]::create|"
    r"msxml2\.(?:server)?xmlhttp|winhttp\.winhttprequest)"
)
_IEX = r"(?:\biex\b|\binvoke-expression\b)"
_CRON = r"(?:/etc/cron|/var/spool/cron|/etc/anacrontab|/var/spool/anacron)"
_SYSTEMD = r"(?:/etc/systemd/|/lib/systemd/|/usr/lib/systemd/|\.config/systemd/|/etc/init\.d/|/etc/init/)"
_RC = (
    r"(?:/etc/rc\.local|/etc/rc\.d/|/etc/profile|/etc/bash\.bashrc|/etc/environment|/etc/ld\.so\.preload|"
    r"\.bashrc$|\.bash_profile$|\.bash_login$|\.bash_logout$|(?:^|/)\.profile$|\.zshrc$|\.zprofile$|"
    r"\.zlogin$|\.zshenv$|\.config/autostart/|/etc/xdg/autostart/|/library/launch(?:agents|daemons)/|"
    r"\\startup\\|microsoft\.powershell_profile\.ps1$)"
)
_TEMP = (
    r"[\"']?(?:/tmp/|/var/tmp/|/dev/shm/|%te?mp%\\|\$env:te?mp\\|\$\{?tmpdir\}?/|c:\\windows\\temp\\|"
    r"c:\\users\\[^\\]+\\appdata\\local\\temp\\|%localappdata%\\temp\\|\$env:localappdata\\temp\\)"
)
_SECURITY_SERVICE = (
    r"(?:auditd|apparmor|firewalld|ufw|falcon-sensor|osqueryd|sysmon\w*|rsyslog|syslog|syslog-ng|"
    r"wazuh-agent|ossec|elastic-agent|filebeat|auditbeat|windefend|sense)(?:\.service)?"
)
_ADMIN_GROUP = r"(?:sudo|wheel|admin|root)\b"
_HISTORY_FILE = r"(?:\.\w*_history\b|consolehost_history|historysavepath)"

RULES: tuple[Rule, ...] = (
    # network-redirection
    _rule(
        "network-redirection",
        "malicious",
        r"/dev/(?:tcp|udp)/",
        "redirection to a /dev/tcp or /dev/udp socket",
        "redirections",
    ),
    # download-to-interpreter
    _rule(
        "download-to-interpreter",
        "malicious",
        rf"^{_DOWNLOADER}\s.*?{_TO_INTERPRETER}",
        "download piped to an interpreter",
        "pipeline",
    ),
    _rule(
        "download-to-interpreter",
        "malicious",
        rf"^(?>.*?{_WEBCLIENT}).*?\|\s*{_IEX}",
        "web client output piped to Invoke-Expression",
        "pipeline",
        needles=("webclient", "download", "webrequest", "xmlhttp", "winhttprequest"),
    ),
    _rule(
        "download-to-interpreter",
        "malicious",
        rf"^{_IEX}\s.*(?:{_WEBCLIENT}|\b(?:iwr|irm|invoke-webrequest|invoke-restmethod|curl|wget)\b)",
        "Invoke-Expression of a download",
    ),
    _rule(
        "download-to-interpreter",
        "malicious",
        rf"^(?:(?:{_SHELL}|source|\.|eval|python[\d.]*|perl|ruby|php|node)\s.*?)?(?:\$\(|<\(|`)\s*+"
        r"(?:[^\s/$`()]*+/)*+(?:curl|wget|fetch)\b",
        "shell or interpreter runs the output of a download",
    ),
    _rule(
        "download-to-interpreter",
        "malicious",
        rf"\A(?>[\s\S]*?(?:{_WEBCLIENT}|\b(?:iwr|irm|invoke-webrequest|invoke-restmethod)\b))"
        rf"(?>[\s\S]*?(?P<at>{_IEX}))",
        "download and Invoke-Expression in one line",
        "line",
        needles=("iex", "invoke-expression"),
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
    _rule("history-tampering", "suspicious", r"^history\s+(?:-\w+\s+)*-\w*[cd]", "shell history cleared"),
    _rule(
        "history-tampering",
        "suspicious",
        r"^unset\s+(?:-v\s+)?(?:\w+\s+)*HIST(?:FILE|SIZE)\b",
        "history variable unset",
    ),
    _rule(
        "history-tampering",
        "suspicious",
        r"^HIST(?:FILE|SIZE|FILESIZE)=(?:/dev/null|0+|)$",
        "history disabled by variable",
        "assignments",
    ),
    _rule("history-tampering", "suspicious", r"^set\s+\+o\s+history\b", "history recording turned off"),
    _rule(
        "history-tampering",
        "suspicious",
        rf"^(?:rm|shred|unlink|truncate|srm|wipe|ln|remove-item|ri|del|erase|clear-content|clc)\s.*{_HISTORY_FILE}",
        "history file removed or emptied",
    ),
    _rule(
        "history-tampering",
        "suspicious",
        r"(?:\.\w*_history|consolehost_history\.txt)$",
        "history file overwritten",
        "writes",
    ),
    _rule("history-tampering", "suspicious", r"^(?:clear-history|clhy)\b", "PowerShell history cleared"),
    _rule(
        "history-tampering",
        "suspicious",
        r"^set-psreadlineoption\s.*-historysavestyle\s+savenothing\b",
        "PowerShell history saving turned off",
    ),
    # persistence-write
    _rule("persistence-write", "suspicious", _CRON, "write to a cron path", "writes"),
    _rule(
        "persistence-write",
        "suspicious",
        r"^crontab\s+(?:-u\s+\S+\s+)?(?:-|[^-\s]\S*)$",
        "crontab installed from input or a file",
    ),
    _rule("persistence-write", "suspicious", _SYSTEMD, "write to a service unit or init script", "writes"),
    _rule("persistence-write", "suspicious", r"^systemctl\s+(?:--?\S+\s+)*enable\b", "service enabled"),
    _rule("persistence-write", "suspicious", _RC, "write to a shell start-up or autostart file", "writes"),
    _rule("persistence-write", "suspicious", r"authorized_keys2?$", "write to authorized_keys", "writes"),
    _rule("persistence-write", "suspicious", r"^schtasks\s.*/create\b", "scheduled task created"),
    _rule(
        "persistence-write",
        "suspicious",
        r"^reg\s+add\s.*\\(?:run|runonce|runservices|runservicesonce|winlogon|"
        r"image file execution options)\b",
        "registry autorun key written",
    ),
    _rule(
        "persistence-write",
        "suspicious",
        r"^sc\s+(?:\\\\\S+\s+)?(?:create|config)\s",
        "service created or changed",
    ),
    _rule(
        "persistence-write",
        "suspicious",
        r"^(?:new-itemproperty|set-itemproperty|sp)\s.*\\currentversion\\run(?:once)?\b",
        "registry autorun key written",
    ),
    _rule(
        "persistence-write",
        "suspicious",
        r"^(?:register-scheduledtask|new-scheduledtask\w*|new-service)\b",
        "scheduled task or service created",
    ),
    # privilege-change
    _rule(
        "privilege-change",
        "malicious",
        r"^chmod\s+(?:-\S+\s+)*(?:[ugoa]*[+=][rwxXt]*s|[0-7]?[2467][0-7]{3}\b)",
        "setuid or setgid bit set",
    ),
    _rule("privilege-change", "malicious", r"^setcap\s+(?!-[rv]\b)", "file capabilities set"),
    _rule(
        "privilege-change",
        "malicious",
        rf"^(?:usermod\s(?=.*?(?<!\S)(?:-\w*G|--groups\b))|gpasswd\s(?=.*?(?<!\S)-a\s)|(?:adduser|addgroup)\s++\S++\s)"
        rf"(?=.*?(?<![\w-]){_ADMIN_GROUP})",
        "user added to an administrative group",
    ),
    _rule(
        "privilege-change",
        "malicious",
        r"^net1?\s+localgroup\s+(?:administrators|remote desktop users)\s.*/add\b",
        "user added to a Windows administrative group",
    ),
    _rule(
        "privilege-change",
        "malicious",
        r"^add-localgroupmember\s.*-group\s+administrators\b",
        "user added to a Windows administrative group",
    ),
    _rule(
        "privilege-change",
        "malicious",
        r"^/etc/(?:sudoers|passwd|shadow)\b",
        "write to sudoers or the user database",
        "writes",
    ),
    _rule("privilege-change", "suspicious", r"^chown\s+(?:-\S+\s+)*root\b", "file handed to root"),
    _rule("privilege-change", "suspicious", r"^visudo\b(?!.*\s-c\b)", "sudoers edited"),
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
        r"^(?:nc|ncat|netcat|nc\.traditional|nc\.openbsd)(?:\s.*)?\s(?:-\w*[ec]\b|--(?:sh-|lua-)?exec\b)",
        "netcat runs a program for the connection",
    ),
    _rule("reverse-shell-tool", "malicious", r"^socat\s.*\b(?:exec|system):", "socat runs a program"),
    _rule(
        "reverse-shell-tool",
        "malicious",
        rf"^{_SHELL}\s+-i\b.*\|\s*(?:nc|ncat|netcat|telnet|openssl)\b",
        "interactive shell piped to a network tool",
        "pipeline",
    ),
    _rule(
        "reverse-shell-tool",
        "malicious",
        r"^(?=.*?\bsocket\b)(?=.*?\b(?:connect|dup2)\b)(?=.*?(?:pty\.spawn|subprocess|/bin/(?:ba)?sh\b|\bexec\b))",
        "script opens a socket and runs a shell",
        needles=("socket",),
    ),
    _rule(
        "reverse-shell-tool",
        "malicious",
        r"^(?=.*?\bfsockopen\b)(?=.*?\b(?:exec|system|shell_exec|passthru|popen|proc_open)\b)",
        "PHP opens a socket and runs a shell",
        needles=("fsockopen",),
    ),
    _rule(
        "reverse-shell-tool",
        "malicious",
        r"^(?=.*?\btcpsocket\b)(?=.*?\b(?:exec|spawn|system|popen)\b)",
        "Ruby opens a socket and runs a shell",
        needles=("tcpsocket",),
    ),
    _rule(
        "reverse-shell-tool",
        "malicious",
        rf"\A(?>[\s\S]*?(?P<at>net\.sockets\.tcpclient\b))(?=[\s\S]*?\bgetstream\b)(?=[\s\S]*?{_IEX})",
        "PowerShell TCP client runs what it receives",
        "line",
        needles=("tcpclient",),
    ),
    # decode-to-shell
    _rule(
        "decode-to-shell",
        "malicious",
        rf"^(?:base64|base32|basenc|b64decode|openssl|xxd)(?=[^|]*?\s-{{1,2}}(?:d|decode|r)\b)[^|]*+.*?{_TO_INTERPRETER}",
        "decoded data piped to an interpreter",
        "pipeline",
    ),
    _rule(
        "decode-to-shell",
        "malicious",
        rf"^(?:(?:{_SHELL}|eval|source|\.)\s|(?=\$\(|`|<\())(?=.*?(?:\$\(|`|<\())"
        r"(?=.*?\bbase64\s++(?:-\S+\s+)*?-{1,2}(?:d|decode)\b)",
        "shell runs decoded data",
    ),
    _rule(
        "decode-to-shell",
        "malicious",
        rf"\A(?=[\s\S]*?frombase64string)(?>[\s\S]*?(?P<at>{_IEX}))",
        "Invoke-Expression of decoded data",
        "line",
        needles=("frombase64string",),
    ),
    # temp-path-exec
    _rule("temp-path-exec", "suspicious", rf"^{_TEMP}", "program run from a temporary directory", "program"),
    _rule("temp-path-exec", "suspicious", rf"^{_TEMP}", "script run from a temporary directory", "script"),
    _rule(
        "temp-path-exec",
        "suspicious",
        rf"^chmod\s+(?:-\S+\s+)*(?:[ugoa]*\+[rwX]*x\S*|[0-7]?[1357][0-7]{{2}}\b)\s+(?:\S+\s+)*{_TEMP}",
        "file in a temporary directory made executable",
    ),
    # defense-evasion
    _rule(
        "defense-evasion", "malicious", r"^setenforce\s+(?:0|permissive)\b", "SELinux enforcement turned off"
    ),
    _rule(
        "defense-evasion",
        "malicious",
        rf"^(?:systemctl\s+(?:--?\S+\s+)*(?:stop|disable|mask|kill)\s+(?:\S+\s+)*{_SECURITY_SERVICE}\b|"
        rf"service\s+{_SECURITY_SERVICE}\s+stop\b|{_SECURITY_SERVICE}\s+stop$|"
        rf"(?:stop-service|spsv|set-service)\s.*\b{_SECURITY_SERVICE}\b)",
        "security or logging service stopped",
    ),
    _rule(
        "defense-evasion",
        "malicious",
        r"^auditctl(?:\s++\S++)*?\s++(?:-D\b|-e\s*+0\b)",
        "audit rules deleted or auditing disabled",
    ),
    _rule(
        "defense-evasion",
        "malicious",
        r"^set-mppreference\s.*-disable\w+(?::|\s+)\$?(?:true|1)\b",
        "Defender protection disabled",
    ),
    _rule("defense-evasion", "malicious", r"^add-mppreference\s.*-exclusion\w+", "Defender exclusion added"),
    _rule(
        "defense-evasion",
        "malicious",
        r"^(?:ufw\s+disable\b|iptables\s+(?:-\S+\s+)*-F\b)",
        "firewall turned off or flushed",
    ),
    _rule(
        "defense-evasion",
        "malicious",
        r"^netsh\s+(?:adv)?firewall\s+set\s.*\bstate\s+off\b",
        "Windows firewall turned off",
    ),
    _rule("defense-evasion", "malicious", r"^wevtutil\s+(?:cl|clear-log)\b", "event log cleared"),
    _rule("defense-evasion", "malicious", r"^clear-eventlog\b", "event log cleared"),
)

_COPIERS = frozenset(
    {"cp", "mv", "install", "ln", "rsync", "scp", "copy", "move", "xcopy", "robocopy"}
    | {"copy-item", "move-item", "cpi", "mi"}
)
_PS_WRITERS = frozenset(
    {"set-content", "add-content", "out-file", "new-item", "sc", "ac", "ni", "tee-object"}
)
_PS_PATH_PARAMETERS = ("-destination", "-path", "-filepath", "-literalpath")
_DECLARERS = frozenset({"export", "declare", "typeset", "local", "readonly", "set-variable"})
_LAUNCHERS = (
    POSIX_SHELLS
    | {"source", ".", "python", "perl", "ruby", "node", "php", "lua"}
    | {
        "cscript",
        "wscript",
        "mshta",
        "rundll32",
        "regsvr32",
        "msiexec",
        "start",
        "start-process",
        "saps",
        "call",
        "powershell",
        "pwsh",
        "invoke-item",
        "ii",
    }
)
_VERSIONED = re.compile(r"(python|perl|ruby|php|node|lua)[\d.]+")
_WINDOWS_SWITCH = re.compile(r"/\w{1,12}")


def write_targets(segment: Segment) -> list[str]:
    """Files that ``segment`` writes (best effort, never its inputs)."""
    targets = [r.target_path for r in segment.redirections if r.writes]
    start = effective_start(segment.argv, segment.shell)
    args = segment.argv[start:]
    if not args:
        return targets
    name = name_at(segment.argv, start, segment.shell).lower()
    rest = list(args[1:])
    windows = segment.shell != "bash"
    positional = [a for a in rest if not a.startswith("-") and not (windows and _WINDOWS_SWITCH.fullmatch(a))]
    if name == "tee":
        targets.extend(positional)
    elif name == "dd":
        targets.extend(a[3:] for a in rest if a.startswith("of="))
    elif name == "sed" and any(a.startswith("-i") or a == "--in-place" for a in rest) and positional:
        targets.append(positional[-1])
    elif name in _COPIERS or name in _PS_WRITERS:
        named = _named_value(rest, _PS_PATH_PARAMETERS)
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


def run_of(segment: Segment) -> str:
    """The ``run`` view: the command that really runs, its basename first, without a shell body."""
    start = effective_start(segment.argv, segment.shell)
    args = segment.argv[start:]
    if not args:
        return ""
    body = shell_body(segment.argv, segment.shell)
    if body is not None:
        args = segment.argv[start : max(body.start, start + 1)]
    name = name_at(segment.argv, start, segment.shell)
    if segment.shell != "bash":
        name = name.lower()
    return " ".join([name or args[0], *args[1:]])


def script_of(segment: Segment) -> str:
    """The ``script`` view: the file a launcher (``bash``, ``python``, ``start``, ``rundll32``) runs."""
    start = effective_start(segment.argv, segment.shell)
    args = segment.argv[start:]
    if not args:
        return ""
    name = name_at(segment.argv, start, segment.shell).lower()
    versioned = _VERSIONED.fullmatch(name)
    name = versioned.group(1) if versioned else name
    if name not in _LAUNCHERS or shell_body(segment.argv, segment.shell) is not None:
        return ""
    windows = segment.shell != "bash"
    rest = args[1:]
    if name in {"powershell", "pwsh"}:
        return _named_value(list(rest), ("-file", "-f"))
    for word in rest:
        if word and not word.startswith("-") and not (windows and _WINDOWS_SWITCH.fullmatch(word)):
            return word
    return ""


def assignments_of(segment: Segment) -> str:
    """The ``assignments`` view: leading ``NAME=value`` words and those given to ``export`` and such."""
    if segment.shell != "bash":
        return ""
    start = command_start(segment.argv, segment.shell)
    found = [w for w in segment.argv[:start] if is_assignment(w)]
    if start < len(segment.argv) and basename(segment.argv[start], "bash") in _DECLARERS:
        found.extend(w for w in segment.argv[start + 1 :] if is_assignment(w))
    return "\n".join(found)


MAX_PIPELINE = 16
"""Commands of a pipeline the ``pipeline`` view looks at, from the segment on."""


def pipeline_indices(segments: tuple[Segment, ...], index: int) -> list[int]:
    """``index`` and the segments that ``segments[index]`` pipes into, in order."""
    found = [index]
    current = segments[index]
    j = index + 1
    while current.operator in PIPES and j < len(segments) and len(found) < MAX_PIPELINE:
        if segments[j].depth > current.depth:
            j += 1
            continue
        if segments[j].depth < current.depth:
            break
        current = segments[j]
        found.append(j)
        j += 1
    return found


def views(segments: tuple[Segment, ...], index: int, runs: list[str] | None = None) -> dict[str, str]:
    """The strings the rules look at for one segment."""
    runs = runs if runs is not None else [run_of(s) for s in segments]
    segment = segments[index]
    start = effective_start(segment.argv, segment.shell)
    args = segment.argv[start:]
    command = name_at(segment.argv, start, segment.shell).lower()
    return {
        "text": segment.text,
        "run": runs[index],
        "command": command,
        "first": segment.command.lower(),
        "program": args[0] if args else "",
        "script": script_of(segment),
        "redirections": "\n".join(r.text for r in segment.redirections),
        "writes": "\n".join(write_targets(segment)),
        "assignments": assignments_of(segment),
        "pipeline": " | ".join(runs[j] for j in pipeline_indices(segments, index)),
        "piped": command if segment.position > 0 else "",
    }


def _line_view(segments: tuple[Segment, ...], runs: list[str]) -> tuple[str, list[int]]:
    """The whole line for ``line`` rules, and where each segment starts in it."""
    pieces: list[str] = []
    starts: list[int] = []
    offset = 0
    for segment, run in zip(segments, runs, strict=True):
        own = run if shell_body(segment.argv, segment.shell) is not None else segment.text
        starts.append(offset)
        pieces.append(own)
        offset += len(own) + 1
    return "\n".join(pieces), starts


def _segment_at(starts: list[int], position: int) -> int:
    index = 0
    for i, start in enumerate(starts):
        if start > position:
            break
        index = i
    return index


def check(segments: tuple[Segment, ...], rules: tuple[Rule, ...] = RULES) -> list[Finding]:
    """Findings over all segments, at most one per kind and segment (the most severe)."""
    findings: dict[tuple[str, int], Finding] = {}
    runs = [run_of(s) for s in segments]

    def add(rule: Rule, index: int) -> None:
        key = (rule.kind, index)
        previous = findings.get(key)
        if previous is None or (previous.severity == "suspicious" and rule.severity == "malicious"):
            findings[key] = Finding(rule.kind, rule.reason, index, rule.severity)

    for index in range(len(segments)):
        seen = views(segments, index, runs)
        for rule in rules:
            if rule.view != "line" and _matches(rule, seen.get(rule.view, "")):
                add(rule, index)
    line_rules = [rule for rule in rules if rule.view == "line"]
    if line_rules and segments:
        line, starts = _line_view(segments, runs)
        for rule in line_rules:
            match = _search(rule, line)
            if match:
                where = match.start("at") if "at" in rule.pattern.groupindex else match.start()
                add(rule, _segment_at(starts, where))
    return sorted(findings.values(), key=lambda f: (f.segment, f.kind))


def _search(rule: Rule, text: str) -> re.Match[str] | None:
    if rule.needles:
        lowered = text.lower()
        if not any(needle in lowered for needle in rule.needles):
            return None
    return rule.pattern.search(text)


def _matches(rule: Rule, text: str) -> bool:
    return bool(text) and _search(rule, text) is not None
