"""Runs one check in a fresh process: ``python -m graders.checks._worker`` < pickle.

The notebook side (:func:`graders.checks.run_check`) sends ``(token, check_id,
objects)`` on stdin; the result comes back as one stdout line that starts with
the token, so nothing the student's code prints can be mistaken for it.
"""
from __future__ import annotations

import contextlib
import io
import json
import pickle
import sys


def _limit_memory() -> None:
    try:
        import resource

        from ._framework import WORKER_MEMORY_BYTES

        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    except (ImportError, ValueError, OSError):  # not on this platform / already lower
        pass


def main() -> int:
    token, check_id, objects = pickle.loads(sys.stdin.buffer.read())
    real_stdout = sys.stdout
    from ._framework import CheckFailed, resolve

    fn = resolve(check_id)
    _limit_memory()
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink):
            message = fn(*objects)
        result = {"passed": True, "message": message or f"{check_id} passed"}
    except CheckFailed as exc:
        result = {"passed": False, "message": str(exc)}
    except MemoryError:
        result = {"passed": False, "message": "Your function ran out of memory on a small input."}
    except RecursionError:
        result = {"passed": False, "message": "Your function recursed without end (RecursionError)."}
    except Exception as exc:  # a bug in a check must not look like the student's fault
        result = {"passed": False,
                  "message": f"The check {check_id} itself failed ({type(exc).__name__}: {exc}); "
                             "please tell your instructor."}
    real_stdout.write(token + json.dumps(result) + "\n")
    real_stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
