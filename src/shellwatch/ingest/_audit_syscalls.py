"""Linux audit architecture and syscall number tables (x86_64, i386, aarch64) and errno names.

The kernel writes ``arch=c000003e syscall=59``; these tables turn that into ``x86_64`` / ``execve``. They
cover the calls that matter for process, network, file, identity and kernel-module monitoring, not every
syscall: an unknown number is kept as its number.
"""

from __future__ import annotations

from typing import Final

ARCHES: Final[dict[str, str]] = {
    "c000003e": "x86_64",
    "40000003": "i386",
    "c00000b7": "aarch64",
    "40000028": "arm",
    "c0000015": "ppc64le",
    "80000016": "s390x",
}

_X86_64: Final[dict[int, str]] = {
    0: "read", 1: "write", 2: "open", 3: "close", 4: "stat", 5: "fstat", 6: "lstat", 9: "mmap",
    10: "mprotect", 13: "rt_sigaction", 14: "rt_sigprocmask", 16: "ioctl", 21: "access", 22: "pipe",
    23: "select", 32: "dup", 33: "dup2", 41: "socket", 42: "connect", 43: "accept", 44: "sendto",
    45: "recvfrom", 46: "sendmsg", 47: "recvmsg", 48: "shutdown", 49: "bind", 50: "listen",
    51: "getsockname", 52: "getpeername", 53: "socketpair", 54: "setsockopt", 56: "clone", 57: "fork",
    58: "vfork", 59: "execve", 60: "exit", 61: "wait4", 62: "kill", 76: "truncate", 77: "ftruncate",
    80: "chdir", 82: "rename", 83: "mkdir", 84: "rmdir", 85: "creat", 86: "link", 87: "unlink",
    88: "symlink", 89: "readlink", 90: "chmod", 91: "fchmod", 92: "chown", 93: "fchown", 94: "lchown",
    101: "ptrace", 105: "setuid", 106: "setgid", 113: "setreuid", 114: "setregid", 117: "setresuid",
    119: "setresgid", 122: "setfsuid", 123: "setfsgid", 133: "mknod", 157: "prctl", 159: "adjtimex",
    160: "setrlimit", 161: "chroot", 164: "settimeofday", 165: "mount", 166: "umount2",
    175: "init_module", 176: "delete_module", 200: "tkill", 227: "clock_settime", 228: "clock_gettime",
    231: "exit_group", 234: "tgkill", 257: "openat", 258: "mkdirat", 259: "mknodat", 260: "fchownat",
    263: "unlinkat", 264: "renameat", 265: "linkat", 266: "symlinkat", 268: "fchmodat",
    269: "faccessat", 288: "accept4", 304: "open_by_handle_at", 310: "process_vm_readv",
    311: "process_vm_writev", 313: "finit_module", 316: "renameat2", 319: "memfd_create", 321: "bpf",
    322: "execveat", 435: "clone3", 437: "openat2", 452: "fchmodat2",
}  # fmt: skip

_I386: Final[dict[int, str]] = {
    1: "exit", 2: "fork", 3: "read", 4: "write", 5: "open", 6: "close", 8: "creat", 9: "link",
    10: "unlink", 11: "execve", 12: "chdir", 14: "mknod", 15: "chmod", 16: "lchown", 21: "mount",
    23: "setuid", 26: "ptrace", 37: "kill", 38: "rename", 39: "mkdir", 40: "rmdir", 42: "pipe",
    46: "setgid", 52: "umount2", 54: "ioctl", 61: "chroot", 70: "setreuid", 71: "setregid",
    83: "symlink", 85: "readlink", 94: "fchmod", 95: "fchown", 102: "socketcall", 120: "clone",
    128: "init_module", 129: "delete_module", 132: "getpgid", 138: "setfsuid", 139: "setfsgid",
    164: "setresuid", 170: "setresgid", 172: "prctl", 182: "chown", 190: "vfork", 198: "lchown32",
    203: "setreuid32", 204: "setregid32", 207: "fchown32", 208: "setresuid32", 210: "setresgid32",
    212: "chown32", 213: "setuid32", 214: "setgid32", 215: "setfsuid32", 216: "setfsgid32",
    238: "tkill", 270: "tgkill", 295: "openat", 296: "mkdirat", 297: "mknodat", 298: "fchownat",
    301: "unlinkat", 302: "renameat", 303: "linkat", 304: "symlinkat", 306: "fchmodat",
    350: "finit_module", 353: "renameat2", 356: "memfd_create", 357: "bpf", 358: "execveat",
    359: "socket", 360: "socketpair", 361: "bind", 362: "connect", 363: "listen", 364: "accept4",
    366: "setsockopt", 367: "getsockname", 368: "getpeername", 369: "sendto", 370: "sendmsg",
    371: "recvfrom", 372: "recvmsg", 373: "shutdown", 435: "clone3", 437: "openat2",
}  # fmt: skip

_AARCH64: Final[dict[int, str]] = {
    17: "getcwd", 23: "dup", 29: "ioctl", 33: "mknodat", 34: "mkdirat", 35: "unlinkat",
    36: "symlinkat", 37: "linkat", 38: "renameat", 39: "umount2", 40: "mount", 46: "ftruncate",
    48: "faccessat", 49: "chdir", 51: "chroot", 52: "fchmod", 53: "fchmodat", 54: "fchownat",
    55: "fchown", 56: "openat", 57: "close", 59: "pipe2", 63: "read", 64: "write", 93: "exit",
    94: "exit_group", 105: "init_module", 106: "delete_module", 117: "ptrace", 129: "kill",
    130: "tkill", 131: "tgkill", 143: "setregid", 144: "setgid", 145: "setreuid", 146: "setuid",
    147: "setresuid", 149: "setresgid", 151: "setfsuid", 152: "setfsgid", 167: "prctl",
    198: "socket", 199: "socketpair", 200: "bind", 201: "listen", 202: "accept", 203: "connect",
    204: "getsockname", 205: "getpeername", 206: "sendto", 207: "recvfrom", 208: "setsockopt",
    210: "shutdown", 211: "sendmsg", 212: "recvmsg", 220: "clone", 221: "execve", 242: "accept4",
    270: "process_vm_readv", 271: "process_vm_writev", 273: "finit_module", 276: "renameat2",
    279: "memfd_create", 280: "bpf", 281: "execveat", 435: "clone3", 437: "openat2", 452: "fchmodat2",
}  # fmt: skip

SYSCALLS: Final[dict[str, dict[int, str]]] = {"x86_64": _X86_64, "i386": _I386, "aarch64": _AARCH64}

ERRNO: Final[dict[int, str]] = {
    1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 9: "EBADF", 11: "EAGAIN", 12: "ENOMEM",
    13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL",
    24: "EMFILE", 28: "ENOSPC", 30: "EROFS", 36: "ENAMETOOLONG", 38: "ENOSYS", 39: "ENOTEMPTY",
    95: "EOPNOTSUPP", 97: "EAFNOSUPPORT", 98: "EADDRINUSE", 99: "EADDRNOTAVAIL", 101: "ENETUNREACH",
    104: "ECONNRESET", 110: "ETIMEDOUT", 111: "ECONNREFUSED", 113: "EHOSTUNREACH", 114: "EALREADY",
    115: "EINPROGRESS",
}  # fmt: skip


def arch_name(raw: str) -> str:
    """``x86_64`` for ``c000003e``; names (AUOMS, enriched logs) and unknown values are kept as they are."""
    return ARCHES.get(raw.lower(), raw)


def syscall_name(arch: str, raw: str) -> str:
    """``execve`` for (``x86_64`` or ``c000003e``, ``59``); a name or an unknown number is kept as it is."""
    if not raw.isdigit():
        return raw
    table = SYSCALLS.get(arch_name(arch))
    if table is None:
        return raw
    return table.get(int(raw), raw)


def errno_name(exit_value: str) -> str | None:
    """``ENOENT`` for ``-2``; ``None`` unless the value is a known negative errno."""
    if exit_value.startswith("-") and exit_value[1:].isdigit():
        return ERRNO.get(int(exit_value[1:]))
    return None
