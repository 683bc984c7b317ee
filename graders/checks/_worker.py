"""Runs one check in a fresh process: ``python -m graders.checks._worker`` < pickle.

The notebook side (:func:`graders.checks.run_check`) sends ``(token, check_id,
cloudpickle.dumps(objects))`` on stdin; the result comes back as one stdout line that starts with
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
    payload = sys.stdin.buffer.read()
    real_stdout = sys.stdout
    from ._framework import CheckFailed, _reference_user, resolve

    # The header (token, check id) is read before the student's objects are rebuilt.
    token, check_id, blob = pickle.loads(payload)
    try:
        fn = resolve(check_id)  # imports the check module and the references first
    except Exception as exc:
        _report(real_stdout, token, False, f"The check {check_id} could not be loaded "
                f"({type(exc).__name__}: {exc}); please tell your instructor.")
        return 0
    # From here on student code may run: keep it away from the solutions, the gradebook
    # and other submissions, as in the grading kernel (graders.pipeline.sandbox).
    from graders.pipeline.sandbox import apply_from_environment

    apply_from_environment()
    _limit_memory()
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink):
            try:
                objects = pickle.loads(blob)
            except Exception as exc:
                raise CheckFailed(
                    f"Your answer could not be rebuilt in the grading process ({type(exc).__name__}: "
                    f"{exc}). Use only Python, NumPy and the functions defined in this notebook."
                ) from None
            for obj in objects:  # again here, out of reach of anything the notebook patched
                used = _reference_user(obj)
                if used:
                    raise CheckFailed(
                        f"This answer uses the course's reference implementation ({used}) from "
                        "the `graders` package. Write the function yourself; the checks compare "
                        "it with the reference.")
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
    _report(real_stdout, token, result["passed"], result["message"])
    return 0


def _report(stream, token: str, passed: bool, message: str) -> None:
    stream.write(token + json.dumps({"passed": passed, "message": message}) + "\n")
    stream.flush()


if __name__ == "__main__":
    sys.exit(main())
