"""Logins of each host: who came in, from where, how, and after how many failures.

Fed by authentication and session events in time order: sshd's lines in auth.log (``Accepted``/``Failed``
password or publickey, with the sshd pid), logind's ``New session N``, auditd ``USER_AUTH``/``USER_LOGIN``/
``USER_START`` (with the audit session id and the remote address), and Windows 4624/4625 (logon id, logon
type, source address). A successful login becomes a :class:`Login`, findable by its session id (audit
``ses`` or Windows logon id) and by the pid of the sshd process that served it; failures are kept for
``burst_window`` so that a success says how many failed attempts came before it from the same address
or for the same user.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from shellwatch.state.clock import event_micros

MICROS: Final = 1_000_000
_SAME_ATTEMPT: Final = 2 * MICROS
"""Failures from one address for one user this close together are one attempt logged twice."""
_WINDOWS_LOGON_CODES: Final = frozenset({"4624", "4625"})
_LOGIN_ACTIONS: Final = frozenset({"ssh_login", "user_login", "user_start", "logged-in", "session-new"})
_AUTH_ACTIONS: Final = frozenset({"ssh_login", "user_auth", "user_login", "pam-authentication-failure"})
_REMOTE_LOGON_TYPES: Final = frozenset({"Network", "RemoteInteractive", "NetworkCleartext", "3", "8", "10"})
_INTERACTIVE_LOGON_TYPES: Final = frozenset(
    {
        "Interactive",
        "RemoteInteractive",
        "CachedInteractive",
        "CachedRemoteInteractive",
        "2",
        "10",
        "11",
        "12",
    }
)


@dataclass(slots=True)
class Login:
    """One successful login."""

    user: str | None
    start: str | None
    micros: int
    kind: str
    """``ssh``, ``windows-logon`` or ``login`` (console, su, other PAM services)."""
    source_ip: str | None = None
    source_port: int | None = None
    method: str | None = None
    """``password``, ``publickey``, ... for SSH; the logon type name for Windows."""
    session: str | None = None
    pid: int | None = None
    interactive: bool | None = None
    failures_before: int = 0


@dataclass(slots=True)
class Failure:
    micros: int
    user: str | None
    source_ip: str | None
    action: str | None = None


@dataclass(frozen=True, slots=True)
class SessionSettings:
    burst_window: float = 3600.0
    """Seconds before a success in which failed attempts count towards ``failures_before``."""
    max_failures: int = 10_000
    max_logins: int = 10_000


class HostSessions:
    """The logins of one host."""

    def __init__(self, settings: SessionSettings) -> None:
        self.settings = settings
        self.by_session: dict[str, Login] = {}
        self.by_pid: dict[int, Login] = {}
        self.logins: deque[Login] = deque()
        self.failures: deque[Failure] = deque()

    def observe(self, event: Mapping[str, Any]) -> Login | None:
        """Record ``event`` if it is a login or a failed one; the login it made or completed, if any."""
        if not _is_auth(event):
            return None
        moment = event_micros(event)
        outcome = event.get("event.outcome")
        user, source_ip = _text(event.get("user.name")), _text(event.get("source.ip"))
        if outcome == "failure":
            self._failed(Failure(moment, user, source_ip, _text(event.get("event.action"))))
            return None
        if outcome != "success" or not _is_login(event):
            return None
        session = _session(event)
        pid = event.get("process.pid") if isinstance(event.get("process.pid"), int) else None
        known = (self.by_session.get(session) if session else None) or (
            self.by_pid.get(pid) if pid is not None else None
        )
        if known is not None:
            _complete(known, event, session, user, source_ip)
            self._index(known)
            return known
        login = _new_login(event, moment, session, pid, user, source_ip)
        login.failures_before = self._count_failures(moment, user, source_ip)
        self.logins.append(login)
        while len(self.logins) > self.settings.max_logins:
            self._forget(self.logins.popleft())
        self._index(login)
        return login

    def find(self, session: str | None, pids: Iterable[int]) -> Login | None:
        """The login a process belongs to: by its session id, else by an ancestor's (sshd's) pid."""
        if session is not None and session in self.by_session:
            return self.by_session[session]
        for pid in pids:
            login = self.by_pid.get(pid)
            if login is not None:
                return login
        return None

    def recent_failures(self, moment: int, user: str | None, source_ip: str | None) -> int:
        return self._count_failures(moment, user, source_ip)

    def _failed(self, failure: Failure) -> None:
        # One attempt is often logged twice (PAM's "authentication failure" and sshd's "Failed password").
        for recent in list(self.failures)[-3:]:
            if (
                recent.source_ip == failure.source_ip
                and recent.user == failure.user
                and recent.action != failure.action
                and abs(recent.micros - failure.micros) <= _SAME_ATTEMPT
            ):
                return
        self.failures.append(failure)
        oldest = failure.micros - int(self.settings.burst_window * MICROS)
        while self.failures and (
            len(self.failures) > self.settings.max_failures or self.failures[0].micros < oldest
        ):
            self.failures.popleft()

    def _count_failures(self, moment: int, user: str | None, source_ip: str | None) -> int:
        oldest = moment - int(self.settings.burst_window * MICROS)
        return sum(
            1
            for failure in self.failures
            if oldest <= failure.micros <= moment
            and (
                (source_ip is not None and failure.source_ip == source_ip)
                or (source_ip is None and user is not None and failure.user == user)
            )
        )

    def _index(self, login: Login) -> None:
        if login.session:
            self.by_session[login.session] = login
        if login.pid is not None:
            self.by_pid[login.pid] = login

    def _forget(self, login: Login) -> None:
        if login.session and self.by_session.get(login.session) is login:
            del self.by_session[login.session]
        if login.pid is not None and self.by_pid.get(login.pid) is login:
            del self.by_pid[login.pid]

    def state(self) -> dict[str, Any]:
        return {
            "logins": [asdict(login) for login in self.logins],
            "failures": [asdict(failure) for failure in self.failures],
        }

    def load(self, data: Mapping[str, Any]) -> None:
        for item in data.get("logins", []):
            login = Login(**item)
            self.logins.append(login)
            self._index(login)
        self.failures.extend(Failure(**item) for item in data.get("failures", []))


class SessionTable:
    """The logins of every host, created on first use."""

    def __init__(self, settings: SessionSettings | None = None) -> None:
        self.settings = settings or SessionSettings()
        self.hosts: dict[str, HostSessions] = {}

    def host(self, name: str) -> HostSessions:
        table = self.hosts.get(name)
        if table is None:
            table = self.hosts[name] = HostSessions(self.settings)
        return table

    def state(self) -> dict[str, Any]:
        return {"hosts": {name: table.state() for name, table in self.hosts.items()}}

    @classmethod
    def from_state(cls, state: Mapping[str, Any], settings: SessionSettings | None = None) -> SessionTable:
        table = cls(settings)
        for name, data in state.get("hosts", {}).items():
            table.host(name).load(data)
        return table


def _is_auth(event: Mapping[str, Any]) -> bool:
    categories = event.get("event.category")
    if not isinstance(categories, list):
        return False
    if event.get("event.code") in _WINDOWS_LOGON_CODES and event.get("event.module") == "security":
        return True
    return ("authentication" in categories or "session" in categories) and (
        event.get("event.action") in _AUTH_ACTIONS or event.get("event.action") in _LOGIN_ACTIONS
    )


def _is_login(event: Mapping[str, Any]) -> bool:
    return event.get("event.code") == "4624" or event.get("event.action") in _LOGIN_ACTIONS


def _session(event: Mapping[str, Any]) -> str | None:
    for key in ("auditd.session", "winlog.logon.id", "shellwatch.session.id"):
        value = event.get(key)
        if isinstance(value, str) and value not in ("", "4294967295", "0x0"):
            return value
    return None


def _new_login(
    event: Mapping[str, Any],
    moment: int,
    session: str | None,
    pid: int | None,
    user: str | None,
    source_ip: str | None,
) -> Login:
    windows = event.get("event.code") == "4624"
    logon_type = _text(event.get("winlog.logon.type"))
    method = logon_type if windows else _text(event.get("system.auth.ssh.method"))
    process = _text(event.get("process.name"))
    kind = "windows-logon" if windows else "ssh" if process == "sshd" or method else "login"
    tty = _text(event.get("process.tty.name"))
    interactive = (
        logon_type in _INTERACTIVE_LOGON_TYPES
        if windows
        else (tty is not None and tty != "ssh") or kind == "ssh" or None
    )
    port = event.get("source.port")
    return Login(
        user=user,
        start=_text(event.get("@timestamp")),
        micros=moment,
        kind=kind,
        source_ip=source_ip,
        source_port=port if isinstance(port, int) else None,
        method=method,
        session=session,
        pid=pid,
        interactive=interactive if isinstance(interactive, bool) else None,
    )


def _complete(
    login: Login, event: Mapping[str, Any], session: str | None, user: str | None, source_ip: str | None
) -> None:
    """Later records of one login (logind's session number, auditd's USER_LOGIN) add what they know."""
    login.session = login.session or session
    login.user = login.user or user
    login.source_ip = login.source_ip or source_ip
    tty = _text(event.get("process.tty.name"))
    if tty is not None and tty != "ssh":
        login.interactive = True


def is_remote_logon_type(value: object) -> bool:
    return isinstance(value, str) and value in _REMOTE_LOGON_TYPES


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value not in ("", "-") else None
