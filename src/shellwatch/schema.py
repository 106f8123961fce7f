"""The event schema: every field an event may carry, with its type and meaning, in one place.

Field names are Elastic Common Schema (ECS 8.x) names, flat and dotted. Fields of our own live under
``shellwatch.*``. A name ending in ``.*`` declares a family (for example ``winlog.event_data.*``, which keeps
a Windows event's raw EventData names). ``docs/schema.md`` is generated from this module
(``shellwatch schema --markdown``) and a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class FieldType(StrEnum):
    KEYWORD = "keyword"
    KEYWORDS = "keyword[]"
    TEXT = "text"
    LONG = "long"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"
    IP = "ip"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: FieldType
    description: str
    allowed: tuple[str, ...] = ()


class Category(StrEnum):
    """ECS ``event.category`` allowed values used by shellwatch."""

    PROCESS = "process"
    AUTHENTICATION = "authentication"
    SESSION = "session"
    NETWORK = "network"
    FILE = "file"
    LIBRARY = "library"
    IAM = "iam"
    HOST = "host"
    CONFIGURATION = "configuration"
    DRIVER = "driver"
    REGISTRY = "registry"


class EventType(StrEnum):
    """ECS ``event.type`` allowed values used by shellwatch."""

    START = "start"
    END = "end"
    INFO = "info"
    CONNECTION = "connection"
    CREATION = "creation"
    DELETION = "deletion"
    CHANGE = "change"
    ACCESS = "access"
    USER = "user"
    GROUP = "group"
    ADMIN = "admin"
    PROTOCOL = "protocol"
    ALLOWED = "allowed"
    DENIED = "denied"


class Kind(StrEnum):
    EVENT = "event"
    ALERT = "alert"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    UNKNOWN = "unknown"


K, KS, T, L, B, D, IP, FL = (
    FieldType.KEYWORD,
    FieldType.KEYWORDS,
    FieldType.TEXT,
    FieldType.LONG,
    FieldType.BOOLEAN,
    FieldType.DATE,
    FieldType.IP,
    FieldType.FLOAT,
)


def _process_fields(prefix: str, who: str) -> list[Field]:
    return [
        Field(f"{prefix}.pid", L, f"Process id of the {who}."),
        Field(
            f"{prefix}.entity_id",
            K,
            f"Unique id of the {who} (Sysmon ProcessGuid, or a hash of host, pid and start).",
        ),
        Field(f"{prefix}.executable", K, f"Absolute path of the {who}'s executable."),
        Field(f"{prefix}.name", K, f"File name of the {who}'s executable."),
        Field(f"{prefix}.command_line", T, f"Full command line of the {who}."),
        Field(f"{prefix}.args", KS, f"Arguments of the {who}, argv[0] first."),
        Field(f"{prefix}.args_count", L, f"Number of arguments of the {who}."),
        Field(f"{prefix}.working_directory", K, f"Working directory of the {who}."),
        Field(f"{prefix}.start", D, f"When the {who} started."),
        Field(f"{prefix}.end", D, f"When the {who} ended."),
        Field(f"{prefix}.exit_code", L, f"Exit code of the {who}."),
        Field(f"{prefix}.hash.md5", K, f"MD5 of the {who}'s executable."),
        Field(f"{prefix}.hash.sha1", K, f"SHA-1 of the {who}'s executable."),
        Field(f"{prefix}.hash.sha256", K, f"SHA-256 of the {who}'s executable."),
        Field(f"{prefix}.pe.imphash", K, f"Import hash of the {who}'s PE image."),
        Field(f"{prefix}.pe.original_file_name", K, f"OriginalFileName from the {who}'s PE version info."),
        Field(f"{prefix}.pe.description", K, f"FileDescription from the {who}'s PE version info."),
        Field(f"{prefix}.pe.product", K, f"Product from the {who}'s PE version info."),
        Field(f"{prefix}.pe.company", K, f"Company from the {who}'s PE version info."),
        Field(f"{prefix}.pe.file_version", K, f"FileVersion from the {who}'s PE version info."),
        Field(f"{prefix}.tty.char_device.major", L, f"Major device number of the {who}'s terminal."),
        Field(f"{prefix}.tty.char_device.minor", L, f"Minor device number of the {who}'s terminal."),
        Field(f"{prefix}.tty.name", K, f"Terminal of the {who} (pts/0, tty1); absent when it has none."),
        Field(f"{prefix}.interactive", B, f"Whether the {who} is attached to a terminal."),
        Field(f"{prefix}.user.name", K, f"User the {who} runs as."),
        Field(f"{prefix}.user.id", K, f"User id (uid or SID) the {who} runs as."),
        Field(f"{prefix}.session_id", K, f"Logon or audit session id of the {who}."),
        Field(f"{prefix}.code_signature.signed", B, f"Whether the {who}'s executable is signed."),
        Field(f"{prefix}.code_signature.subject_name", K, f"Signer of the {who}'s executable."),
        Field(f"{prefix}.code_signature.team_id", K, f"Apple team id of the {who}'s signer."),
    ]


_FIELDS: list[Field] = [
    Field("@timestamp", D, "When the event happened (UTC, ISO 8601 with microseconds)."),
    Field("message", T, "Human-readable text of the record, when the source has one."),
    Field("tags", KS, "Free tags."),
    Field("labels.*", K, "Free key/value labels."),
    Field("ecs.version", K, "ECS version the event follows."),
    # event.*
    Field("event.kind", K, "ECS event kind.", tuple(Kind)),
    Field("event.category", KS, "ECS event categories.", tuple(Category)),
    Field("event.type", KS, "ECS event types.", tuple(EventType)),
    Field("event.action", K, "What happened, in the source's words (process-started, ssh_login, executed)."),
    Field("event.outcome", K, "Success or failure.", tuple(Outcome)),
    Field("event.code", K, "Source event code (4688, 1, EXECVE, ...)."),
    Field("event.provider", K, "Source provider (Microsoft-Windows-Sysmon, sshd, auditd, ...)."),
    Field(
        "event.module", K, "Log family (sysmon, security, powershell, auditd, system, osquery, zeek, ...)."
    ),
    Field("event.dataset", K, "Log family and stream, dotted (auditd.log, system.auth, zeek.conn)."),
    Field("event.created", D, "When the record was written by the sensor, if it differs from @timestamp."),
    Field("event.duration", L, "Duration in nanoseconds (network flows, sessions)."),
    Field("event.start", D, "When the activity began (first packet of a flow)."),
    Field("event.end", D, "When the activity ended (last packet of a flow)."),
    Field("event.sequence", L, "Sequence number within the source (audit serial)."),
    Field("event.reason", K, "Why the outcome happened (failure reason, status)."),
    Field("event.original", T, "The raw record, where kept."),
    # host / agent / observer
    Field("host.name", K, "Host the event happened on."),
    Field("host.hostname", K, "Host name as the host reports it."),
    Field("host.id", K, "Host identifier."),
    Field("host.os.type", K, "Operating system family.", ("linux", "windows", "macos", "unix")),
    Field("host.os.version", K, "Operating system version."),
    Field("host.ip", KS, "Addresses of the host."),
    Field("agent.type", K, "Sensor that produced the record (sysmon, auditd, osquery, zeek, eslogger)."),
    Field("agent.version", K, "Sensor version."),
    Field("observer.name", K, "Network sensor that saw the flow."),
    # user
    Field("user.name", K, "User the event is attributed to (the login/audit user on Linux)."),
    Field("user.id", K, "User id (uid, or SID on Windows)."),
    Field("user.domain", K, "User domain (Windows)."),
    Field("user.full_name", K, "Full name."),
    Field("user.email", K, "E-mail address."),
    Field("user.roles", KS, "Roles of the user."),
    Field("user.group.name", K, "Primary group name."),
    Field("user.group.id", K, "Primary group id."),
    Field("user.effective.name", K, "Effective user (euid) name."),
    Field("user.effective.id", K, "Effective user id (euid)."),
    Field("user.effective.group.name", K, "Effective group name."),
    Field("user.effective.group.id", K, "Effective group id (egid)."),
    Field("user.target.name", K, "User the action targets (sudo/su target, logon target)."),
    Field("user.target.id", K, "Id of the targeted user."),
    Field("user.target.domain", K, "Domain of the targeted user."),
    Field("user.changes.name", K, "User name after a change."),
    Field("group.name", K, "Group the event is about (group created, deleted, user added to it)."),
    Field("group.id", K, "Id (gid) of the group the event is about."),
    # process
    *_process_fields("process", "process"),
    *_process_fields("process.parent", "parent process"),
    *_process_fields("process.parent.parent", "grandparent process"),
    *_process_fields("process.session_leader", "session leader"),
    *_process_fields("process.entry_leader", "entry leader"),
    *_process_fields("process.group_leader", "process group leader"),
    Field("process.thread.id", L, "Thread id."),
    Field("process.title", K, "Process title (auditd PROCTITLE)."),
    Field("process.io.text", T, "Text the process wrote (where a sensor captured it)."),
    Field("process.real_user.id", K, "Real user id (uid) of the process."),
    Field("process.real_user.name", K, "Real user name of the process."),
    Field("process.saved_user.id", K, "Saved user id (suid)."),
    Field("process.real_group.id", K, "Real group id (gid)."),
    Field("process.saved_group.id", K, "Saved group id (sgid)."),
    Field("process.supplemental_groups.id", KS, "Supplemental group ids."),
    Field("process.entry_meta.type", K, "How the session began (sshd, terminal, service, ...)."),
    Field("process.entry_meta.source.ip", IP, "Remote address the session came from."),
    # network
    Field("source.ip", IP, "Source address."),
    Field("source.port", L, "Source port."),
    Field("source.address", K, "Source address as written by the sensor (IP, host name or socket path)."),
    Field("source.domain", K, "Source host name."),
    Field("source.bytes", L, "Bytes sent by the source."),
    Field("source.packets", L, "Packets sent by the source."),
    Field("source.mac", K, "Source MAC address."),
    Field("destination.ip", IP, "Destination address."),
    Field("destination.port", L, "Destination port."),
    Field("destination.address", K, "Destination address as written by the sensor."),
    Field("destination.domain", K, "Destination host name."),
    Field("destination.bytes", L, "Bytes sent by the destination."),
    Field("destination.packets", L, "Packets sent by the destination."),
    Field("destination.mac", K, "Destination MAC address."),
    Field("network.transport", K, "Transport protocol (tcp, udp, icmp)."),
    Field("network.protocol", K, "Application protocol (ssh, http, dns)."),
    Field("network.type", K, "ipv4 or ipv6."),
    Field("network.direction", K, "ingress, egress, inbound, outbound, internal, external."),
    Field("network.community_id", K, "Community ID flow hash."),
    Field("network.bytes", L, "Bytes in both directions."),
    Field("network.packets", L, "Packets in both directions."),
    Field("network.iana_number", K, "IANA protocol number."),
    # file / dll / registry / dns / url
    Field("file.path", K, "Full path of the file."),
    Field("file.name", K, "File name."),
    Field("file.directory", K, "Directory of the file."),
    Field("file.extension", K, "File extension."),
    Field("file.hash.md5", K, "MD5 of the file."),
    Field("file.hash.sha1", K, "SHA-1 of the file."),
    Field("file.hash.sha256", K, "SHA-256 of the file."),
    Field("file.inode", K, "Inode."),
    Field("file.mode", K, "Permission bits, octal."),
    Field("file.uid", K, "Owner uid."),
    Field("file.gid", K, "Owner gid."),
    Field("file.created", D, "Creation time."),
    Field("file.code_signature.signed", B, "Whether the file is signed."),
    Field("dll.path", K, "Path of the loaded library (Sysmon 7)."),
    Field("dll.name", K, "Name of the loaded library."),
    Field("dll.hash.md5", K, "MD5 of the loaded library."),
    Field("dll.hash.sha1", K, "SHA-1 of the loaded library."),
    Field("dll.hash.sha256", K, "SHA-256 of the loaded library."),
    Field("dll.pe.imphash", K, "Import hash of the loaded library."),
    Field("dll.pe.original_file_name", K, "OriginalFileName of the loaded library."),
    Field("dll.pe.description", K, "Description of the loaded library."),
    Field("dll.pe.product", K, "Product of the loaded library."),
    Field("dll.pe.company", K, "Company of the loaded library."),
    Field("dll.pe.file_version", K, "FileVersion of the loaded library."),
    Field("dll.code_signature.signed", B, "Whether the loaded library is signed."),
    Field("dll.code_signature.subject_name", K, "Signer of the loaded library."),
    Field("dll.code_signature.status", K, "Signature status of the loaded library."),
    Field("url.original", K, "URL as seen."),
    Field("dns.question.name", K, "Name queried."),
    # logons
    Field("winlog.logon.id", K, "Windows logon id (0x...)."),
    Field(
        "winlog.logon.type", K, "Windows logon type, by name (Interactive, Network, RemoteInteractive, ...)."
    ),
    Field("winlog.logon.failure.reason", K, "Why a Windows logon failed."),
    Field("winlog.logon.failure.status", K, "NTSTATUS of a failed logon."),
    Field("winlog.logon.failure.sub_status", K, "NTSTATUS sub-status of a failed logon."),
    Field("winlog.channel", K, "Windows event log channel."),
    Field("winlog.provider_name", K, "Windows event provider."),
    Field("winlog.event_id", K, "Windows event id."),
    Field("winlog.record_id", L, "Windows event record id."),
    Field("winlog.computer_name", K, "Computer field of the Windows event."),
    Field("winlog.process.pid", L, "Pid of the process that wrote the event."),
    Field("winlog.process.thread.id", L, "Thread of the process that wrote the event."),
    Field("winlog.user.identifier", K, "SID in the event's System/Security element."),
    Field(
        "winlog.event_data.*",
        K,
        "EventData items of a Windows event under their own names (spaces removed: New Value is NewValue), "
        "except those copied unchanged to an ECS field (CommandLine is only in process.command_line).",
    ),
    Field("winlog.user_data.*", K, "Every UserData item of a Windows event, under its own name."),
    Field(
        "powershell.file.script_block_text", T, "PowerShell script block text (4104), reassembled when split."
    ),
    Field("powershell.file.script_block_id", K, "PowerShell script block id."),
    Field("powershell.file.script_block_part_count", L, "How many 4104 parts the script block had."),
    Field("powershell.command.name", K, "PowerShell command (4103)."),
    Field("powershell.command.type", K, "PowerShell command type (4103)."),
    Field("powershell.command.value", T, "PowerShell command invocation details (4103)."),
    Field("powershell.command.invocation_details", KS, "PowerShell invocation detail lines (4103)."),
    Field("powershell.engine.version", K, "PowerShell engine version."),
    Field("powershell.runspace_id", K, "PowerShell runspace id."),
    Field("powershell.pipeline_id", K, "PowerShell pipeline id."),
    Field("powershell.id", K, "PowerShell host id."),
    Field("powershell.process.executable_version", K, "PowerShell host version."),
    Field("sysmon.rule_name", K, "Sysmon RuleName."),
    Field("sysmon.logon.guid", K, "Sysmon LogonGuid."),
    Field("sysmon.integrity_level", K, "Sysmon IntegrityLevel."),
    Field("sysmon.terminal_session_id", K, "Sysmon TerminalSessionId."),
    Field(
        "auditd.*", K, "auditd fields kept as the kernel wrote them (auditd.data.syscall, auditd.key, ...)."
    ),
    Field("auditd.session", K, "Audit session id (ses)."),
    Field("auditd.serial", L, "Audit event serial number."),
    Field("auditd.key", KS, "Audit rule keys."),
    Field("auditd.record_types", KS, "Record types that made up the audit event."),
    Field("system.auth.ssh.method", K, "SSH authentication method (password, publickey, ...)."),
    Field("system.auth.ssh.event", K, "SSH event (Accepted, Failed, Invalid)."),
    Field("system.auth.ssh.signature", K, "SSH key fingerprint."),
    Field("system.auth.sudo.tty", K, "sudo TTY."),
    Field("system.auth.sudo.pwd", K, "sudo PWD."),
    Field("system.auth.sudo.user", K, "sudo target USER."),
    Field("system.auth.sudo.command", T, "sudo COMMAND."),
    Field("system.auth.sudo.error", K, "sudo error message."),
    Field("log.syslog.facility.code", L, "Syslog facility."),
    Field("log.syslog.severity.code", L, "Syslog severity."),
    Field("log.syslog.priority", L, "Syslog priority."),
    Field("log.syslog.appname", K, "Syslog program name."),
    Field("log.syslog.procid", K, "Syslog process id."),
    Field("log.syslog.msgid", K, "RFC 5424 MSGID."),
    Field("log.syslog.hostname", K, "Syslog host name."),
    Field("log.syslog.version", K, "RFC 5424 version."),
    Field("log.syslog.structured_data.*", K, "RFC 5424 structured data, flattened as SD-ID.param."),
    Field("journald.*", K, "journald fields kept (journald.unit, journald.transport, ...)."),
    Field("osquery.*", K, "osquery result metadata (osquery.name, osquery.action, osquery.columns.*)."),
    Field(
        "zeek.*", K, "Zeek fields without an ECS equivalent (zeek.session_id, zeek.connection.state, ...)."
    ),
    Field("netflow.*", K, "NetFlow/nfdump fields without an ECS equivalent."),
    Field("eslogger.*", K, "macOS Endpoint Security fields without an ECS equivalent."),
    Field("shell_history.*", K, "Shell-history fields (shell_history.shell, shell_history.duration)."),
    # pointers back to the raw record
    Field("log.file.path", K, "File the record came from (``archive.zip!member`` inside archives)."),
    Field("log.offset", L, "Byte offset of the record in that file (for EVTX, the record id)."),
    Field("shellwatch.log.line", L, "1-based line of the record in that file (text formats)."),
    Field("shellwatch.log.format", K, "Name of the reader that produced the event."),
    # context stage (before detection, so rules can match on them)
    Field("shellwatch.process.ancestry.executable", KS, "Executables of the ancestors, nearest first."),
    Field("shellwatch.process.ancestry.command_line", KS, "Command lines of the ancestors, nearest first."),
    Field("shellwatch.process.ancestry.pid", KS, "Process ids of the ancestors, nearest first."),
    Field("shellwatch.process.ancestry.entity_id", KS, "Entity ids of the ancestors, nearest first."),
    Field(
        "process.entry_meta.type",
        K,
        "How the session was entered (sshd, terminal, console, cron, service...).",
    ),
    Field("process.entry_meta.source.ip", IP, "Remote address of the login the process runs in."),
    Field("shellwatch.session.id", K, "Login session id (audit ses, logon id, sshd pid)."),
    Field("shellwatch.session.kind", K, "Kind of login (ssh, windows-logon, local)."),
    Field("shellwatch.session.user", K, "User who logged in."),
    Field("shellwatch.session.source_ip", IP, "Address the login came from."),
    Field("shellwatch.session.source_port", L, "Port the login came from."),
    Field("shellwatch.session.method", K, "How the user authenticated (password, publickey, logon type)."),
    Field("shellwatch.session.start", D, "When the login succeeded."),
    Field("shellwatch.session.failures_before", L, "Failed attempts in the burst window before the login."),
    Field("shellwatch.intel.matched", B, "The event or alert holds an indicator of the intel feeds."),
    Field("shellwatch.intel.indicator", KS, "Matched indicators as the feed gives them (parallel list)."),
    Field("shellwatch.intel.type", KS, "Kinds of the matched indicators (ip, cidr, domain, url, md5...)."),
    Field("shellwatch.intel.value", KS, "Values the event holds that matched."),
    Field("shellwatch.intel.field", KS, "First field each matched value was found in."),
    Field("shellwatch.intel.fields", KS, "Every field any matched value was found in."),
    Field("shellwatch.intel.source", KS, "Feeds the matched indicators come from."),
    Field("shellwatch.intel.description", KS, "The feeds' descriptions of the matched indicators."),
    Field(
        "shellwatch.decoded.command_line", T, "The command line with every encoding and obfuscation peeled."
    ),
    Field(
        "shellwatch.decoded.script_block_text",
        T,
        "The script block with every encoding and obfuscation peeled.",
    ),
    Field("shellwatch.decoded.layers", KS, "Technique of each layer peeled, outermost first."),
    Field("shellwatch.decoded.layer_details", KS, "What each layer did (parallel list)."),
    Field(
        "shellwatch.decoded.stopped", K, "The limit that stopped decoding early (depth, size, work, time)."
    ),
    Field("shellwatch.decoded.only", B, "The alert's rule matched only the decoded text."),
    Field("shellwatch.obfuscation.score", L, "How obfuscated the command is, 0-100."),
    Field("shellwatch.obfuscation.reasons", KS, "What the score is made of."),
    Field(
        "shellwatch.command.segments", KS, "The commands of the (decoded) line: chains, pipes, substitutions."
    ),
    Field("shellwatch.command.segment_commands", KS, "The program of each segment (parallel list)."),
    Field("shellwatch.command.segment_operators", KS, "The operator after each segment (parallel list)."),
    Field("shellwatch.command.segment_verdicts", KS, "benign, suspicious or malicious, per segment."),
    Field(
        "shellwatch.command.findings", KS, "What the analysis flagged (network redirection, persistence...)."
    ),
    Field("shellwatch.command.finding_reasons", KS, "Why, per finding (parallel list)."),
    Field("shellwatch.command.verdict", K, "The strongest segment verdict."),
    # alert enrichment (after detection)
    Field("shellwatch.score", L, "Triage score 0-100: the rule level's, moved by the enrichers."),
    Field("shellwatch.score_reasons", KS, "Each score change as enricher: delta, in order."),
    Field("shellwatch.category", K, "Playbook alert category of the rule."),
    Field("shellwatch.process.children.executable", KS, "Processes the alerting process started, any depth."),
    Field("shellwatch.process.children.command_line", KS, "Their command lines (parallel list)."),
    Field("shellwatch.process.children.pid", KS, "Their process ids (parallel list)."),
    Field("shellwatch.process.children.depth", KS, "Their depth below the alerting process (1: child)."),
    Field("shellwatch.network.*", KS, "Connections of the process and its children around the alert time."),
    Field("shellwatch.command.argv", KS, "Full argv of the command (the event's, or split from its line)."),
    Field("shellwatch.command.executable", K, "Path of what ran (the source's, or argv[0] resolved)."),
    Field("shellwatch.command.executable_resolved", B, "Whether that path is absolute."),
    Field("shellwatch.command.invoked_as", K, "argv[0] when it names another file than the executable."),
    Field(
        "shellwatch.command.interpreter", K, "Shell or script host family (sh, python, powershell, cmd...)."
    ),
    Field("shellwatch.command.inline", T, "Code given to the interpreter inline (-c, -e, -Command, /c)."),
    Field("shellwatch.command.script", K, "Script file the interpreter ran (absolute when known)."),
    Field(
        "shellwatch.user.privilege",
        K,
        "Privilege level (root, system, admin, elevated, service, user, unknown).",
    ),
    Field("shellwatch.user.privileged", B, "Whether that level is privileged."),
    Field("shellwatch.user.privilege_reason", KS, "Why the level was given."),
    Field("shellwatch.user.groups", KS, "Every group known for the user."),
    Field("shellwatch.allowlist.*", K, "The allowlist entry that matched (reason, owner, expires, entry)."),
    Field("shellwatch.reputation.*", K, "Hash reputation (verdict, per-hash answers, VirusTotal status)."),
    Field("shellwatch.attack.version", K, "ATT&CK release the technique names come from."),
    Field("shellwatch.enrich.errors", KS, "Enrichers that failed on the alert, and why."),
    Field("threat.framework", K, "MITRE ATT&CK."),
    Field("threat.technique.id", KS, "ATT&CK technique ids of the rule."),
    Field("threat.technique.name", KS, "Their names."),
    Field("threat.technique.reference", KS, "Their ATT&CK pages."),
    Field("threat.technique.subtechnique.*", KS, "Sub-technique ids, names and pages."),
    Field("threat.tactic.id", KS, "ATT&CK tactic ids of the techniques."),
    Field("threat.tactic.name", KS, "Their names."),
    Field("threat.tactic.reference", KS, "Their ATT&CK pages."),
    Field("shellwatch.*", K, "Other fields of shellwatch's own."),
    Field("related.ip", KS, "All addresses seen in the event."),
    Field("related.user", KS, "All user names seen in the event."),
    Field("related.hash", KS, "All hashes seen in the event."),
]

FIELDS: Final[dict[str, Field]] = {field.name: field for field in _FIELDS}
FAMILIES: Final[tuple[str, ...]] = tuple(name[:-1] for name in FIELDS if name.endswith(".*"))


def is_known(name: str) -> bool:
    """Whether ``name`` is a declared field, or belongs to a declared ``prefix.*`` family."""
    return name in FIELDS or name.startswith(FAMILIES)


def unknown_fields(event: dict[str, object]) -> list[str]:
    """Field names of ``event`` that the schema does not declare."""
    return sorted(name for name in event if not is_known(name))


def invalid_values(event: dict[str, object]) -> list[str]:
    """``field=value`` for each value of ``event`` outside its field's allowed values."""
    found: list[str] = []
    for name, value in event.items():
        field = FIELDS.get(name)
        if field is None or not field.allowed:
            continue
        values = value if isinstance(value, list) else [value]
        found.extend(f"{name}={item}" for item in values if item not in field.allowed)
    return found


def markdown() -> str:
    """The schema as the Markdown document ``docs/schema.md``."""
    lines = [
        "# Event schema",
        "",
        "Generated by `shellwatch schema --markdown` from `src/shellwatch/schema.py`; do not edit by hand.",
        "",
        "Events are flat JSON objects. Keys are Elastic Common Schema (ECS) field names, dotted;",
        "values are scalars or lists of scalars, never nested objects. Text is UTF-8; a byte that is",
        "not valid UTF-8 is written as the four characters `\\xNN`. `@timestamp` is UTC ISO 8601 with",
        "microseconds and a `Z`. Fields of shellwatch's own are under `shellwatch.*`. A name ending",
        "in `.*` is a family: any key below it is allowed (the source's own field names, kept for",
        "rules that use them).",
        "",
        "Every event points back to its raw record with `log.file.path` and `log.offset` (byte offset, or",
        "the record id for EVTX) or `shellwatch.log.line`. Where a source has a stable process id",
        "(Sysmon `ProcessGuid`), `process.entity_id` is that id; otherwise it is a hash of host, pid and",
        "start time, so that reused pids never join the wrong process tree.",
        "",
        "| field | type | description | allowed values |",
        "|---|---|---|---|",
    ]
    for field in _FIELDS:
        allowed = ", ".join(f"`{value}`" for value in field.allowed)
        lines.append(f"| `{field.name}` | {field.type} | {field.description} | {allowed} |")
    return "\n".join(lines) + "\n"
