"""Record what student code tries, and cap each process's memory, inside the OS sandbox.

Used by the grading kernel (``graders.pipeline.kernel``) and by the hidden-test
server's children (``graders.checks._server``), the two places where student code runs.

* ``protect(paths)`` installs a Python audit hook (PEP 578) that refuses to open or
  list anything under the given folders and files (the solutions, the gradebook,
  other submissions, other processes' ``/proc`` entries) and records each attempt; it also
  records (without refusing) child processes, signals and connections (``ESCAPE_EVENTS``).
  The records become the report's ``forbidden-file`` and ``escape-attempt`` flags.
* ``limit_memory(nbytes)`` caps the process's address space (inherited by its children).

None of this is the barrier: a child process has no audit hook. What stops student code is
the operating-system sandbox every submission runs in (``graders.pipeline.isolation``);
this module names what was tried.
"""
from __future__ import annotations

import os
import re
import sys
import threading

PROTECT_ENV = "GRADERS_PROTECT"        # os.pathsep-separated folders/files
ALLOW_ENV = "GRADERS_ALLOW"            # exceptions inside protected folders (the notebook's own folder)
ACCESS_LOG_ENV = "GRADERS_ACCESS_LOG"  # where refused attempts are recorded
MEMORY_ENV = "GRADERS_MEMORY_LIMIT"    # bytes
FORBIDDEN_MESSAGE = "Reading course files is not allowed while grading"
TRUNCATED = "output truncated by the grader"  # the note left where output was cut
# One thread per process where student code runs: several submissions are graded at once, and
# TensorFlow's and OpenBLAS's thread pools fighting over 2 cores cost ~20% more CPU than they save
# (measured on ps5). A single-threaded check server can also fork safely (graders.checks._server).
SINGLE_THREAD_ENV = {name: "1" for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
                                              "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}

_guard = threading.local()


def repository_secrets() -> list[str]:
    """What student code may never read, wherever it runs: solutions/ and graders/work/."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return [os.path.join(root, "solutions"), os.path.join(root, "graders", "work")]


_PROC_PRIVATE = re.compile(r"^/proc/(\d+)/(environ|mem|fd|fdinfo|maps|smaps|root|cwd|stack|syscall)(/|$)")


def _other_process(path: str) -> bool:
    """Another process's environment, memory or open files (``/proc/PID/...``)."""
    m = _PROC_PRIVATE.match(path)
    return bool(m) and int(m.group(1)) != os.getpid()


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def protect(paths, allow=(), log_path: str | None = None) -> None:
    """Refuse every open/listdir of a path under ``paths`` (except under ``allow``)."""
    protected = [os.path.realpath(p) for p in paths if p]
    allowed = [os.path.realpath(p) for p in allow if p]
    log = open(log_path, "a", buffering=1) if log_path else None  # opened before any student code runs
    watched = {"open", "os.listdir", "os.scandir", "os.remove", "os.rename", "shutil.copyfile",
               "shutil.rmtree", "os.chmod", "os.truncate", "sqlite3.connect", "glob.glob"}

    def hook(event, args):
        if event in ESCAPE_EVENTS:
            _record_escape(log, event, args)
            return
        if event not in watched or not args or getattr(_guard, "busy", False):
            return
        target = args[0]
        if isinstance(target, int) or target is None:  # a file descriptor: already opened
            return
        _guard.busy = True
        try:
            try:
                path = os.path.realpath(os.fsdecode(target))
            except (TypeError, ValueError):
                return
            if (any(_inside(path, p) for p in protected) and not any(_inside(path, a) for a in allowed)) \
                    or _other_process(path):
                if log is not None:
                    log.write(f"{event}\t{path}\n")
                raise PermissionError(f"{FORBIDDEN_MESSAGE}: {path}")
        finally:
            _guard.busy = False

    sys.addaudithook(hook)


# What student code has no business doing in these assignments: recorded (flag ``escape-attempt``),
# not refused here. The OS sandbox (``isolation``) is what contains a child process, a signal or
# a connection; this record lets the report name the attempt.
ESCAPE_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                 "os.forkpty", "os.kill", "os.killpg", "socket.connect", "pty.spawn"}
ESCAPE_TAG = "escape:"


def _record_escape(log, event: str, args) -> None:
    if log is None or getattr(_guard, "busy", False):
        return
    if event == "socket.connect" and len(args) > 1 and isinstance(args[1], str) \
            and args[1] == os.environ.get("GRADERS_CHECK_SOCKET"):
        return  # run_check asking the grader's check server
    if event == "subprocess.Popen" and len(args) > 1 and list(args[1] or ()) == ["uname", "-p"]:
        return  # platform.processor(), asked by the libraries at import
    if event in ("os.kill", "os.killpg") and len(args) > 1 and args[1] == 2 \
            and args[0] in (os.getpid(), os.getpgid(0)):
        return  # ipykernel interrupting itself (a cell over its time limit)
    _guard.busy = True
    try:
        shown = " ".join(map(str, args[1] if event in ("subprocess.Popen", "os.exec") and len(args) > 1
                                   and isinstance(args[1], (list, tuple)) else args))
        log.write(f"{ESCAPE_TAG}{event}\t{shown[:200]}\n")
    except Exception:  # noqa: BLE001  (recording must never break the student's cell)
        pass
    finally:
        _guard.busy = False


def limit_memory(nbytes: int | None) -> None:
    """Cap this process's (and its children's) address space at ``nbytes``."""
    if not nbytes:
        return
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            nbytes = min(nbytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (nbytes, hard))
    except (ImportError, ValueError, OSError):  # not on this platform
        pass


def apply_from_environment() -> None:
    """Protect and limit as the environment variables set by the grading pipeline say."""
    protected = [p for p in os.environ.get(PROTECT_ENV, "").split(os.pathsep) if p]
    allowed = [p for p in os.environ.get(ALLOW_ENV, "").split(os.pathsep) if p]
    protect(repository_secrets() + protected, allowed, os.environ.get(ACCESS_LOG_ENV) or None)
    memory = os.environ.get(MEMORY_ENV)
    limit_memory(int(memory) if memory else None)
