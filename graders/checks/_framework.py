"""Registry, runner and comparison tools for the hidden-test checks.

Threat model: the checks run in a process the notebook does not control, so a notebook
that tampers with its own process or namespace (patched NumPy, redefined helpers, modules
planted in ``sys.modules``, files such as ``numpy.py`` written next to the notebook,
``PYTHON*`` variables) changes nothing in them; answers that are the course's own reference
implementation are detected; functions that crash, loop, exit or print are reported. What the
kernel does with a check's reply cannot change a grade while grading: the grading pipeline
starts the check server itself (``GRADERS_CHECK_SOCKET``) and takes the verdicts from it
directly (``graders.pipeline.verdicts``). Outside the pipeline (a student's own kernel, plain
nbgrader) ``run_check`` starts a local server, and its result is only as trustworthy as the
kernel that reports it.
"""
from __future__ import annotations

import importlib
import json
import os
import select
import struct
import subprocess
import sys
import types
from typing import Callable

import numpy as np

REGISTRY: dict[str, Callable] = {}
DEFAULT_TIMEOUT = 60.0
WORKER_MEMORY_BYTES = 4 * 1024**3


class CheckFailed(AssertionError):
    """A check found a difference from the reference; the message says which."""


def check(check_id: str):
    """Register ``fn`` as the check named ``check_id`` (``"<module>:<name>"``)."""
    module = check_id.partition(":")[0]
    if not module or ":" not in check_id:
        raise ValueError(f"Expected a check id of the form 'module:name'. Received: {check_id!r}")

    def decorate(fn):
        if check_id in REGISTRY:
            raise ValueError(f"Check {check_id!r} is registered twice.")
        REGISTRY[check_id] = fn
        fn.check_id = check_id
        return fn

    return decorate


def resolve(check_id: str) -> Callable:
    module = check_id.partition(":")[0]
    importlib.import_module(f"{__package__}.{module}")
    try:
        return REGISTRY[check_id]
    except KeyError:
        raise ValueError(f"No check named {check_id!r} in graders.checks.{module}.") from None


# --------------------------------------------------------------------------- #
# Notebook side
# --------------------------------------------------------------------------- #
def _is_graders(value) -> str | None:
    """The ``graders`` name of a module or of an object defined in ``graders``, else None."""
    if isinstance(value, types.ModuleType):
        return value.__name__ if value.__name__.split(".")[0] == "graders" else None
    mod = getattr(value, "__module__", None)
    if callable(value) and isinstance(mod, str) and mod.split(".")[0] == "graders":
        return f"{mod}.{getattr(value, '__qualname__', type(value).__name__)}"
    return None


def _reference_user(obj, _depth: int = 0, _seen: set | None = None) -> str | None:
    """Name of the ``graders`` object that ``obj`` is or calls, if any.

    Submitting the course's own reference implementation (imported from
    ``graders``) is not an answer. Follows the globals a function uses, its
    closure, its default arguments, nested functions, ``functools.partial`` and
    the student's own helper functions (a few levels deep).
    """
    found = _is_graders(obj)
    if found or _depth > 4:
        return found
    _seen = set() if _seen is None else _seen
    if id(obj) in _seen:
        return None
    _seen.add(id(obj))
    inner = getattr(obj, "func", None)  # functools.partial
    if inner is not None and not isinstance(obj, types.FunctionType):
        return _reference_user(inner, _depth + 1, _seen)
    obj = getattr(obj, "__func__", obj)  # bound methods
    code = getattr(obj, "__code__", None)
    if code is None:
        return None
    globs = getattr(obj, "__globals__", {}) or {}
    values = [cell.cell_contents for cell in (getattr(obj, "__closure__", None) or ())
              if _cell_is_set(cell)]
    values += list(getattr(obj, "__defaults__", None) or ())
    values += list((getattr(obj, "__kwdefaults__", None) or {}).values())
    seen_code, stack = set(), [code]
    while stack:
        co = stack.pop()
        if co in seen_code:
            continue
        seen_code.add(co)
        if "graders" in co.co_names:  # ``import graders`` inside the function body
            return "graders (imported inside the function)"
        values += [globs[name] for name in co.co_names if name in globs]
        stack.extend(c for c in co.co_consts if isinstance(c, types.CodeType))
    for value in values:
        found = _is_graders(value)
        if found:
            return found
    for value in values:  # the student's helpers, and what they call
        if isinstance(value, (types.FunctionType, types.MethodType)) or hasattr(value, "func"):
            found = _reference_user(value, _depth + 1, _seen)
            if found:
                return found
    return None


def _cell_is_set(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:  # an empty closure cell
        return False
    return True


# The directory that holds this ``graders`` package (found by the notebook's fresh
# import). The check server imports ``graders`` from exactly there.
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The hidden tests re-import ``graders`` from disk before every check (dropping it from
# ``sys.modules``), so the kernel's check server is kept outside the package.
_SERVER_SLOT = "_graders_check_server"
_REPLY_GRACE = 30.0  # the server enforces the check's timeout itself; this covers the server


def isolated_command(entry: str) -> list[str]:
    """Run ``graders.checks._server.<entry>()`` in ``python -I`` (isolated: no PYTHON*
    variables, no user site, no current directory on ``sys.path``), so that files a notebook
    writes next to itself (a ``numpy.py``, a fake ``graders/``) or variables it sets cannot
    change what that process imports."""
    boot = (f"import sys; sys.path.insert(0, {_PACKAGE_PARENT!r}); "
            f"from {__package__}._server import {entry}; sys.exit({entry}())")
    return [sys.executable, "-I", "-c", boot]


def _server_command() -> list[str]:
    return isolated_command("main")


REFERENCE_USED = "uses the course's reference implementation"  # the grader flags messages that say this


def reference_message(used: str) -> str:
    """What a student is told when the answer is (or calls) the course's reference implementation."""
    return (f"This answer {REFERENCE_USED} ({used}) from the "
            "`graders` package. Write the function yourself; the checks compare it with the reference.")


def _check_server() -> subprocess.Popen:
    """This kernel's check server (see ``_server``), started on first use."""
    slot = sys.modules.get(_SERVER_SLOT)
    proc = getattr(slot, "proc", None)
    if type(proc) is subprocess.Popen and proc.args == _server_command() and proc.poll() is None:
        return proc
    from graders.runtime.guard import SINGLE_THREAD_ENV

    env = {k: v for k, v in os.environ.items() if not k.startswith(("JPY_", "IPY", "PYTHON"))}
    env.update(SINGLE_THREAD_ENV, TF_CPP_MIN_LOG_LEVEL="3")  # checks use small inputs; see _server
    # Not the kernel's stderr: nbgrader scores a graded cell 0 if anything reaches stderr while it
    # runs, and TensorFlow's import logs there whatever TF_CPP_MIN_LOG_LEVEL says. Each check's own
    # stderr is collected by the server and quoted if the check crashes.
    proc = subprocess.Popen(_server_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    slot = types.ModuleType(_SERVER_SLOT, "The hidden-test check server of this kernel.")
    slot.proc = proc
    sys.modules[_SERVER_SLOT] = slot
    return proc


def stop_check_server() -> None:
    """Stop this process's check server (the next check starts a fresh one)."""
    slot = sys.modules.pop(_SERVER_SLOT, None)
    proc = getattr(slot, "proc", None)
    if isinstance(proc, subprocess.Popen) and proc.poll() is None:
        proc.kill()  # its running child, if any, dies with it (PR_SET_PDEATHSIG)
        proc.wait()


CHECK_SOCKET_ENV = "GRADERS_CHECK_SOCKET"  # set by the grading pipeline: its check server's socket


def _request(check_id: str, blob: bytes, timeout: float) -> bytes:
    header = json.dumps({"check_id": check_id, "timeout": timeout}).encode("utf-8") + b"\n"
    return header + struct.pack(">Q", len(blob)) + blob


def _ask_grader(path: str, check_id: str, blob: bytes, timeout: float) -> dict | None:
    """While grading: ask the grader's check server (which records the verdict for the grader)."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout + _REPLY_GRACE)
        try:
            conn.connect(path)
            conn.sendall(_request(check_id, blob, timeout))
            line = conn.makefile("rb").readline()
        except OSError:
            return None
    return json.loads(line) if line else None


def _ask_server(check_id: str, blob: bytes, timeout: float) -> dict | None:
    """Send one request; the reply, or None if the server died or did not answer."""
    path = os.environ.get(CHECK_SOCKET_ENV)
    if path:
        return _ask_grader(path, check_id, blob, timeout)
    proc = _check_server()
    try:
        proc.stdin.write(_request(check_id, blob, timeout))
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], timeout + _REPLY_GRACE)
        line = proc.stdout.readline() if ready else b""
        if line:
            return json.loads(line)
    except BaseException:  # interrupted mid-request (cell timeout): the reply would be out of step
        stop_check_server()
        raise
    stop_check_server()
    return None


def run_check(check_id: str, *objects, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Run a registered check on the student's objects in a fresh process.

    Returns the check's success message (also printed); raises
    ``AssertionError`` with a diagnosing message when the check fails.
    """
    __tracebackhide__ = True  # IPython: keep the student's traceback short
    for obj in objects:
        used = _reference_user(obj)
        if used:
            raise AssertionError(reference_message(used))
    import cloudpickle

    try:
        blob = cloudpickle.dumps(objects)
    except Exception as exc:
        raise AssertionError(
            f"Your answer could not be captured for grading ({type(exc).__name__}: {exc}). "
            "Define it at the top level of the answer cell, using only plain Python and NumPy."
        ) from None
    result = _ask_server(check_id, blob, timeout)
    if result is None:
        raise AssertionError(
            f"The check {check_id} could not run: the grading process stopped unexpectedly. "
            "Run the cell again; if this persists, please tell your instructor."
        )
    if not result["passed"]:
        raise AssertionError(result["message"])
    print(f"\u2714 {result['message']}")
    return result["message"]


# --------------------------------------------------------------------------- #
# Tools for writing checks (these run inside the worker)
# --------------------------------------------------------------------------- #
def describe(value) -> str:
    """A short description of an argument for a failure message."""
    if isinstance(value, np.ndarray):
        if value.size <= 6:
            return f"array({np.array2string(value, precision=4, separator=', ')}, dtype={value.dtype})"
        return f"array of shape {value.shape}, dtype={value.dtype}"
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], np.ndarray):
        shapes = ", ".join(str(v.shape) for v in value)
        return f"{type(value).__name__} of {len(value)} arrays with shapes [{shapes}]"
    if isinstance(value, np.random.Generator):
        return "a numpy.random.Generator"
    return repr(value)


def call_student(func, name: str, *args, **kwargs):
    """Call the student's ``func``; an exception becomes a :class:`CheckFailed` naming the inputs."""
    __tracebackhide__ = True
    try:
        return func(*args, **kwargs)
    except CheckFailed:
        raise
    except NotImplementedError:
        raise CheckFailed(f"`{name}` is not implemented yet (it raised NotImplementedError).") from None
    except Exception as exc:
        shown = ", ".join([describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()])
        raise CheckFailed(
            f"`{name}` raised {type(exc).__name__}: {exc}  (called as {name}({shown}))"
        ) from None


def expect_raises(func, name: str, args: tuple, kwargs: dict | None = None, *,
                  exc=ValueError, why: str = "") -> None:
    """The student's function must raise ``exc`` for these (invalid) arguments."""
    kwargs = kwargs or {}
    shown = ", ".join([describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()])
    try:
        func(*args, **kwargs)
    except exc:
        return
    except NotImplementedError:
        raise CheckFailed(f"`{name}` is not implemented yet (it raised NotImplementedError).") from None
    except Exception as other:
        raise CheckFailed(
            f"`{name}({shown})` should raise {exc.__name__}{' because ' + why if why else ''}, "
            f"but it raised {type(other).__name__}: {other}"
        ) from None
    raise CheckFailed(
        f"`{name}({shown})` should raise {exc.__name__}{' because ' + why if why else ''}, "
        "but it returned normally."
    )


def expect_tuple(result, name: str, fields: tuple[str, ...]) -> tuple:
    """The student's result must be a tuple of ``len(fields)`` values (named in the message); returns it."""
    if result is None:
        raise CheckFailed(f"`{name}` returned None: did you forget a `return` statement?")
    if not isinstance(result, tuple) or len(result) != len(fields):
        kind = "a pair" if len(fields) == 2 else "a tuple"
        raise CheckFailed(f"`{name}` should return {kind} ({', '.join(fields)}); it returned {describe(result)}.")
    return result


def as_array(value, name: str) -> np.ndarray:
    if value is None:
        raise CheckFailed(f"`{name}` returned None: did you forget a `return` statement?")
    try:
        arr = np.asarray(value, dtype=float)
    except Exception:
        raise CheckFailed(f"`{name}` should return numbers; it returned {type(value).__name__}.") from None
    return arr


def expect_close(got, want, name: str, *, rtol: float = 1e-6, atol: float = 1e-8,
                 diagnose: Callable | None = None, context: str = "") -> None:
    """Compare a student's result with the reference; explain the difference.

    ``diagnose(got, want)`` may return a message naming a known mistake; it is
    called only when shapes agree and values do not.
    """
    got_arr = as_array(got, name)
    want_arr = np.asarray(want, dtype=float)
    where = f" {context}" if context else ""
    if got_arr.shape != want_arr.shape:
        raise CheckFailed(
            f"`{name}` returned shape {got_arr.shape}{where}; expected shape {want_arr.shape}."
        )
    if np.isnan(got_arr).any() and not np.isnan(want_arr).any():
        raise CheckFailed(f"`{name}` returned NaN values{where}; the expected result has none.")
    if np.allclose(got_arr, want_arr, rtol=rtol, atol=atol, equal_nan=True):
        return
    hint = diagnose(got_arr, want_arr) if diagnose else None
    err = np.abs(got_arr - want_arr)
    idx = np.unravel_index(int(np.nanargmax(err)), err.shape) if err.ndim else ()
    detail = (f"largest difference {float(err[idx]):.3g} at index {idx}: got {float(got_arr[idx]):.6g}, "
              f"expected {float(want_arr[idx]):.6g}") if err.ndim else (
              f"got {float(got_arr):.6g}, expected {float(want_arr):.6g}")
    message = f"`{name}` gives wrong values{where}: {detail}."
    if hint:
        message = f"{hint} ({message})"
    raise CheckFailed(message)


def ratio_is(got, want, factor: float, tol: float = 1e-6) -> bool:
    """True when ``got == factor * want`` everywhere (for 'off by a constant' diagnoses)."""
    got, want = np.asarray(got, float), np.asarray(want, float)
    return got.shape == want.shape and np.allclose(got, factor * want, rtol=tol, atol=1e-12) \
        and not np.allclose(want, 0)
