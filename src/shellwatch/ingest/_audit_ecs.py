"""Linux audit events (grouped records) to flat ECS events.

One function per concern: the SYSCALL record's process and user ids, EXECVE arguments, PROCTITLE, CWD,
PATH, SOCKADDR, and the user-space (PAM, sudo, account management) messages. Categories, types and
actions come from tables keyed by syscall name or record type.
"""

from __future__ import annotations

import ipaddress
import posixpath
import struct
from collections.abc import Callable
from typing import Final

from shellwatch.events import Event, basename, canonical_ip, decode_bytes, entity_id, timestamp_from_epoch
from shellwatch.ingest._audit_records import (
    EMPTY,
    ENCODABLE,
    UNSET,
    Record,
    decode_argv,
    decode_value,
    hex_bytes,
    is_hex,
    tokenize,
    unquote,
)
from shellwatch.ingest._audit_syscalls import arch_name, errno_name, syscall_name

Classification = tuple[str, tuple[str, ...], tuple[str, ...]]
"""(event.action, event.category, event.type)."""

_PROCESS_START: Final = ("executed", ("process",), ("start",))
_CONNECT: Final = ("connected-to", ("network",), ("connection", "start"))
_ACCEPT: Final = ("accepted-connection-from", ("network",), ("connection", "start"))

SYSCALL_CLASSES: Final[dict[str, Classification]] = {
    "execve": _PROCESS_START,
    "execveat": _PROCESS_START,
    "connect": _CONNECT,
    "accept": _ACCEPT,
    "accept4": _ACCEPT,
    "bind": ("bound-socket", ("network",), ("start",)),
    "listen": ("listen-for-connections", ("network",), ("start",)),
    "socket": ("created-socket", ("network",), ("info",)),
    "sendto": ("sent-to", ("network",), ("connection",)),
    "sendmsg": ("sent-to", ("network",), ("connection",)),
    "recvfrom": ("received-from", ("network",), ("connection",)),
    "recvmsg": ("received-from", ("network",), ("connection",)),
    "open": ("opened-file", ("file",), ("access",)),
    "openat": ("opened-file", ("file",), ("access",)),
    "openat2": ("opened-file", ("file",), ("access",)),
    "open_by_handle_at": ("opened-file", ("file",), ("access",)),
    "creat": ("created-file", ("file",), ("creation",)),
    "unlink": ("deleted", ("file",), ("deletion",)),
    "unlinkat": ("deleted", ("file",), ("deletion",)),
    "rmdir": ("deleted", ("file",), ("deletion",)),
    "rename": ("renamed", ("file",), ("change",)),
    "renameat": ("renamed", ("file",), ("change",)),
    "renameat2": ("renamed", ("file",), ("change",)),
    "mkdir": ("created-directory", ("file",), ("creation",)),
    "mkdirat": ("created-directory", ("file",), ("creation",)),
    "link": ("linked", ("file",), ("creation",)),
    "linkat": ("linked", ("file",), ("creation",)),
    "symlink": ("linked", ("file",), ("creation",)),
    "symlinkat": ("linked", ("file",), ("creation",)),
    "mknod": ("made-device", ("file",), ("creation",)),
    "mknodat": ("made-device", ("file",), ("creation",)),
    "truncate": ("truncated", ("file",), ("change",)),
    "ftruncate": ("truncated", ("file",), ("change",)),
    "chmod": ("changed-file-permissions-of", ("file",), ("change",)),
    "fchmod": ("changed-file-permissions-of", ("file",), ("change",)),
    "fchmodat": ("changed-file-permissions-of", ("file",), ("change",)),
    "fchmodat2": ("changed-file-permissions-of", ("file",), ("change",)),
    "chown": ("changed-file-ownership-of", ("file",), ("change",)),
    "fchown": ("changed-file-ownership-of", ("file",), ("change",)),
    "lchown": ("changed-file-ownership-of", ("file",), ("change",)),
    "fchownat": ("changed-file-ownership-of", ("file",), ("change",)),
    "mount": ("mounted", ("file",), ("info",)),
    "umount2": ("unmounted", ("file",), ("info",)),
    "clone": ("forked", ("process",), ("info",)),
    "clone3": ("forked", ("process",), ("info",)),
    "fork": ("forked", ("process",), ("info",)),
    "vfork": ("forked", ("process",), ("info",)),
    "ptrace": ("traced-process", ("process",), ("access",)),
    "process_vm_readv": ("read-process-memory", ("process",), ("access",)),
    "process_vm_writev": ("wrote-process-memory", ("process",), ("change",)),
    "kill": ("killed-pid", ("process",), ("info",)),
    "tkill": ("killed-pid", ("process",), ("info",)),
    "tgkill": ("killed-pid", ("process",), ("info",)),
    "memfd_create": ("created-memory-file", ("process",), ("info",)),
    "init_module": ("loaded-kernel-module", ("driver",), ("info",)),
    "finit_module": ("loaded-kernel-module", ("driver",), ("info",)),
    "delete_module": ("unloaded-kernel-module", ("driver",), ("info",)),
    "settimeofday": ("changed-system-time", ("host",), ("change",)),
    "clock_settime": ("changed-system-time", ("host",), ("change",)),
    "adjtimex": ("changed-system-time", ("host",), ("change",)),
}
for _name in (
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid",
    "setuid32", "setgid32", "setreuid32", "setregid32", "setresuid32", "setresgid32", "setfsuid32",
    "setfsgid32",
):  # fmt: skip
    SYSCALL_CLASSES[_name] = ("changed-identity-of", ("process",), ("change",))

# Network syscalls whose SOCKADDR is the remote end (destination) or the peer/local end (source).
_DESTINATION_CALLS: Final = frozenset({"connect", "sendto", "sendmsg", "sendmmsg"})
_SOURCE_CALLS: Final = frozenset({"accept", "accept4", "bind", "recvfrom", "recvmsg", "recvmmsg"})

TypeClass = tuple[tuple[str, ...], tuple[str, ...]]
TYPE_CLASSES: Final[dict[str, TypeClass]] = {
    "USER_AUTH": (("authentication",), ("info",)),
    "USER_ACCT": (("authentication",), ("info",)),
    "USER_LOGIN": (("authentication",), ("start",)),
    "USER_LOGOUT": (("authentication",), ("end",)),
    "USER_ERR": (("authentication",), ("info",)),
    "CRED_ACQ": (("authentication",), ("info",)),
    "CRED_REFR": (("authentication",), ("info",)),
    "CRED_DISP": (("authentication",), ("info",)),
    "LOGIN": (("authentication",), ("start",)),
    "GRP_AUTH": (("authentication",), ("info",)),
    "USER_START": (("session",), ("start",)),
    "USER_END": (("session",), ("end",)),
    "USER_CMD": (("process",), ("start",)),
    "USER_TTY": (("process",), ("info",)),
    "TTY": (("process",), ("info",)),
    "ADD_USER": (("iam",), ("user", "creation")),
    "DEL_USER": (("iam",), ("user", "deletion")),
    "ADD_GROUP": (("iam",), ("group", "creation")),
    "DEL_GROUP": (("iam",), ("group", "deletion")),
    "USER_MGMT": (("iam",), ("user", "change")),
    "GRP_MGMT": (("iam",), ("group", "change")),
    "ACCT_LOCK": (("iam",), ("user", "change")),
    "ACCT_UNLOCK": (("iam",), ("user", "change")),
    "USER_CHAUTHTOK": (("iam",), ("user", "change")),
    "GRP_CHAUTHTOK": (("iam",), ("group", "change")),
    "CHUSER_ID": (("iam",), ("user", "change")),
    "CHGRP_ID": (("iam",), ("group", "change")),
    "ROLE_ASSIGN": (("iam",), ("user", "change")),
    "ROLE_REMOVE": (("iam",), ("user", "change")),
    "USER_ROLE_CHANGE": (("iam",), ("user", "change")),
    "ANOM_ADD_ACCT": (("iam",), ("user", "creation")),
    "ANOM_DEL_ACCT": (("iam",), ("user", "deletion")),
    "ANOM_MOD_ACCT": (("iam",), ("user", "change")),
    "ANOM_LOGIN_FAILURES": (("authentication",), ("info",)),
    "ANOM_LOGIN_ACCT": (("authentication",), ("info",)),
    "ANOM_LOGIN_LOCATION": (("authentication",), ("info",)),
    "ANOM_LOGIN_SESSIONS": (("authentication",), ("info",)),
    "ANOM_LOGIN_TIME": (("authentication",), ("info",)),
    "SERVICE_START": (("process",), ("start",)),
    "SERVICE_STOP": (("process",), ("end",)),
    "DAEMON_START": (("process",), ("start",)),
    "DAEMON_END": (("process",), ("end",)),
    "DAEMON_ABORT": (("process",), ("end",)),
    "DAEMON_CONFIG": (("configuration",), ("change",)),
    "DAEMON_RECONFIG": (("configuration",), ("change",)),
    "CONFIG_CHANGE": (("configuration",), ("change",)),
    "USYS_CONFIG": (("configuration",), ("change",)),
    "NETFILTER_CFG": (("configuration",), ("change",)),
    "MAC_STATUS": (("configuration",), ("change",)),
    "MAC_POLICY_LOAD": (("configuration",), ("change",)),
    "USER_MAC_POLICY_LOAD": (("configuration",), ("change",)),
    "SYSTEM_BOOT": (("host",), ("start",)),
    "SYSTEM_SHUTDOWN": (("host",), ("end",)),
    "SYSTEM_RUNLEVEL": (("host",), ("change",)),
    "ANOM_PROMISCUOUS": (("host",), ("change",)),
    "KERN_MODULE": (("driver",), ("info",)),
}

IAM_TARGET_TYPES: Final = frozenset(
    name for name, (categories, _types) in TYPE_CLASSES.items() if categories == ("iam",)
)

# Records that only add detail to the event they belong to; any other type names the event.
AUXILIARY: Final = frozenset(
    {
        "SYSCALL", "EXECVE", "CWD", "PATH", "PROCTITLE", "SOCKADDR", "EOE", "OBJ_PID", "BPRM_FCAPS",
        "CAPSET", "MMAP", "FD_PAIR", "SOCKETCALL", "IPC", "MQ_OPEN", "MQ_SENDRECV", "MQ_NOTIFY",
        "MQ_GETSETATTR", "TIME_INJOFFSET", "TIME_ADJNTPVAL", "OPENAT2", "URINGOP",
    }
)  # fmt: skip

_SUCCESS: Final = frozenset({"success", "yes", "1"})
_FAILURE: Final = frozenset({"failed", "failure", "fail", "no", "0"})

# SYSCALL fields with an ECS home; every other SYSCALL field goes to auditd.data.*.
_SYSCALL_MAPPED: Final = frozenset(
    {
        "pid", "ppid", "exe", "comm", "auid", "uid", "euid", "suid", "gid", "egid", "sgid", "ses", "tty",
        "key", "success", "syscall", "arch",
    }
)  # fmt: skip
_USER_MAPPED: Final = frozenset(
    {
        "pid",
        "uid",
        "suid",
        "auid",
        "ses",
        "exe",
        "acct",
        "addr",
        "hostname",
        "res",
        "terminal",
        "id",
        "cmd",
        "cwd",
    }
)

_LOGIN_MAPPED: Final = frozenset({"pid", "uid", "auid", "ses", "res"})
_TTY_MAPPED: Final = frozenset({"pid", "uid", "auid", "ses", "data", "comm"})

Applier = Callable[[Event, Record], None]


# --- small helpers ---------------------------------------------------------------------------------


def outcome(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.lower()
    if value in _SUCCESS:
        return "success"
    if value in _FAILURE:
        return "failure"
    return None


def as_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def put(event: Event, key: str, value: str | int | None) -> None:
    """Set ``key`` unless the value is missing or one of audit's placeholders."""
    if value is None:
        return
    if isinstance(value, str) and value in EMPTY:
        return
    event[key] = value


def put_id(event: Event, key: str, value: str | None) -> None:
    """Set a user, group or session id unless it is audit's "unset" (4294967295, -1) or empty."""
    if value is not None and value not in UNSET and value not in EMPTY:
        event[key] = value


def put_name(event: Event, key: str, value: str | None) -> None:
    if value is not None and value not in UNSET and value not in EMPTY:
        event[key] = value


def add_related(event: Event, key: str, value: str) -> None:
    current = event.get(key)
    values = [item for item in current if isinstance(item, str)] if isinstance(current, list) else []
    if value not in values:
        values.append(value)
    event[key] = values


def valid_ip(value: str) -> bool:
    return canonical_ip(value) is not None


def tty_name(value: str | None) -> str | None:
    if value is None or value in EMPTY:
        return None
    return value.removeprefix("/dev/")


# --- SYSCALL ---------------------------------------------------------------------------------------


def apply_syscall(event: Event, record: Record) -> str:
    """Process, user and audit fields of the SYSCALL record; returns the syscall name."""
    fields = record.fields
    arch = arch_name(record.name("ARCH") or record.get("arch") or "")
    syscall = record.name("SYSCALL") or syscall_name(arch, record.get("syscall") or "")
    put(event, "process.pid", as_int(fields.get("pid")))
    put(event, "process.parent.pid", as_int(fields.get("ppid")))
    exe = record.get("exe")
    comm = record.get("comm")
    put(event, "process.executable", exe)
    put(event, "process.name", comm if comm not in (None, "") else (basename(exe) if exe else None))
    tty = tty_name(record.get("tty"))
    if tty is not None:
        event["process.tty.name"] = tty
    event["process.interactive"] = tty is not None
    apply_ids(event, record)
    put(event, "event.outcome", outcome(record.get("success")))
    apply_keys(event, record.get("key"))
    data = {"syscall": syscall, "arch": arch}
    for key, raw in fields.items():
        if key not in _SYSCALL_MAPPED:
            data[key] = decode_value(raw, key in ENCODABLE)
    for key, value in data.items():
        event[f"auditd.data.{key}"] = value
    reason = errno_name(fields.get("exit", "")) if event.get("event.outcome") == "failure" else None
    put(event, "event.reason", reason)
    return syscall


def apply_ids(event: Event, record: Record) -> None:
    """User and group ids (and ENRICHED names) shared by SYSCALL and user-space records."""
    get = record.get
    put_id(event, "user.id", get("auid"))
    put_name(event, "user.name", record.name("AUID"))
    put_id(event, "user.effective.id", get("euid"))
    put_name(event, "user.effective.name", record.name("EUID"))
    put_id(event, "process.real_user.id", get("uid"))
    put_name(event, "process.real_user.name", record.name("UID"))
    put_id(event, "process.saved_user.id", get("suid"))
    put_id(event, "user.group.id", get("gid"))
    put_name(event, "user.group.name", record.name("GID"))
    put_id(event, "user.effective.group.id", get("egid"))
    put_name(event, "user.effective.group.name", record.name("EGID"))
    put_id(event, "process.saved_group.id", get("sgid"))
    put_id(event, "auditd.session", get("ses"))


def apply_keys(event: Event, key: str | None) -> None:
    if key is None or key in EMPTY:
        return
    # CONFIG_CHANGE of a rule written "-F key=x" logs key="key=x"; the key is x (as go-libaudit reads it).
    keys = [part.removeprefix("key=") for part in key.split("\x01") if part]
    if keys:
        event["auditd.key"] = keys


# --- EXECVE / PROCTITLE / CWD / PATH ---------------------------------------------------------------


def execve_args(records: list[Record]) -> tuple[list[str], int | None]:
    """argv of one or more EXECVE records, long arguments (``aN_len``, ``aN[i]``) reassembled."""
    fields: dict[str, str] = {}
    for record in records:
        fields.update(record.fields)
    argc = as_int(fields.get("argc"))
    count = argc if argc is not None else _highest_arg(fields) + 1
    args: list[str] = []
    for index in range(count):
        value = _argument(fields, index)
        if value is None:
            break
        args.append(value)
    return args, argc


def _highest_arg(fields: dict[str, str]) -> int:
    highest = -1
    for key in fields:
        if key[0] == "a" and key[1:2].isdigit():
            digits = key[1:].split("[", 1)[0].split("_", 1)[0]
            if digits.isdigit():
                highest = max(highest, int(digits))
    return highest


def _argument(fields: dict[str, str], index: int) -> str | None:
    raw = fields.get(f"a{index}")
    if raw is not None:
        return decode_value(raw, True)
    if f"a{index}_len" not in fields:
        return None
    chunks: list[str] = []
    part = 0
    while (chunk := fields.get(f"a{index}[{part}]")) is not None:
        chunks.append(chunk)
        part += 1
    texts = [unquote(chunk) for chunk in chunks]
    if all(text is not None for text in texts):
        return "".join(text for text in texts if text is not None)
    joined = "".join(chunks)
    return decode_bytes(hex_bytes(joined)) if is_hex(joined) else joined


def apply_execve(event: Event, records: list[Record]) -> None:
    args, argc = execve_args(records)
    event["process.args"] = args
    event["process.args_count"] = argc if argc is not None else len(args)
    event["process.command_line"] = " ".join(args)


def apply_proctitle(event: Event, record: Record) -> None:
    raw = record.fields.get("proctitle")
    if raw is None:
        return
    title = " ".join(decode_argv(raw))
    event["process.title"] = title
    event.setdefault("process.command_line", title)


def apply_path(event: Event, paths: list[Record], syscall: str | None) -> None:
    """file.* from the PATH record the syscall is about: item 0 for exec, else the created/deleted one."""
    chosen = _pick_path(paths, syscall)
    if chosen is None:
        return
    name = chosen.get("name")
    if name is None or name in EMPTY:
        return
    cwd = event.get("process.working_directory")
    if not name.startswith("/") and isinstance(cwd, str) and cwd.startswith("/"):
        name = posixpath.normpath(posixpath.join(cwd, name))
    event["file.path"] = name
    put(event, "file.inode", chosen.get("inode"))
    mode = chosen.get("mode")
    if mode is not None and mode.isdigit():
        event["file.mode"] = oct(int(mode, 8) & 0o7777)[2:].rjust(4, "0")
    put(event, "file.uid", chosen.get("ouid"))
    put(event, "file.gid", chosen.get("ogid"))


def _pick_path(paths: list[Record], syscall: str | None) -> Record | None:
    if not paths:
        return None
    ordered = sorted(paths, key=lambda record: as_int(record.fields.get("item")) or 0)
    if syscall in ("execve", "execveat"):
        return ordered[0]
    for wanted in ("DELETE", "CREATE"):
        for record in ordered:
            if record.get("nametype") == wanted or record.get("objtype") == wanted:
                return record
    named = [record for record in ordered if (record.get("nametype") or record.get("objtype")) != "PARENT"]
    for record in named:
        if "inode" in record.fields:
            return record
    return named[0] if named else ordered[0]


# --- SOCKADDR --------------------------------------------------------------------------------------

Socket = dict[str, str]


def decode_sockaddr(record: Record) -> Socket:
    """Family, address, port or path of a SOCKADDR record (ENRICHED ``SADDR={ ... }`` preferred)."""
    enriched = record.enriched.get("SADDR")
    if enriched is not None and enriched.startswith("{"):
        parsed = _enriched_sockaddr(enriched)
        if parsed:
            return parsed
    raw = record.fields.get("saddr", "")
    if not is_hex(raw):
        return {}
    return _binary_sockaddr(hex_bytes(raw))


def _enriched_sockaddr(text: str) -> Socket:
    fields = tokenize(text.strip("{} "))
    family = {"inet": "ipv4", "inet6": "ipv6", "local": "unix", "unix": "unix"}.get(
        fields.get("fam", ""), fields.get("fam", "")
    )
    socket: Socket = {"family": family} if family else {}
    if "laddr" in fields:
        socket["addr"] = fields["laddr"]
    if "lport" in fields:
        socket["port"] = fields["lport"]
    if "path" in fields:
        socket["path"] = fields["path"]
    return socket if "addr" in socket or "path" in socket else {}


def _binary_sockaddr(data: bytes) -> Socket:
    if len(data) < 2:
        return {}
    family = struct.unpack_from("<H", data)[0]
    if family == 2 and len(data) >= 8:
        port = struct.unpack_from(">H", data, 2)[0]
        return {"family": "ipv4", "addr": str(ipaddress.IPv4Address(data[4:8])), "port": str(port)}
    if family == 10 and len(data) >= 24:
        port = struct.unpack_from(">H", data, 2)[0]
        return {"family": "ipv6", "addr": str(ipaddress.IPv6Address(data[8:24])), "port": str(port)}
    if family == 1:
        path = data[2:]
        if path[:1] == b"\x00":
            path = b"@" + path[1:]
        return {"family": "unix", "path": decode_bytes(path.split(b"\x00", 1)[0])}
    if family == 16:
        return {"family": "netlink"}
    return {"family": str(family)}


def apply_sockaddr(event: Event, record: Record, syscall: str | None) -> None:
    socket = decode_sockaddr(record)
    for key, value in socket.items():
        event[f"auditd.data.socket.{key}"] = value
    if syscall in _DESTINATION_CALLS:
        side = "destination"
    elif syscall in _SOURCE_CALLS:
        side = "source"
    else:
        return
    family = socket.get("family")
    if family in ("ipv4", "ipv6"):
        event["network.type"] = family
        event[f"{side}.ip"] = socket["addr"]
        event[f"{side}.address"] = socket["addr"]
        port = as_int(socket.get("port"))
        if port is not None:
            event[f"{side}.port"] = port
        add_related(event, "related.ip", socket["addr"])
    elif "path" in socket:
        event[f"{side}.address"] = socket["path"]


# --- user-space messages ---------------------------------------------------------------------------


def apply_user_message(event: Event, record: Record) -> None:
    """PAM, sudo, login and account-management records (``msg='op=... acct=... res=...'``)."""
    get = record.get
    put(event, "process.pid", as_int(record.fields.get("pid")))
    exe = get("exe")
    if record.type == "USER_CMD":
        _apply_user_cmd(event, record, exe)
    else:
        put(event, "process.executable", exe)
        if exe and exe not in EMPTY:
            event["process.name"] = basename(exe)
        elif (comm := get("comm")) is not None:
            put(event, "process.name", comm)
        tty = tty_name(get("terminal") or get("tty"))
        if tty is not None:
            event["process.tty.name"] = tty
    put_id(event, "user.id", get("auid"))
    put_name(event, "user.name", record.name("AUID"))
    put_id(event, "process.real_user.id", get("uid"))
    put_name(event, "process.real_user.name", record.name("UID"))
    put_id(event, "process.saved_user.id", get("suid"))
    put_id(event, "auditd.session", get("ses"))
    _apply_account(event, record)
    _apply_remote(event, record)
    put(event, "event.outcome", outcome(get("res")))
    for key, raw in record.fields.items():
        if key not in _USER_MAPPED:
            event.setdefault(f"auditd.data.{key}", decode_value(raw, key in ENCODABLE))
    for key in ("hostname", "addr", "terminal"):
        put(event, f"auditd.data.{key}", get(key))


def _apply_user_cmd(event: Event, record: Record, exe: str | None) -> None:
    command = record.get("cmd")
    put(event, "process.command_line", command)
    if command:
        event["process.name"] = basename(command.split(" ", 1)[0])
    put(event, "process.working_directory", record.get("cwd"))
    tty = tty_name(record.get("terminal"))
    if tty is not None:
        event["process.tty.name"] = tty
    event["process.interactive"] = tty is not None
    put(event, "process.parent.pid", as_int(record.fields.get("pid")))
    event.pop("process.pid", None)
    if exe and exe not in EMPTY:
        event["process.parent.executable"] = exe
        event["process.parent.name"] = basename(exe)


def _apply_account(event: Event, record: Record) -> None:
    acct = record.get("acct")
    account_id = record.get("id")
    if record.type in IAM_TARGET_TYPES:
        put_name(event, "user.target.name", acct)
        put_id(event, "user.target.id", account_id)
        return
    if acct is not None and acct not in EMPTY:
        event["user.name"] = acct
    if account_id is not None and account_id not in UNSET and account_id not in EMPTY:
        event["user.id"] = account_id


def _apply_remote(event: Event, record: Record) -> None:
    addr = record.get("addr")
    hostname = record.get("hostname")
    if addr is not None and addr not in EMPTY:
        if valid_ip(addr):
            event["source.ip"] = addr
            add_related(event, "related.ip", addr)
        event["source.address"] = addr
    if hostname is not None and hostname not in EMPTY and hostname != addr and not valid_ip(hostname):
        event["source.domain"] = hostname


def apply_login(event: Event, record: Record) -> None:
    """LOGIN: the audit login id (auid) of a process changes (a session starts)."""
    get = record.get
    put(event, "process.pid", as_int(record.fields.get("pid")))
    put_id(event, "user.id", get("auid"))
    put_name(event, "user.name", record.name("AUID"))
    put_id(event, "process.real_user.id", get("uid"))
    put_name(event, "process.real_user.name", record.name("UID"))
    ses = get("ses")
    if ses is not None and ses not in UNSET:
        event["auditd.session"] = ses
    put(event, "event.outcome", outcome(get("res")))
    apply_other(event, record, _LOGIN_MAPPED)


def apply_tty(event: Event, record: Record) -> None:
    """TTY / USER_TTY: keystrokes captured by pam_tty_audit."""
    data = record.get("data")
    put(event, "process.io.text", data)
    apply_ids(event, record)
    put(event, "process.pid", as_int(record.fields.get("pid")))
    put(event, "process.name", record.get("comm"))
    apply_other(event, record, _TTY_MAPPED)


def apply_other(event: Event, record: Record, mapped: frozenset[str] = frozenset()) -> None:
    """Every field of a record without its own mapping, under ``auditd.data.*`` (first value wins)."""
    for key, raw in record.fields.items():
        if key not in mapped:
            event.setdefault(f"auditd.data.{key}", decode_value(raw, key in ENCODABLE))


def classify_syscall(syscall: str) -> Classification:
    return SYSCALL_CLASSES.get(syscall, (syscall, ("process",), ("info",)))


def primary_type(records: list[Record]) -> str:
    for record in records:
        if record.type not in AUXILIARY:
            return record.type
    for record in records:
        if record.type == "SYSCALL":
            return "SYSCALL"
    return records[0].type


_TYPE_APPLIERS: Final[dict[str, Applier]] = {
    "LOGIN": apply_login,
    "TTY": apply_tty,
    "USER_TTY": apply_tty,
}


def _is_user_message(record: Record) -> bool:
    fields = record.fields
    return "res" in fields or "op" in fields or "acct" in fields or record.type.startswith("USER_")


def build_event(records: list[Record], host: str | None) -> Event:
    """The ECS event of one audit event (its records in arrival order)."""
    first = records[0]
    event: Event = {
        "event.kind": "event",
        "event.module": "auditd",
        "event.dataset": "auditd.log",
        "host.os.type": "linux",
    }
    epoch = first.epoch
    if epoch is not None:
        event["@timestamp"] = timestamp_from_epoch(epoch)
    if first.serial is not None:
        event["event.sequence"] = first.serial
        event["auditd.serial"] = first.serial
    node = first.node or host
    if node:
        event["host.name"] = node
    primary = primary_type(records)
    event["event.code"] = primary
    event["auditd.record_types"] = [record.type for record in records]
    syscall = _apply_records(event, records, primary)
    _classify(event, primary, syscall)
    if syscall in ("execve", "execveat") and event.get("event.outcome") != "failure":
        pid = event.get("process.pid")
        if pid is not None:
            event["process.entity_id"] = entity_id(node or "", pid, event.get("@timestamp", ""))
    for key in ("user.name", "user.effective.name", "process.real_user.name", "user.target.name"):
        value = event.get(key)
        if isinstance(value, str):
            add_related(event, "related.user", value)
    event["log.offset"] = first.offset
    event["shellwatch.log.line"] = first.line
    return event


def _apply_records(event: Event, records: list[Record], primary: str) -> str | None:
    """Apply every record's fields; returns the syscall name when the event has a SYSCALL record."""
    by_type: dict[str, list[Record]] = {}
    for record in records:
        by_type.setdefault(record.type, []).append(record)
    syscall: str | None = None
    if "SYSCALL" in by_type:
        syscall = apply_syscall(event, by_type["SYSCALL"][0])
    if "CWD" in by_type:
        put(event, "process.working_directory", by_type["CWD"][0].get("cwd"))
    if "EXECVE" in by_type:
        apply_execve(event, by_type["EXECVE"])
    if "PROCTITLE" in by_type:
        apply_proctitle(event, by_type["PROCTITLE"][0])
    if "PATH" in by_type:
        apply_path(event, by_type["PATH"], syscall)
    if "SOCKADDR" in by_type:
        apply_sockaddr(event, by_type["SOCKADDR"][0], syscall)
    for record_type, group in by_type.items():
        if record_type in AUXILIARY and record_type != "OBJ_PID":
            continue
        record = group[0]
        applier = _TYPE_APPLIERS.get(record_type)
        if applier is not None:
            applier(event, record)
        elif record_type == primary and "SYSCALL" not in by_type and _is_user_message(record):
            apply_user_message(event, record)
        else:
            if "SYSCALL" not in by_type:
                apply_ids(event, record)
                put(event, "process.pid", as_int(record.fields.get("pid")))
                put(event, "event.outcome", outcome(record.get("res")))
            apply_other(event, record)
    for record in records:
        if "auditd.key" in event:
            break
        apply_keys(event, record.get("key"))
    return syscall


def _classify(event: Event, primary: str, syscall: str | None) -> None:
    if primary == "SYSCALL" and syscall is not None:
        action, categories, types = classify_syscall(syscall)
        event["event.action"] = action
        event["event.category"] = list(categories)
        event["event.type"] = list(types)
        return
    event["event.action"] = primary.lower()
    type_class = TYPE_CLASSES.get(primary)
    if type_class is not None:
        event["event.category"] = list(type_class[0])
        event["event.type"] = list(type_class[1])
