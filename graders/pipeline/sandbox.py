"""Keep student code away from files it must not read, and from unbounded memory.

Used by the grading kernel (``graders.pipeline.kernel``) and by the hidden-test
server's children (``graders.checks._server``), the two places where student code runs.

* ``protect(paths)`` installs a Python audit hook (PEP 578) that refuses to open or
  list anything under the given folders and files (the solutions, the gradebook,
  other submissions) and records each attempt. Audit hooks cannot be removed from
  Python code once installed.
* ``limit_memory(nbytes)`` caps the process's address space (inherited by its children).

This is defence in depth for a grading machine, not a sandbox against native code:
run graders for untrusted classes in containers as well (see the instructor guide).
"""
from __future__ import annotations

import os
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
            if any(_inside(path, p) for p in protected) and not any(_inside(path, a) for a in allowed):
                if log is not None:
                    log.write(f"{event}\t{path}\n")
                raise PermissionError(f"{FORBIDDEN_MESSAGE}: {path}")
        finally:
            _guard.busy = False

    sys.addaudithook(hook)


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
