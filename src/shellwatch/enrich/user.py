"""User context and privilege level: who the alert's user is, and how much that user can do.

Playbook step "User Context": a shell started by root, SYSTEM or a Domain Admin is a different incident
from the same shell started by a regular user, and a shell started by ``www-data`` is a web server doing
something it should not. :class:`UserEnricher` tells them apart from what the event says (uid, SID, token)
and, when one is given, from an identity source that knows account groups and shells.

The identity source
-------------------
Loaded once by :func:`load_identity`; every part is optional:

``unix_dir``
    a directory of ``passwd``/``group`` exports (the standard colon formats of ``/etc/passwd`` and
    ``/etc/group``): files at its top apply to every host, and a subdirectory named after a host
    (``web01/passwd``, ``web01/group``) applies to that host (matched case-insensitively on ``host.name``
    or its first label). Per-host files win, then the top-level ones.
``passwd`` / ``group``
    single files that apply to every host (instead of a directory's top-level files).
``ad_csv``
    a CSV export of Active Directory users (``Get-ADUser ... | Export-Csv``, ``csvde``): UTF-8 or UTF-16
    with or without a BOM, PowerShell's ``#TYPE`` first line allowed. Column names are matched ignoring
    case, spaces, ``_`` and ``-``; other columns are ignored:

    - ``sAMAccountName`` (or ``username``, ``user``, ``login``, ``account``); else the part before ``@``
      of ``userPrincipalName`` (or ``upn``). One of them is required.
    - ``objectSid`` (or ``sid``): the account's SID.
    - ``displayName`` (or ``fullName``).
    - ``memberOf`` (or ``groups``): groups separated by ``;`` or ``|``, each a DN (its first ``CN=`` is the
      name), a ``DOMAIN\\name``, a plain name, or a SID (well-known ones are named: ``S-1-5-32-544`` is
      Administrators, ``...-512`` Domain Admins, ``...-519`` Enterprise Admins).
    - ``primaryGroupID`` (or ``primaryGroup``): a RID (512 is Domain Admins, 513 Domain Users) or a name.
    - ``userAccountControl`` (bit 2 is "disabled") or ``enabled`` (``True``/``False``).

A malformed line (wrong number of fields, a uid that is not a number, a row without a name, a bad SID) is
reported as an :class:`IdentityIssue` with its file and line and skipped; a file that cannot be read (or an
AD export without a name column) raises :class:`~shellwatch.errors.ConfigError`.

A Windows principal (a SID, or a domain) is looked up in the AD export: by SID when the event has one
(a SID that AD does not know is a local account, not looked up by name), else by name unless the domain is
the host itself or a built-in one (``NT AUTHORITY``...). A Unix principal is looked up by uid, then name,
in the host's files, then the global ones; it falls back to the AD export only for a qualified name
(``alice@corp.example``, as sssd writes them), so that a local ``admin`` is never taken for a domain one.

What the enricher writes
------------------------
It looks at ``user.*``, ``user.effective.*`` (setuid, sudo) and ``user.target.*`` (sudo/su target, the
new process's account of a 4688), the group ids of the event, and Windows token fields. Where the identity
source knows the alert's user it fills ``user.name`` (for an event with only the uid),
``user.group.name``, ``user.roles`` and ``user.full_name`` (never replacing a key the event has), and it
always writes:

- ``shellwatch.user.groups``: every group known for the user (identity source and the event's group ids),
  when there is any;
- ``shellwatch.user.privilege``: ``root``, ``system``, ``admin``, ``elevated``, ``service``, ``user`` or
  ``unknown`` (the strongest that applies, in that order);
- ``shellwatch.user.privileged``: True for root, system, admin and elevated (the score then rises by 10);
- ``shellwatch.user.privilege_reason``: why, strongest first (``uid 0``, ``effective uid 0``,
  ``sudo to root``, ``SID S-1-5-18 (SYSTEM)``, ``member of Domain Admins``, ``in sudo group``,
  ``elevated token (%%1937)``, ``high integrity level``, ``service account www-data``...);
- ``shellwatch.user.disabled``: True when the identity source says the account is disabled.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from shellwatch.enrich.base import adjust_score
from shellwatch.errors import ConfigError
from shellwatch.events import Alert, basename, decode_bytes

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

SCORE_DELTA: Final = 10
"""How much a privileged user raises the alert's score."""


class Privilege(StrEnum):
    """Privilege levels, strongest first."""

    ROOT = "root"
    SYSTEM = "system"
    ADMIN = "admin"
    ELEVATED = "elevated"
    SERVICE = "service"
    USER = "user"
    UNKNOWN = "unknown"


PRIVILEGED: Final = frozenset({Privilege.ROOT, Privilege.SYSTEM, Privilege.ADMIN, Privilege.ELEVATED})
_RANK: Final = {level: rank for rank, level in enumerate(Privilege)}

ADMIN_GROUPS: Final = frozenset(
    {"domain admins", "enterprise admins", "schema admins", "administrators", "wheel", "sudo", "admin"}
)
"""Group names (case-folded) whose members are administrators."""

SERVICE_NAMES: Final = frozenset(
    {
        "www-data", "nginx", "apache", "apache2", "httpd", "_www", "lighttpd", "tomcat", "jetty",
        "mysql", "mariadb", "postgres", "redis", "mongodb", "memcached", "elasticsearch", "oracle",
        "rabbitmq", "named", "bind", "squid", "sshd", "daemon", "nobody", "bin", "sys", "mail", "ftp",
        "jenkins", "gitlab-runner", "zabbix", "nagios", "prometheus", "grafana",
    }
)  # fmt: skip
"""Account names (case-folded) of well-known service accounts."""

_SID: Final = re.compile(r"S-1-\d+(?:-\d+)+", re.IGNORECASE)
_DIGITS: Final = re.compile(r"\d+")
_DOMAIN_RID: Final = re.compile(r"S-1-5-21-\d+-\d+-\d+-(\d+)", re.IGNORECASE)
_DN_NAME: Final = re.compile(r"\s*CN=((?:\\.|[^,\\])+)", re.IGNORECASE)
_DN_ESCAPE: Final = re.compile(r"\\(.)")
_GROUP_SEPARATORS: Final = re.compile(r"[;|\n]")

_WELL_KNOWN_SIDS: Final[dict[str, tuple[Privilege, str]]] = {
    "S-1-5-18": (Privilege.SYSTEM, "SYSTEM"),
    "S-1-5-19": (Privilege.SERVICE, "LOCAL SERVICE"),
    "S-1-5-20": (Privilege.SERVICE, "NETWORK SERVICE"),
}
_SERVICE_SID_PREFIXES: Final = ("S-1-5-80-", "S-1-5-82-", "S-1-5-90-", "S-1-5-96-")
_GROUP_SIDS: Final = {
    "S-1-5-32-544": "Administrators",
    "S-1-5-32-545": "Users",
    "S-1-5-32-551": "Backup Operators",
}
_DOMAIN_GROUP_RIDS: Final = {
    "512": "Domain Admins",
    "513": "Domain Users",
    "514": "Domain Guests",
    "515": "Domain Computers",
    "516": "Domain Controllers",
    "518": "Schema Admins",
    "519": "Enterprise Admins",
}
_NT_AUTHORITY: Final = frozenset({"nt authority", "nt-autorität", "autorite nt", "nt instans"})
_SERVICE_DOMAINS: Final = frozenset({"nt service", "iis apppool", "window manager", "font driver host"})
_BUILTIN_DOMAINS: Final = _NT_AUTHORITY | _SERVICE_DOMAINS | {"builtin"}
_NOLOGIN_SHELLS: Final = frozenset({"nologin", "false"})
_SWITCH_TOOLS: Final = frozenset({"sudo", "su", "doas", "pkexec", "runuser", "run0"})
_ELEVATED_TOKENS: Final = frozenset({"%%1937", "full"})
_HIGH_INTEGRITY: Final = {"high": "high integrity level", "system": "system integrity level"}
_INTEGRITY_SIDS: Final = {"S-1-16-12288": "high", "S-1-16-16384": "system"}
_INTEGRITY_KEYS: Final = (
    "winlog.event_data.IntegrityLevel",
    "sysmon.integrity_level",
    "shellwatch.windows.integrity_level",
    "winlog.event_data.MandatoryLabel",
)
_TOKEN_KEYS: Final = ("winlog.event_data.TokenElevationType", "shellwatch.windows.token_elevation")
_ROLES: Final = (("user", ""), ("user.effective", "effective "), ("user.target", "target "))


# ----------------------------------------------------------------------------------------- identity data


@dataclass(frozen=True, slots=True)
class Account:
    """One account the identity source knows; ``id`` is the uid (text) or the SID."""

    name: str
    id: str | None
    kind: Literal["unix", "ad"]
    primary_group: str | None = None
    groups: tuple[str, ...] = ()
    shell: str | None = None
    full_name: str | None = None
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class IdentityIssue:
    """A line of an identity file that was skipped, and why."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(slots=True)
class _UnixDirectory:
    """The accounts and group names of one ``passwd``/``group`` pair."""

    by_name: dict[str, Account] = field(default_factory=dict)
    by_uid: dict[str, Account] = field(default_factory=dict)
    group_names: dict[str, str] = field(default_factory=dict)

    def find(self, name: str | None, uid: str | None) -> Account | None:
        found = self.by_uid.get(uid) if uid is not None else None
        return found or (self.by_name.get(name) if name is not None else None)


@dataclass(slots=True)
class _AdDirectory:
    """The accounts of an AD export, by case-folded name and by upper-case SID."""

    by_name: dict[str, Account] = field(default_factory=dict)
    by_sid: dict[str, Account] = field(default_factory=dict)

    def add(self, account: Account) -> None:
        self.by_name.setdefault(account.name.casefold(), account)
        if account.id is not None:
            self.by_sid.setdefault(account.id, account)


@dataclass(slots=True)
class Identity:
    """Accounts from Unix exports (per host and global) and an AD export; see the module docstring."""

    hosts: dict[str, _UnixDirectory] = field(default_factory=dict)
    unix: _UnixDirectory | None = None
    ad: _AdDirectory | None = None
    issues: list[IdentityIssue] = field(default_factory=list)

    def find(
        self, host: str | None, name: str | None, ident: str | None, domain: str | None
    ) -> Account | None:
        """The account of a principal (name, uid or SID, domain) seen on ``host``, or None."""
        if (ident is not None and _SID.fullmatch(ident)) or domain:
            return self._find_windows(host, name, ident, domain)
        unix = [table for table in (self._host_table(host), self.unix) if table is not None]
        uid = ident if ident is not None and _DIGITS.fullmatch(ident) else None
        for table in unix:
            found = table.find(name, uid)
            if found is not None:
                return found
        if name is not None and ("@" in name or "\\" in name):
            return self._find_ad_name(name)
        return None

    def group_name(self, host: str | None, gid: str) -> str | None:
        """The name of group ``gid`` on ``host`` (host files first, then the global ones)."""
        for table in (self._host_table(host), self.unix):
            if table is not None and gid in table.group_names:
                return table.group_names[gid]
        return None

    def _host_table(self, host: str | None) -> _UnixDirectory | None:
        if not host or not self.hosts:
            return None
        folded = host.casefold()
        return self.hosts.get(folded) or self.hosts.get(folded.split(".", 1)[0])

    def _find_windows(
        self, host: str | None, name: str | None, ident: str | None, domain: str | None
    ) -> Account | None:
        if self.ad is None:
            return None
        if ident is not None and _SID.fullmatch(ident):
            return self.ad.by_sid.get(ident.upper())
        if domain and (domain.casefold() in _BUILTIN_DOMAINS or _same_host(domain, host)):
            return None
        return self._find_ad_name(name) if name is not None else None

    def _find_ad_name(self, name: str) -> Account | None:
        if self.ad is None:
            return None
        short = name.rpartition("\\")[2].partition("@")[0]
        return self.ad.by_name.get(short.casefold())


def _same_host(domain: str, host: str | None) -> bool:
    return host is not None and domain.casefold() == host.casefold().split(".", 1)[0]


# -------------------------------------------------------------------------------------- loading: Unix


@dataclass(frozen=True, slots=True)
class _PasswdLine:
    name: str
    uid: str
    gid: str
    gecos: str
    shell: str


@dataclass(frozen=True, slots=True)
class _GroupLine:
    name: str
    gid: str
    members: tuple[str, ...]


def _read_text(path: Path, what: str) -> str:
    try:
        return decode_bytes(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def _colon_lines(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of the lines that hold a record (no blank, ``#`` or NIS ``+``/``-`` lines)."""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith(("#", "+", "-")):
            yield number, line.split(":")


def _parse_passwd(text: str, path: str, issues: list[IdentityIssue]) -> list[_PasswdLine]:
    """Records of a ``passwd`` file (``name:x:uid:gid:gecos:home:shell``); bad lines go to ``issues``."""
    records: list[_PasswdLine] = []
    for number, fields in _colon_lines(text):
        problem = _passwd_problem(fields)
        if problem is not None:
            issues.append(IdentityIssue(path, number, problem))
            continue
        name, _, uid, gid, gecos, _, shell = fields
        records.append(_PasswdLine(name, uid, gid, gecos, shell))
    return records


def _passwd_problem(fields: list[str]) -> str | None:
    if len(fields) != 7:
        return f"expected 7 colon-separated fields (name:x:uid:gid:gecos:home:shell), found {len(fields)}"
    if not fields[0]:
        return "empty user name"
    for label, value in (("uid", fields[2]), ("gid", fields[3])):
        if not _DIGITS.fullmatch(value):
            return f"{label} {value!r} is not a number"
    return None


def _parse_group(text: str, path: str, issues: list[IdentityIssue]) -> list[_GroupLine]:
    """Records of a ``group`` file (``name:x:gid:member,member``); bad lines go to ``issues``."""
    records: list[_GroupLine] = []
    for number, fields in _colon_lines(text):
        if len(fields) != 4:
            message = f"expected 4 colon-separated fields (name:x:gid:members), found {len(fields)}"
            issues.append(IdentityIssue(path, number, message))
        elif not fields[0] or not _DIGITS.fullmatch(fields[2]):
            issues.append(IdentityIssue(path, number, f"bad group name or gid {fields[2]!r}"))
        else:
            members = tuple(item.strip() for item in fields[3].split(",") if item.strip())
            records.append(_GroupLine(fields[0], fields[2], members))
    return records


def _unix_directory(users: list[_PasswdLine], groups: list[_GroupLine]) -> _UnixDirectory:
    table = _UnixDirectory(group_names={group.gid: group.name for group in groups})
    memberships: dict[str, list[str]] = {}
    for group in groups:
        for member in group.members:
            memberships.setdefault(member, []).append(group.name)
    for user in users:
        primary = table.group_names.get(user.gid)
        names = [primary] if primary else []
        names += [name for name in memberships.get(user.name, []) if name != primary]
        full_name = user.gecos.split(",", 1)[0].strip() or None
        account = Account(user.name, user.uid, "unix", primary, tuple(names), user.shell or None, full_name)
        table.by_name.setdefault(user.name, account)
        table.by_uid.setdefault(user.uid, account)
    return table


def _load_unix_pair(passwd: Path | None, group: Path | None, issues: list[IdentityIssue]) -> _UnixDirectory:
    users = _parse_passwd(_read_text(passwd, "passwd file"), str(passwd), issues) if passwd else []
    groups = _parse_group(_read_text(group, "group file"), str(group), issues) if group else []
    return _unix_directory(users, groups)


def _existing(directory: Path, name: str) -> Path | None:
    path = directory / name
    return path if path.is_file() else None


def _load_unix_dir(directory: Path, identity: Identity) -> None:
    if not directory.is_dir():
        raise ConfigError(f"{directory}: not a directory of passwd/group exports")
    found = False
    for sub in sorted(item for item in directory.iterdir() if item.is_dir()):
        passwd, group = _existing(sub, "passwd"), _existing(sub, "group")
        if passwd or group:
            identity.hosts[sub.name.casefold()] = _load_unix_pair(passwd, group, identity.issues)
            found = True
    passwd, group = _existing(directory, "passwd"), _existing(directory, "group")
    if passwd or group:
        identity.unix = _load_unix_pair(passwd, group, identity.issues)
        found = True
    if not found:
        raise ConfigError(f"{directory}: no passwd or group file in it or in a host subdirectory")


# ---------------------------------------------------------------------------------------- loading: AD

_AD_COLUMNS: Final = {
    "samaccountname": "name",
    "username": "name",
    "user": "name",
    "login": "name",
    "account": "name",
    "userprincipalname": "upn",
    "upn": "upn",
    "objectsid": "sid",
    "sid": "sid",
    "displayname": "full_name",
    "fullname": "full_name",
    "memberof": "groups",
    "groups": "groups",
    "primarygroupid": "primary_group",
    "primarygroup": "primary_group",
    "useraccountcontrol": "uac",
    "enabled": "enabled",
}
_FALSE_WORDS: Final = frozenset({"false", "0", "no", "disabled"})


def _decode_csv(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", "backslashreplace")
    return raw.decode("utf-8-sig", "backslashreplace")


def _column_map(header: list[str]) -> dict[str, int]:
    """Canonical column (``name``, ``sid``...) to its index, from the CSV header (first one wins)."""
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        key = _AD_COLUMNS.get(re.sub(r"[\s_-]", "", title).casefold())
        if key is not None:
            columns.setdefault(key, index)
    return columns


def _parse_ad_csv(text: str, path: str, issues: list[IdentityIssue]) -> list[Account]:
    """Accounts of an AD CSV export (columns in the module docstring); bad rows go to ``issues``."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, [])
        if header and header[0].startswith("#TYPE"):
            header = next(reader, [])
        columns = _column_map(header)
        if "name" not in columns and "upn" not in columns:
            raise ConfigError(f"{path}: no sAMAccountName or userPrincipalName column in the AD export")
        return list(_ad_rows(reader, columns, len(header), path, issues))
    except csv.Error as exc:
        raise ConfigError(f"{path}:{reader.line_num}: unreadable CSV: {exc}") from None


def _ad_rows(
    reader: CsvReader, columns: dict[str, int], width: int, path: str, issues: list[IdentityIssue]
) -> Iterator[Account]:
    line_num = reader.line_num
    for row in reader:
        start, line_num = line_num + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != width:
            issues.append(IdentityIssue(path, start, f"expected {width} fields, found {len(row)}"))
            continue
        try:
            yield _ad_account({key: row[index].strip() for key, index in columns.items()})
        except ValueError as exc:
            issues.append(IdentityIssue(path, start, str(exc)))


def _ad_account(cells: dict[str, str]) -> Account:
    """One AD row (canonical column to text) as an Account; ValueError says what is wrong with it."""
    name = cells.get("name") or cells.get("upn", "").partition("@")[0]
    name = name.rpartition("\\")[2]
    if not name:
        raise ValueError("no account name (sAMAccountName or userPrincipalName)")
    sid = cells.get("sid") or None
    if sid is not None and not _SID.fullmatch(sid):
        raise ValueError(f"objectSid {sid!r} is not a SID")
    primary = _primary_group(cells.get("primary_group", ""))
    groups = [primary] if primary else []
    groups += [group for group in _member_of(cells.get("groups", "")) if group != primary]
    return Account(
        name=name,
        id=sid.upper() if sid else None,
        kind="ad",
        primary_group=primary,
        groups=tuple(groups),
        full_name=cells.get("full_name") or None,
        disabled=_disabled(cells.get("uac", ""), cells.get("enabled", "")),
    )


def _primary_group(text: str) -> str | None:
    if not text:
        return None
    return _DOMAIN_GROUP_RIDS.get(text) if _DIGITS.fullmatch(text) else _group_name(text)


def _member_of(text: str) -> list[str]:
    """Group names of a ``memberOf`` cell: DNs, ``DOMAIN\\name``, names or SIDs, ``;`` or ``|`` apart."""
    names = (_group_name(item) for item in _GROUP_SEPARATORS.split(text) if item.strip())
    return list(dict.fromkeys(name for name in names if name))


def _group_name(item: str) -> str:
    item = item.strip()
    match = _DN_NAME.match(item)
    if match:
        return _DN_ESCAPE.sub(r"\1", match.group(1)).strip()
    if _SID.fullmatch(item):
        sid = item.upper()
        rid = _DOMAIN_RID.fullmatch(sid)
        return _GROUP_SIDS.get(sid) or (_DOMAIN_GROUP_RIDS.get(rid.group(1), sid) if rid else sid)
    return item.rpartition("\\")[2]


def _disabled(uac: str, enabled: str) -> bool:
    if uac:
        if not _DIGITS.fullmatch(uac):
            raise ValueError(f"userAccountControl {uac!r} is not a number")
        return bool(int(uac) & 0x2)
    return enabled.casefold() in _FALSE_WORDS


def load_identity(
    *,
    unix_dir: Path | None = None,
    passwd: Path | None = None,
    group: Path | None = None,
    ad_csv: Path | None = None,
) -> Identity:
    """Read the identity source (see the module docstring); malformed lines end in ``issues``."""
    identity = Identity()
    if unix_dir is not None:
        _load_unix_dir(unix_dir, identity)
    if passwd is not None or group is not None:
        if identity.unix is not None:
            raise ConfigError(f"{unix_dir}: has global passwd/group files; do not also give single files")
        identity.unix = _load_unix_pair(passwd, group, identity.issues)
    if ad_csv is not None:
        identity.ad = _AdDirectory()
        for account in _parse_ad_csv(_decode_csv(_read_raw(ad_csv)), str(ad_csv), identity.issues):
            identity.ad.add(account)
    return identity


def _read_raw(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the AD export: {exc.strerror or exc}") from None


# ------------------------------------------------------------------------------------------- assessment


@dataclass(frozen=True, slots=True)
class _Principal:
    """A user the event names: ``prefix`` starts its reasons (``""``, ``"effective "``, ``"target "``)."""

    prefix: str
    name: str | None
    id: str | None
    domain: str | None
    account: Account | None


Finding = tuple[Privilege, str]


def _text(alert: Alert, key: str) -> str | None:
    value = alert.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return value.strip() or None if isinstance(value, str) else None


def _switch_verb(alert: Alert) -> str:
    """How the event switched user: ``sudo``, ``su``... from the process, its parent or the action."""
    for key in ("process.name", "process.parent.name"):
        name = _text(alert, key)
        if name is not None and name in _SWITCH_TOOLS:
            return name
    action = (_text(alert, "event.action") or "").partition("-")[0]
    return action if action in _SWITCH_TOOLS else "switch"


def _id_findings(principal: _Principal, verb: str) -> Iterator[Finding]:
    ident = principal.id
    if ident is None:
        return
    if ident == "0":
        yield (
            Privilege.ROOT,
            f"{verb} to root" if principal.prefix == "target " else f"{principal.prefix}uid 0",
        )
        return
    if not _SID.fullmatch(ident):
        return
    sid = ident.upper()
    if sid in _WELL_KNOWN_SIDS:
        level, label = _WELL_KNOWN_SIDS[sid]
        yield level, f"{principal.prefix}SID {sid} ({label})"
    elif sid.startswith(_SERVICE_SID_PREFIXES):
        yield Privilege.SERVICE, f"{principal.prefix}SID {sid} (service SID)"
    elif sid.endswith("-500") and sid.startswith("S-1-5-21-"):
        yield Privilege.ADMIN, f"{principal.prefix}SID {sid} (built-in Administrator)"


def _name_findings(principal: _Principal, verb: str) -> Iterator[Finding]:
    name, domain = principal.name, (principal.domain or "").casefold()
    if name is None:
        return
    folded = name.casefold()
    if folded == "root" and not domain:
        yield (
            Privilege.ROOT,
            f"{verb} to root" if principal.prefix == "target " else f"{principal.prefix}user root",
        )
    elif domain in _NT_AUTHORITY:
        level = Privilege.SYSTEM if folded == "system" else Privilege.SERVICE
        yield level, f"{principal.prefix}user {principal.domain}\\{name}"
    elif domain in _SERVICE_DOMAINS:
        yield Privilege.SERVICE, f"{principal.prefix}service account {principal.domain}\\{name}"
    elif folded.endswith("$"):
        yield Privilege.SERVICE, f"{principal.prefix}computer account {name}"
    elif folded in SERVICE_NAMES:
        yield Privilege.SERVICE, f"{principal.prefix}service account {name}"


def _account_findings(principal: _Principal) -> Iterator[Finding]:
    account = principal.account
    if account is None or account.kind != "unix" or account.id in {None, "0"}:
        return
    shell = basename(account.shell or "")
    if int(account.id or 0) < 1000 and shell in _NOLOGIN_SHELLS:
        yield Privilege.SERVICE, f"{principal.prefix}uid {account.id} with no login shell ({account.shell})"


def _group_findings(
    prefix: str, groups: Iterable[str], kind: str, admin: frozenset[str]
) -> Iterator[Finding]:
    for group in groups:
        if group.casefold() in admin:
            text = f"member of {group}" if kind == "ad" else f"in {group} group"
            yield Privilege.ADMIN, f"{prefix}{text}"


def _token_findings(alert: Alert) -> Iterator[Finding]:
    for key in _TOKEN_KEYS:
        value = _text(alert, key)
        if value is not None and value.casefold() in _ELEVATED_TOKENS:
            yield Privilege.ELEVATED, "elevated token (%%1937)"
            break
    for key in _INTEGRITY_KEYS:
        value = _text(alert, key)
        level = _INTEGRITY_SIDS.get(value.upper(), value.casefold()) if value is not None else None
        if level in _HIGH_INTEGRITY:
            yield Privilege.ELEVATED, _HIGH_INTEGRITY[level]
            break


@dataclass(frozen=True, slots=True)
class Assessment:
    """The privilege level of an alert's user, and why."""

    privilege: Privilege
    reasons: tuple[str, ...]

    @property
    def privileged(self) -> bool:
        return self.privilege in PRIVILEGED


def _assessment(findings: Iterable[Finding], has_user: bool) -> Assessment:
    ordered = sorted(dict.fromkeys(findings), key=lambda item: _RANK[item[0]])
    if ordered:
        return Assessment(ordered[0][0], tuple(dict.fromkeys(reason for _, reason in ordered)))
    if has_user:
        return Assessment(Privilege.USER, ("no privileged id, group or token",))
    return Assessment(Privilege.UNKNOWN, ("no user in the event",))


# --------------------------------------------------------------------------------------------- enricher


class UserEnricher:
    """Writes the user's groups and privilege level (see the module docstring).

    ``identity`` is optional: without it, the level comes from the event alone (uids, SIDs, names, token).
    """

    name = "user"

    def __init__(
        self,
        identity: Identity | None = None,
        admin_groups: Iterable[str] = ADMIN_GROUPS,
        score_delta: int = SCORE_DELTA,
    ) -> None:
        self.identity = identity
        self.admin_groups = frozenset(group.casefold() for group in admin_groups)
        self.score_delta = score_delta

    def enrich(self, alert: Alert) -> None:
        principals = self._principals(alert)
        subject = next((item for item in principals if item.prefix == ""), None)
        account = subject.account if subject is not None else None
        event_groups = self._event_groups(alert)
        groups = list(dict.fromkeys([*(account.groups if account else ()), *event_groups]))
        if account is not None:
            _put_account(alert, account)
        if groups:
            alert["shellwatch.user.groups"] = groups
        assessment = self._assess(alert, principals, event_groups)
        alert["shellwatch.user.privilege"] = assessment.privilege.value
        alert["shellwatch.user.privileged"] = assessment.privileged
        alert["shellwatch.user.privilege_reason"] = list(assessment.reasons)
        if account is not None and account.disabled:
            alert["shellwatch.user.disabled"] = True
        if assessment.privileged:
            adjust_score(alert, self.score_delta, self.name)

    def assess(self, alert: Alert) -> Assessment:
        """The privilege level of the alert's user, without writing anything."""
        return self._assess(alert, self._principals(alert), self._event_groups(alert))

    def _assess(self, alert: Alert, principals: list[_Principal], event_groups: list[str]) -> Assessment:
        """The privilege of the alert's users (subject, effective, target) and of its token."""
        verb = _switch_verb(alert)
        findings: list[Finding] = []
        for principal in principals:
            findings += _id_findings(principal, verb)
            findings += _name_findings(principal, verb)
            findings += _account_findings(principal)
            if principal.account is not None:
                kind = principal.account.kind
                findings += _group_findings(
                    principal.prefix, principal.account.groups, kind, self.admin_groups
                )
        findings += _group_findings("", event_groups, "unix", self.admin_groups)
        findings += _token_findings(alert)
        return _assessment(findings, bool(principals))

    def _principals(self, alert: Alert) -> list[_Principal]:
        host = _text(alert, "host.name")
        found: list[_Principal] = []
        for key, prefix in _ROLES:
            name, ident = _text(alert, f"{key}.name"), _text(alert, f"{key}.id")
            if name is None and ident is None:
                continue
            domain = _text(alert, f"{key}.domain")
            account = self.identity.find(host, name, ident, domain) if self.identity is not None else None
            found.append(_Principal(prefix, name, ident, domain, account))
        return found

    def _event_groups(self, alert: Alert) -> list[str]:
        """Group names the event itself gives: ``*.group.name``, and group ids the identity source names."""
        names = [
            name for key in ("user.group.name", "user.effective.group.name") if (name := _text(alert, key))
        ]
        if self.identity is None:
            return names
        host = _text(alert, "host.name")
        for gid in _event_gids(alert):
            name = self.identity.group_name(host, gid)
            if name is not None and name not in names:
                names.append(name)
        return names


def _event_gids(alert: Alert) -> list[str]:
    gids = [gid for key in ("user.group.id", "user.effective.group.id") if (gid := _text(alert, key))]
    supplemental = alert.get("process.supplemental_groups.id")
    if isinstance(supplemental, list):
        gids += [str(item) for item in supplemental]
    return gids


def _put_account(alert: Alert, account: Account) -> None:
    """ECS keys the identity source knows, where the event has none."""
    if "user.name" not in alert:
        alert["user.name"] = account.name
    if account.primary_group and "user.group.name" not in alert:
        alert["user.group.name"] = account.primary_group
    if account.groups and "user.roles" not in alert:
        alert["user.roles"] = list(account.groups)
    if account.full_name and "user.full_name" not in alert:
        alert["user.full_name"] = account.full_name
