"""Landlock (Linux >= 5.13): an unprivileged, irrevocable file-system and network allow-list.

The grading sandbox's fallback where bubblewrap cannot create namespaces (AppArmor-restricted
Ubuntu, container-based JupyterHub pods). ``restrict(readable, writable)`` makes this process
and every process it starts from then on unable to open anything outside the listed paths,
to bind or connect TCP sockets (ABI >= 4), to signal processes or reach abstract Unix
sockets outside its domain (ABI >= 6). Landlock also forbids ptrace and ``/proc/PID/mem`` or
``/proc/PID/fd`` access to any process that is less restricted. ``drop_privileges()`` empties
the capability sets (a grader that runs as root must not hand its root powers, e.g. loading a
kernel module or opening raw sockets, to student code) and sets ``no_new_privs``.

The three system calls are small enough to call through ctypes (x86-64 and arm64 numbers
below are the same: 444-446), which avoids a dependency on a pre-1.0 binding.

Example::

    from graders.runtime import landlock
    if landlock.abi_version() >= 1:
        landlock.drop_privileges()
        landlock.restrict(readable=["/usr", "/etc/passwd"], writable=["/tmp/scratch"])
"""
from __future__ import annotations

import ctypes
import json
import os
import signal

LANDLOCK_ENV = "GRADERS_LANDLOCK"  # the rules a sandboxed Python applies to itself first (see enter_from_environment)
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS, _PR_CAPBSET_DROP, _PR_SET_SECUREBITS = 38, 24, 28
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4

# File-system access rights, and the ABI that introduced each.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
READ = EXECUTE | READ_FILE | READ_DIR
# Network (ABI >= 4): no TCP bind or connect at all. Scopes (ABI >= 6).
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def abi_version() -> int:
    """The Landlock ABI this kernel offers; 0 if it has none (too old, or Landlock disabled)."""
    try:
        version = _libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    except (AttributeError, OSError):
        return 0
    return max(int(version), 0)


def _fs_rights(abi: int) -> int:
    return _FS_BY_ABI[max(k for k in _FS_BY_ABI if k <= abi)]


def restrict(readable, writable, abi: int | None = None) -> dict:
    """Confine this process (and all its future children) to the given paths.

    Args:
        readable: paths (files or folders, recursively) that may be read and executed.
        writable: folders in which anything may be created, written and removed.
        abi: the ABI to target (default: the kernel's).

    Returns what is enforced: ``{"abi": int, "network": bool, "signals": bool}``.
    Paths that do not exist are skipped. Raises ``OSError`` if Landlock is unavailable.
    """
    abi = abi_version() if abi is None else abi
    if abi < 1:
        raise OSError("Landlock is not available on this kernel (needs Linux >= 5.13 with Landlock enabled)")
    handled = _fs_rights(abi)
    attr = _RulesetAttr(handled, (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0,
                        (_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL) if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = _check(_libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)),
                     "landlock_create_ruleset")
    try:
        for paths, rights in ((readable, READ), (writable, handled)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    # Rights that only make sense on folders are refused on a file: keep file rights.
                    allowed = rights if os.path.isdir(path) else rights & (EXECUTE | READ_FILE | WRITE_FILE | TRUNCATE)
                    rule = _PathBeneathAttr(allowed & handled, fd)
                    _check(_libc.syscall(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                                         ctypes.byref(rule), ctypes.c_uint32(0)), f"landlock_add_rule {path}")
                finally:
                    os.close(fd)
        _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
        _check(_libc.syscall(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return {"abi": abi, "network": abi >= 4, "signals": abi >= 6}


def drop_privileges() -> None:
    """Give up every capability for good (for this process and whatever it executes later).

    For a grader running as root: without this, student code keeps root's capabilities
    (CAP_SYS_MODULE, CAP_NET_RAW, ...), which Landlock does not cover. The bounding set is
    emptied first (that needs CAP_SETPCAP, so it only works while we still have it), then
    the securebits stop uid 0 from regaining capabilities on execve.
    """
    if os.geteuid() == 0:
        for cap in range(64):
            if _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 and ctypes.get_errno() == 22:  # EINVAL: no such cap
                break
        # SECBIT_NOROOT | _LOCKED, SECBIT_NO_SETUID_FIXUP | _LOCKED, SECBIT_KEEP_CAPS_LOCKED, NO_CAP_AMBIENT_RAISE | _LOCKED
        _check(_libc.prctl(_PR_SET_SECUREBITS, 0x1 | 0x2 | 0x4 | 0x8 | 0x20 | 0x40 | 0x80, 0, 0, 0),
               "prctl(PR_SET_SECUREBITS)")
    _libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    _capset_empty()
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _capset_empty() -> None:
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3: two 32-bit words
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def enter_from_environment() -> None:
    """In a sandboxed Python (kernel, check server), before anything else: apply Landlock if asked."""
    rules = os.environ.pop(LANDLOCK_ENV, None)
    if not rules:
        return
    spec = json.loads(rules)
    # No PID namespace here: die with the grader that started us (the jail ends our children).
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    drop_privileges()
    restrict(spec["readable"], spec["writable"])
