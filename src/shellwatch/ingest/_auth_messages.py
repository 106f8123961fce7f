"""Normalizers for the security-relevant messages of Unix authentication programs.

The syslog and journald readers both hand every message to :func:`normalize` with the program that wrote it
(the syslog tag or journald ``SYSLOG_IDENTIFIER``). A message that a table below recognises gains ECS fields;
any other message is left as it is (it is still an event, with ``message``, ``process.*`` and ``host.*``).

How it stays fast: each program has a table of ``(keyword, regex, handler)`` rules, tried in order; a rule's
regex runs only when its keyword is a substring of the message, so most lines test one or two regexes.
Messages of every program that start with ``pam_<module>(<service>:<type>):`` (or come from an old-style
``prog(pam_unix)`` tag) go to the PAM table.

``event.action`` values, by program:

=====================  =======================================================================================
sshd / sshd-session    ``ssh_login`` (Accepted/Failed/Postponed METHOD for USER: the one event per password or
                       key attempt; count ``ssh_login`` + ``event.outcome: failure`` for brute force),
                       ``ssh_invalid_user``, ``ssh_login_denied``, ``ssh_pam_error``,
                       ``ssh_max_auth_attempts``, ``ssh_connection``, ``ssh_connection_closed``,
                       ``ssh_connection_reset``, ``ssh_disconnected``, ``ssh_disconnect_received``,
                       ``ssh_no_identification``, ``ssh_bad_protocol``, ``ssh_reverse_mapping_failed``,
                       ``ssh_session_start``
PAM (any program)      ``pam-authentication-failure``, ``pam-more-failures`` (a summary: the attempts were
                       logged one by one before), ``pam-user-unknown``, ``session-opened``,
                       ``session-closed``, ``password-changed``
sudo                   ``sudo-command`` (process start of COMMAND, parent sudo), ``sudo-failure``
su                     ``su``
login, systemd-logind  ``login``, ``session-new``, ``session-removed``
cron                   ``cron-command`` (process start, parent cron)
shadow-utils           ``user-created``, ``user-creation-failed``, ``group-created``, ``user-deleted``,
                       ``group-deleted``, ``user-modified``, ``user-added-to-group``, ``password-changed``
=====================  =======================================================================================

rsyslog's ``message repeated N times: [ MSG ]`` stands for N more occurrences of MSG: :func:`normalize`
normalizes MSG and returns N, and the readers emit N events (so that failure counts add up).
Addresses are validated: a valid IP goes to ``source.ip`` (IPv6 in compressed form), a host name to
``source.domain``, anything else to ``source.address``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from shellwatch.events import Event, basename
from shellwatch.ingest._argv import split_posix

Handler = Callable[[re.Match[str], Event], None]


@dataclass(frozen=True, slots=True)
class Rule:
    keyword: str
    """A substring the message must contain before ``pattern`` is tried."""
    pattern: re.Pattern[str]
    handler: Handler


def _table(*entries: tuple[str, str, Handler]) -> tuple[Rule, ...]:
    return tuple(Rule(keyword, re.compile(pattern), handler) for keyword, pattern, handler in entries)


# --------------------------------------------------------------------------------------------- field helpers

_HOSTNAME = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
_MASKED_IP = re.compile(r"(?:\d{1,3}\.){3}[A-Za-z*]+")  # 183.106.179.x: an address with a part masked out
_PROCESS_KEYS: Final = (
    "pid",
    "name",
    "executable",
    "command_line",
    "args",
    "args_count",
    "user.id",
    "user.name",
)


def _append(event: Event, key: str, value: str) -> None:
    current = event.get(key)
    if isinstance(current, list):
        if value not in current:
            current.append(value)  # type: ignore[arg-type]
    else:
        event[key] = [value]


def _user(event: Event, name: str | None, key: str = "user.name") -> None:
    if name:
        event[key] = name
        _append(event, "related.user", name)


def _address(event: Event, text: str | None, prefix: str = "source") -> None:
    """Put ``text`` in ``<prefix>.ip`` when it is an address, else in ``.domain`` or ``.address``."""
    if not text:
        return
    try:
        address = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        key = "domain" if _HOSTNAME.fullmatch(text) and not _MASKED_IP.fullmatch(text) else "address"
        event[f"{prefix}.{key}"] = text
        return
    ip = str(address)
    event[f"{prefix}.ip"] = ip
    _append(event, "related.ip", ip)


def _port(event: Event, text: str | None, key: str = "source.port") -> None:
    if text:
        event[key] = int(text)


def _classify(
    event: Event, category: list[str], kind: list[str], action: str, outcome: str | None = None
) -> None:
    event["event.category"] = category
    event["event.type"] = kind
    event["event.action"] = action
    if outcome is not None:
        event["event.outcome"] = outcome


def _tty(event: Event, tty: str | None) -> None:
    if not tty or tty in {"unknown", "none", "?"}:
        event["process.interactive"] = False
        return
    event["process.tty.name"] = tty.removeprefix("/dev/")
    event["process.interactive"] = True


def _become_parent(event: Event, parent_name: str) -> None:
    """The event now describes a child of the logging process: move ``process.*`` to ``process.parent.*``."""
    for key in _PROCESS_KEYS:
        value = event.pop(f"process.{key}", None)
        if value is not None:
            event[f"process.parent.{key}"] = value
    event["process.parent.name"] = parent_name


def _command(event: Event, command: str, *, shell: bool = False) -> None:
    """Fields of a started command: sudo logs argv joined by spaces (split on spaces), cron a shell line."""
    event["process.command_line"] = command
    args = split_posix(command) if shell else command.split()
    event["process.args"] = args
    event["process.args_count"] = len(args)
    if args:
        event["process.name"] = basename(args[0])
        if args[0].startswith("/"):
            event["process.executable"] = args[0]


# ------------------------------------------------------------------------------------------------------ sshd


def _ssh_attempt(match: re.Match[str], event: Event) -> None:
    verb = match["verb"]
    outcome = {"Accepted": "success", "Failed": "failure"}.get(verb, "unknown")
    if verb == "Accepted":
        _classify(event, ["authentication", "session"], ["start"], "ssh_login", outcome)
    else:
        _classify(event, ["authentication"], ["info"], "ssh_login", outcome)
    event["system.auth.ssh.event"] = verb
    event["system.auth.ssh.method"] = match["method"]
    if match["invalid"]:
        event["event.reason"] = "invalid user"
    if match["sig"]:
        event["system.auth.ssh.signature"] = match["sig"]
    _user(event, match["user"])
    _address(event, match["ip"])
    _port(event, match["port"])
    event["network.protocol"] = "ssh"


def _ssh_invalid_user(match: re.Match[str], event: Event) -> None:
    _classify(event, ["authentication"], ["info"], "ssh_invalid_user", "failure")
    event["system.auth.ssh.event"] = "Invalid"
    event["event.reason"] = "invalid user"
    _user(event, match["user"])
    _address(event, match["ip"])
    _port(event, match["port"])


def _ssh_denied(match: re.Match[str], event: Event) -> None:
    _classify(event, ["authentication"], ["info"], "ssh_login_denied", "failure")
    event["event.reason"] = match["reason"]
    _user(event, match["user"])
    _address(event, match["ip"])


def _ssh_pam_error(match: re.Match[str], event: Event) -> None:
    _classify(event, ["authentication"], ["info"], "ssh_pam_error", "failure")
    event["event.reason"] = match["reason"]
    _user(event, match["user"])
    _address(event, match["ip"])


def _ssh_max_attempts(match: re.Match[str], event: Event) -> None:
    _classify(event, ["authentication"], ["info"], "ssh_max_auth_attempts", "failure")
    event["event.reason"] = "maximum authentication attempts exceeded"
    _user(event, match["user"])
    _address(event, match.groupdict().get("ip"))
    _port(event, match.groupdict().get("port"))


def _ssh_connection(match: re.Match[str], event: Event) -> None:
    _classify(event, ["network"], ["start"], "ssh_connection")
    _address(event, match["ip"])
    _port(event, match["port"])
    _address(event, match["dip"], "destination")
    _port(event, match["dport"], "destination.port")


def _ssh_closed(match: re.Match[str], event: Event) -> None:
    _classify(event, ["network"], ["end"], f"ssh_connection_{match['what']}")
    if match["kind"]:
        event["event.reason"] = f"{match['kind']} user"
    _user(event, match["user"])
    _address(event, match["ip"])
    _port(event, match["port"])


def _ssh_disconnected(match: re.Match[str], event: Event) -> None:
    kind = match["kind"]
    if kind == "user":
        _classify(event, ["session"], ["end"], "ssh_disconnected")
    else:
        _classify(event, ["network"], ["end"], "ssh_disconnected")
    if kind and kind != "user":
        event["event.reason"] = kind
    _user(event, match["user"])
    _address(event, match["ip"])
    _port(event, match["port"])


def _ssh_disconnecting(match: re.Match[str], event: Event) -> None:
    reason = match["reason"] or ""
    if "Too many authentication failures" in reason:
        _ssh_max_attempts(match, event)
        return
    _classify(event, ["network"], ["end"], "ssh_disconnected")
    event["event.reason"] = f"{match['kind']}: {reason}" if reason else match["kind"]
    _user(event, match["user"])
    _address(event, match["ip"])
    _port(event, match["port"])


def _ssh_disconnect_received(match: re.Match[str], event: Event) -> None:
    _classify(event, ["network"], ["end"], "ssh_disconnect_received")
    event["event.reason"] = match["reason"]
    _address(event, match["ip"])
    _port(event, match["port"])


def _ssh_no_identification(match: re.Match[str], event: Event) -> None:
    _classify(event, ["network"], ["info"], "ssh_no_identification")
    _address(event, match["ip"])
    _port(event, match["port"])


def _ssh_bad_protocol(match: re.Match[str], event: Event) -> None:
    _classify(event, ["network"], ["info"], "ssh_bad_protocol")
    event["event.reason"] = f"bad protocol version identification {match['version']!r}"
    _address(event, match["ip"])
    _port(event, match["port"])


def _ssh_reverse_mapping(match: re.Match[str], event: Event) -> None:
    _classify(event, ["network"], ["info"], "ssh_reverse_mapping_failed")
    event["event.reason"] = "possible break-in attempt"
    _address(event, match["ip"])
    if _HOSTNAME.fullmatch(match["host"]):
        event["source.domain"] = match["host"]


def _ssh_session(match: re.Match[str], event: Event) -> None:
    _classify(event, ["session"], ["start"], "ssh_session_start", "success")
    event["event.reason"] = match["kind"]
    if match["tty"]:
        _tty(event, match["tty"])
    _user(event, match["user"])
    _address(event, match["ip"])
    _port(event, match["port"])


def _ssh_userauth_invalid(match: re.Match[str], event: Event) -> None:
    _user(event, match["user"])


_USER_AT = r"(?:(?P<invalid>invalid|illegal) user )?(?P<user>.*)"
_IP_PORT = r"(?P<ip>\S+) port (?P<port>\d+)"
_PREAUTH = r"(?: \[preauth\])?"
_PROTOCOL = r"(?:\s+ssh\d?)?"

SSHD_RULES: Final = _table(
    (
        "Failed ",
        rf"(?P<verb>Failed) (?P<method>\S+) for {_USER_AT} from {_IP_PORT}{_PROTOCOL}(?:: (?P<sig>.+))?$",
        _ssh_attempt,
    ),
    (
        "Accepted ",
        rf"(?P<verb>Accepted) (?P<method>\S+) for {_USER_AT} from {_IP_PORT}{_PROTOCOL}(?:: (?P<sig>.+))?$",
        _ssh_attempt,
    ),
    (
        "Postponed ",
        rf"(?P<verb>Postponed) (?P<method>\S+) for {_USER_AT} from {_IP_PORT}{_PROTOCOL}(?P<sig>){_PREAUTH}$",
        _ssh_attempt,
    ),
    (
        "nvalid user ",
        r"(?:Invalid|Illegal) user (?P<user>.*) from (?P<ip>\S+)(?: port (?P<port>\d+))?$",
        _ssh_invalid_user,
    ),
    (
        "llegal user ",
        r"(?:Invalid|Illegal) user (?P<user>.*) from (?P<ip>\S+)(?: port (?P<port>\d+))?$",
        _ssh_invalid_user,
    ),
    (
        "Connection ",
        r"Connection (?P<what>closed|reset) by (?:(?P<kind>authenticating|invalid) user (?P<user>.*?) )?"
        rf"(?!peer$)(?P<ip>[^\s\[]+)(?: port (?P<port>\d+))?{_PREAUTH}$",
        _ssh_closed,
    ),
    (
        "Connection from ",
        r"Connection from (?P<ip>\S+) port (?P<port>\d+)(?: on (?P<dip>\S+) port (?P<dport>\d+))?",
        _ssh_connection,
    ),
    (
        "Disconnected from ",
        r"Disconnected from (?:(?P<kind>user|invalid user|authenticating user) (?P<user>.*) )?"
        rf"{_IP_PORT}{_PREAUTH}$",
        _ssh_disconnected,
    ),
    (
        "Disconnecting ",
        r"Disconnecting (?P<kind>invalid user|authenticating user|user) (?P<user>.*) "
        rf"{_IP_PORT}(?:: (?P<reason>.*?))?{_PREAUTH}$",
        _ssh_disconnecting,
    ),
    (
        "Too many authentication failures",
        r"Disconnecting: Too many authentication failures"
        rf"(?: for (?:invalid user )?(?P<user>.*?))?{_PREAUTH}$",
        _ssh_max_attempts,
    ),
    (
        "Received disconnect from ",
        r"(?:error: )?Received disconnect from (?P<ip>[0-9A-Fa-f:.]*[0-9A-Fa-f])(?: port (?P<port>\d+))?:"
        rf" ?(?P<code>\d+): (?P<reason>.*?){_PREAUTH}$",
        _ssh_disconnect_received,
    ),
    (
        "maximum authentication attempts",
        r"error: maximum authentication attempts exceeded for (?:invalid user )?(?P<user>.*) from "
        rf"{_IP_PORT}(?: ssh\d?)?{_PREAUTH}$",
        _ssh_max_attempts,
    ),
    (
        "PAM: ",
        r"error: PAM: (?P<reason>.+?) for (?:(?:illegal|invalid) user )?(?P<user>.*) from (?P<ip>\S+)$",
        _ssh_pam_error,
    ),
    (
        "not allowed because",
        r"User (?P<user>.*) from (?P<ip>\S+) not allowed because (?P<reason>.+)$",
        _ssh_denied,
    ),
    (
        "reverse mapping",
        r"reverse mapping checking getaddrinfo for (?P<host>\S+) \[(?P<ip>[^\]]+)\] failed",
        _ssh_reverse_mapping,
    ),
    (
        "does not map back",
        r"Address (?P<ip>\S+) maps to (?P<host>[^,\s]+), but this does not map back to the address",
        _ssh_reverse_mapping,
    ),
    (
        "Did not receive identification",
        r"Did not receive identification string from (?P<ip>\S+?)(?: port (?P<port>\d+))?$",
        _ssh_no_identification,
    ),
    (
        "Bad protocol version",
        r"Bad protocol version identification '(?P<version>.*)' from (?P<ip>\S+?)(?: port (?P<port>\d+))?$",
        _ssh_bad_protocol,
    ),
    (
        "Starting session: ",
        r"Starting session: (?P<kind>shell|command|subsystem '[^']*'|forced-command \([^)]*\) '[^']*')"
        rf"(?: on (?P<tty>\S+))? for (?P<user>.*) from {_IP_PORT}(?: id \d+)?$",
        _ssh_session,
    ),
    (
        "input_userauth_request",
        rf"input_userauth_request: invalid user (?P<user>.*?){_PREAUTH}$",
        _ssh_userauth_invalid,
    ),
)

# ------------------------------------------------------------------------------------------------------- PAM

_PAM_PREFIX = re.compile(r"pam_(?P<module>\w+)\((?P<service>[^:)]+):(?P<type>\w+)\): (?P<rest>.*)$")
_PAM_KV = re.compile(r"(\w+)=(\S*)")
_PAM_OPENED = re.compile(
    r"session opened for user (?P<user>[^\s(]+)(?:\(uid=(?P<uid>\d+)\))?"
    r"(?: by (?P<by>[^\s(]*)(?:\(uid=(?P<byuid>\d+)\))?)?"
)
_PAM_CLOSED = re.compile(r"session closed for user (?P<user>\S+)")
_PAM_FAILURE = re.compile(r"(?:(?P<more>\d+) more )?authentication failures?; (?P<kv>.*)$")
_PAM_PASSWORD = re.compile(r"password changed for (?P<user>\S+)")
_SWITCHING_SERVICES: Final = frozenset({"su", "su-l", "sudo", "sudo-i", "runuser", "runuser-l", "pkexec"})


def _pam_message(service: str, rest: str, event: Event) -> None:
    """``rest`` follows ``pam_unix(service:type):``, or is all of a ``service(pam_unix)`` message."""
    if rest.startswith("session opened"):
        match = _PAM_OPENED.match(rest)
        if match:
            _pam_session(service, match, event, opened=True)
    elif rest.startswith("session closed"):
        match = _PAM_CLOSED.match(rest)
        if match:
            _classify(event, ["session"], ["end"], "session-closed", "success")
            _user(event, match["user"])
    elif "authentication failure" in rest:
        match = _PAM_FAILURE.match(rest)
        if match:
            _pam_failure(match, event)
    elif rest.startswith("check pass; user unknown"):
        _classify(event, ["authentication"], ["info"], "pam-user-unknown", "failure")
        event["event.reason"] = "user unknown"
    elif rest.startswith("password changed"):
        match = _PAM_PASSWORD.match(rest)
        if match:
            _classify(event, ["iam"], ["user", "change"], "password-changed", "success")
            _user(event, match["user"], "user.target.name")


def _pam_session(service: str, match: re.Match[str], event: Event, *, opened: bool) -> None:
    _classify(event, ["session"], ["start"] if opened else ["end"], "session-opened", "success")
    by = match["by"] if match["by"] not in {None, "", "LOGIN"} else None
    if by and service in _SWITCHING_SERVICES:
        _user(event, by)
        _user(event, match["user"], "user.target.name")
        event["user.effective.name"] = match["user"]
        if match["uid"]:
            event["user.target.id"] = match["uid"]
            event["user.effective.id"] = match["uid"]
        if match["byuid"]:
            event["user.id"] = match["byuid"]
        return
    _user(event, match["user"])
    if match["uid"]:
        event["user.id"] = match["uid"]


def _pam_failure(match: re.Match[str], event: Event) -> None:
    fields = dict(_PAM_KV.findall(match["kv"]))
    if match["more"]:
        _classify(event, ["authentication"], ["info"], "pam-more-failures", "failure")
        event["event.reason"] = f"{match['more']} more authentication failures"
    else:
        _classify(event, ["authentication"], ["info"], "pam-authentication-failure", "failure")
    ruser, user = fields.get("ruser"), fields.get("user")
    if ruser:
        _user(event, ruser)
        if user and user != ruser:
            _user(event, user, "user.target.name")
    else:
        _user(event, user)
    _address(event, fields.get("rhost"))
    tty = fields.get("tty")
    if tty and not tty.startswith(("ssh", "NODEV")):
        event["process.tty.name"] = tty.removeprefix("/dev/")
    # uid= and euid= are those of the process that called PAM (sshd, su, sudo), not of the user.
    if fields.get("uid"):
        event["process.real_user.id"] = fields["uid"]
    if fields.get("euid"):
        event["process.user.id"] = fields["euid"]


# ---------------------------------------------------------------------------------------------------- sudo

_SUDO_ITEM = re.compile(r"([A-Z_]+)=(.*)")


def _sudo(match: re.Match[str], event: Event) -> None:
    rest = match["rest"]
    cut = rest.find("COMMAND=")
    head, command = (rest[:cut], rest[cut + 8 :]) if cut >= 0 else (rest, None)
    fields: dict[str, str] = {}
    errors: list[str] = []
    for raw in head.split(";"):
        part = raw.strip()
        item = _SUDO_ITEM.fullmatch(part)
        if item:
            fields[item.group(1)] = item.group(2)
        elif part:
            errors.append(part)
    _user(event, match["user"])
    target = fields.get("USER", "root")
    for key, sudo_key in (("TTY", "tty"), ("PWD", "pwd"), ("USER", "user")):
        if key in fields:
            event[f"system.auth.sudo.{sudo_key}"] = fields[key]
    if command is not None:
        event["system.auth.sudo.command"] = command
    if errors:
        _classify(event, ["authentication"], ["info"], "sudo-failure", "failure")
        event["event.reason"] = event["system.auth.sudo.error"] = "; ".join(errors)
        _user(event, target, "user.target.name")
        return
    if command is None:
        return
    _become_parent(event, "sudo")
    _classify(event, ["process"], ["start"], "sudo-command", "success")
    _command(event, command)
    _user(event, target, "user.target.name")
    event["user.effective.name"] = target
    if "PWD" in fields:
        event["process.working_directory"] = fields["PWD"]
    _tty(event, fields.get("TTY"))


SUDO_RULES: Final = _table((" : ", r"\s*(?P<user>\S+) : (?P<rest>.*)$", _sudo))

# ------------------------------------------------------------------------------------------------------ su


def _su(match: re.Match[str], event: Event) -> None:
    groups = match.groupdict()
    failed = bool(groups.get("failed")) or groups.get("sign") == "-"
    if failed:
        _classify(event, ["authentication"], ["info"], "su", "failure")
    else:
        _classify(event, ["authentication", "session"], ["start"], "su", "success")
    _user(event, match["user"])
    _user(event, match["target"], "user.target.name")
    event["user.effective.name"] = match["target"]
    if groups.get("tty"):
        _tty(event, groups["tty"])


SU_RULES: Final = _table(
    ("su for ", r"(?:Successful|(?P<failed>FAILED)) su for (?P<target>\S+) by (?P<user>\S+)$", _su),
    ("(to ", r"(?P<failed>FAILED SU )?\(to (?P<target>\S+)\) (?P<user>\S+) on (?P<tty>\S+)$", _su),
    (":", r"(?P<sign>[+-]) (?P<tty>\S+) (?P<user>[^\s:]+):(?P<target>\S+)$", _su),
    (
        "changing from",
        r"(?P<failed>failed): (?P<tty>\S+) changing from (?P<user>\S+) to (?P<target>\S+)$",
        _su,
    ),
    ("BAD SU", r"(?P<failed>BAD SU) (?P<user>\S+) to (?P<target>\S+)(?: on (?P<tty>\S+))?$", _su),
    (" to ", r"(?P<user>\S+) to (?P<target>\S+) on (?P<tty>\S+)$", _su),
)

# ------------------------------------------------------------------------------------- login, systemd-logind


def _login(match: re.Match[str], event: Event) -> None:
    groups = match.groupdict()
    if groups.get("reason"):
        _classify(event, ["authentication"], ["info"], "login", "failure")
        event["event.reason"] = groups["reason"]
    else:
        _classify(event, ["authentication", "session"], ["start"], "login", "success")
    _user(event, groups.get("user") or "root")
    _tty(event, match["tty"])
    _address(event, groups.get("host"))


def _logind_new(match: re.Match[str], event: Event) -> None:
    _classify(event, ["session"], ["start"], "session-new", "success")
    event["shellwatch.session.id"] = match["session"]
    _user(event, match["user"])


def _logind_removed(match: re.Match[str], event: Event) -> None:
    _classify(event, ["session"], ["end"], "session-removed", "success")
    event["shellwatch.session.id"] = match["session"]


LOGIN_RULES: Final = _table(
    ("ROOT LOGIN", r"ROOT LOGIN +(?:ON|on) '?(?P<tty>[^' ]+)'?(?: FROM '?(?P<host>[^' ]+)'?)?", _login),
    (
        "LOGIN ON",
        r"LOGIN ON '?(?P<tty>[^' ]+)'? BY '?(?P<user>[^' ]+)'?(?: FROM '?(?P<host>[^' ]+)'?)?",
        _login,
    ),
    (
        "FAILED LOGIN",
        r"FAILED LOGIN \(?\d+\)? (?:(?:ON|on) '?(?P<tty>[^' ]+)'? )?(?:FROM '?(?P<host>[^' ]+)'? )?"
        r"FOR '?(?P<user>[^',]*)'?, (?P<reason>.*)$",
        _login,
    ),
)
LOGIND_RULES: Final = _table(
    ("New session", r"New session (?P<session>\S+) of user (?P<user>.+?)\.?$", _logind_new),
    ("Removed session", r"Removed session (?P<session>[^\s.]+)\.?$", _logind_removed),
)

# ------------------------------------------------------------------------------------------------------ cron


def _cron(match: re.Match[str], event: Event) -> None:
    _become_parent(event, "cron")
    _classify(event, ["process"], ["start"], "cron-command", "success")
    _command(event, match["command"], shell=True)
    _user(event, match["user"])


CRON_RULES: Final = _table((" CMD (", r"\((?P<user>[^)]*)\) CMD \((?P<command>.*)\)$", _cron))

# ------------------------------------------------------------------------------------------ shadow-utils


def _iam(kind: list[str], action: str, outcome: str = "success") -> Handler:
    def handle(match: re.Match[str], event: Event) -> None:
        _classify(event, ["iam"], kind, action, outcome)
        groups = match.groupdict()
        _user(event, groups.get("user"), "user.target.name")
        if groups.get("uid"):
            event["user.target.id"] = groups["uid"]
        if groups.get("group"):
            event["group.name"] = groups["group"]
        if groups.get("gid"):
            event["group.id"] = groups["gid"]
        if groups.get("what"):
            event["event.reason"] = groups["what"]
        _user(event, groups.get("by"))

    return handle


SHADOW_RULES: Final = _table(
    (
        "new user:",
        r"new user: name=(?P<user>[^,]+), UID=(?P<uid>\d+)",
        _iam(["user", "creation"], "user-created"),
    ),
    (
        "new group:",
        r"new group: name=(?P<group>[^,]+), GID=(?P<gid>\d+)",
        _iam(["group", "creation"], "group-created"),
    ),
    (
        "failed adding user",
        r"failed adding user '(?P<user>[^']+)'",
        _iam(["user", "creation"], "user-creation-failed", "failure"),
    ),
    ("delete user", r"delete user '(?P<user>[^']+)'", _iam(["user", "deletion"], "user-deleted")),
    (
        "removed group",
        r"removed group '(?P<group>[^']+)' owned by '(?P<user>[^']+)'",
        _iam(["group", "deletion"], "group-deleted"),
    ),
    ("removed", r"group '(?P<group>[^']+)' removed$", _iam(["group", "deletion"], "group-deleted")),
    (
        "to group",
        r"add '(?P<user>[^']+)' to group '(?P<group>[^']+)'",
        _iam(["user", "group", "change"], "user-added-to-group"),
    ),
    (
        "change user",
        r"change user '(?P<user>[^']+)' (?P<what>.+)$",
        _iam(["user", "change"], "user-modified"),
    ),
    (
        "lock user",
        r"(?P<what>(?:un)?lock) user '(?P<user>[^']+)' password",
        _iam(["user", "change"], "user-modified"),
    ),
    (
        "changed by",
        r"password for '(?P<user>[^']+)' changed by '(?P<by>[^']+)'",
        _iam(["user", "change"], "password-changed"),
    ),
)

# ------------------------------------------------------------------------------------------------ dispatch

RULES: Final[dict[str, tuple[Rule, ...]]] = {
    "sshd": SSHD_RULES,
    "sshd-session": SSHD_RULES,
    "sshd-auth": SSHD_RULES,
    "sudo": SUDO_RULES,
    "su": SU_RULES,
    "login": LOGIN_RULES,
    "systemd-logind": LOGIND_RULES,
    "cron": CRON_RULES,
    "crond": CRON_RULES,
    **dict.fromkeys(
        (
            "useradd",
            "groupadd",
            "usermod",
            "userdel",
            "groupdel",
            "groupmod",
            "passwd",
            "chpasswd",
            "gpasswd",
        ),
        SHADOW_RULES,
    ),
}
AUTH_PROGRAMS: Final = frozenset({*RULES, "polkitd", "pkexec", "gdm-password", "gdm", "chage", "newgrp"})

_REPEATED = re.compile(r"message repeated (?P<count>\d{1,9}) times: \[ ?(?P<inner>.*?) ?\]?$")
_SOLARIS_ID = re.compile(r"\[ID \d+ [\w.]+\] ")
_OLD_PAM_TAG = re.compile(r"(?P<service>[^()]+)\(pam_(?P<module>\w+)\)")


@lru_cache(maxsize=1024)
def program_key(program: str) -> tuple[str, str | None]:
    """``("sshd", None)`` for ``sshd`` or ``/usr/sbin/sshd``; ``("sshd", "sshd")`` for ``sshd(pam_unix)``."""
    old = _OLD_PAM_TAG.fullmatch(program)
    if old:
        service = basename(old["service"]).lower()
        return service, service
    return basename(program).lower(), None


def normalize(event: Event, program: str | None, message: str) -> int:
    """Add the ECS fields that ``message`` of ``program`` implies to ``event``; return its repeat count.

    The count is 1, or N for rsyslog's ``message repeated N times: [ MSG ]`` (MSG is what gets normalized).
    """
    repeat = 1
    if message.startswith("message repeated "):
        match = _REPEATED.match(message)
        if match:
            repeat, message = int(match["count"]), match["inner"]
    if message.startswith("[ID "):
        message = _SOLARIS_ID.sub("", message, count=1)
    key, pam_service = program_key(program or "")
    if key in AUTH_PROGRAMS:
        event["event.dataset"] = "system.auth"
    if pam_service is not None:
        _pam_message(pam_service, message, event)
    elif message.startswith("pam_"):
        pam = _PAM_PREFIX.match(message)
        if pam:
            event["event.dataset"] = "system.auth"
            _pam_message(pam["service"], pam["rest"], event)
    elif message.startswith("PAM ") and " more authentication failure" in message:
        _pam_message(key, message[4:], event)
    else:
        _apply_rules(RULES.get(key, ()), message, event)
    return repeat


def _apply_rules(rules: tuple[Rule, ...], message: str, event: Event) -> None:
    for rule in rules:
        if rule.keyword in message:
            match = rule.pattern.match(message)
            if match:
                rule.handler(match, event)
                return
