"""The check server: every hidden-test check runs in a fresh process forked from a clean template.

``run_check`` (in the notebook's kernel) starts this server once per kernel, as
``python -I`` (isolated: no ``PYTHON*`` variables, no user site, no current directory on
``sys.path``). Before it reads any request, the server imports what every check needs
(NumPy, cloudpickle, the ``graders`` references, the sandbox): it is the *template*, and
it never runs student code. For each request it forks a child that applies the grading
sandbox, rebuilds the student's objects, runs the check and reports; the child then
exits. So each check still starts from a pristine process, as if freshly started, but
without paying for Python and NumPy start-up again (about 0.3 CPU-seconds, 13 times
for one ps1 notebook: that start-up cost was most of a notebook's grading time).

A check module is imported into the template too, the first time one of its checks is
asked for (``ps5_keras`` brings TensorFlow, 4 CPU-seconds a time), but only if that import
starts no thread: forking a process whose other threads may hold locks is unsafe. The
kernel side runs the server with one BLAS/TensorFlow thread, which keeps it
single-threaded; if an import does start threads anyway, the server stops forking and
runs each check in a new ``python -I`` process instead (slower, equally isolated).

Protocol on the server's stdin/stdout (nothing else writes to them: children get
``/dev/null`` as stdin and stdout):

* request: one JSON line ``{"check_id": str, "timeout": float}``, an 8-byte big-endian
  length, then that many bytes of ``cloudpickle.dumps(objects)``;
* response: one JSON line ``{"passed": bool, "message": str}``.

The child reports on a pipe of its own, each result prefixed by a random token that
student code never sees in its arguments, so nothing it prints or writes can pass for a
result.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import pickle
import secrets
import select
import signal
import socket
import struct
import sys
import time

STDERR_TAIL = 4096  # bytes of a crashed child's stderr kept for the message


def _read_exactly(stream, size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) != size:
        raise EOFError("the notebook closed the connection mid-request")
    return data


LISTEN_FD_ENV = "GRADERS_CHECK_LISTEN_FD"  # grading mode: the listening socket the grader made
MAX_REQUEST_BYTES = 256 * 1024**2
_close_in_child: list[int] = []  # descriptors a check's child must not inherit (see run_forked)


def _preload_template() -> None:
    import cloudpickle  # noqa: F401  (preloaded for the children)
    import numpy  # noqa: F401

    import graders  # noqa: F401
    from graders.runtime import guard  # noqa: F401

    from . import _framework  # noqa: F401

    # An interrupt of the kernel reaches its whole process group: the child running the check
    # stops (default handler, restored after fork); the template waits for the kernel's decision.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _can_fork() -> bool:
    return hasattr(os, "fork") and os.path.isdir("/proc/self/task")


def main() -> int:
    """Local mode (a student's own kernel, plain nbgrader): requests on stdin, replies on stdout."""
    _preload_template()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    can_fork = _can_fork()
    while True:
        try:
            check_id, timeout, blob = _read_request(stdin)
        except EOFError:
            return 0  # the kernel has gone: so do we
        can_fork = can_fork and _preload(check_id)
        result = run_forked(check_id, blob, timeout) if can_fork else run_in_new_process(check_id, blob, timeout)
        stdout.write(json.dumps(result).encode("utf-8") + b"\n")
        stdout.flush()


def _read_request(stream) -> tuple[str, float, bytes]:
    header = stream.readline(65536)
    if not header:
        raise EOFError("no request")
    try:
        request = json.loads(header)
        check_id, timeout = str(request["check_id"]), float(request["timeout"])
    except (ValueError, KeyError, TypeError):
        raise EOFError("not a check request") from None
    (size,) = struct.unpack(">Q", _read_exactly(stream, 8))
    if size > MAX_REQUEST_BYTES:
        raise EOFError("request too large")
    return check_id, min(max(timeout, 1.0), 600.0), _read_exactly(stream, size)


def serve_verdicts() -> int:
    """Grading mode: the grader drives this server, and only the grader learns the verdicts.

    Started by the grader (``graders.pipeline.verdicts``), in a sandbox of its own, not by the
    notebook. Check requests come from the kernel on a listening Unix socket (one request per
    connection); the grader says on stdin which graded cell the kernel is running
    (``{"op": "begin", "notebook": ..., "cell": ...}``) and, when the cell is done
    (``{"op": "end"}``), receives on stdout every verdict recorded while that cell ran: check id,
    pass or fail, the message, and the names of the objects the check received. The kernel
    only gets each check's message back, for the student to read; what it does with it, or
    whether it asks at all, cannot change a verdict.
    """
    from graders.runtime.landlock import enter_from_environment

    enter_from_environment()
    listener = socket.socket(fileno=int(os.environ.pop(LISTEN_FD_ENV)))
    _preload_template()
    _not_dumpable()
    control_in, control_out = sys.stdin.buffer, sys.stdout.buffer
    _close_in_child.append(listener.fileno())
    can_fork = _can_fork()
    cell, recorded = None, []
    while True:
        ready, _, _ = select.select([control_in, listener], [], [])
        if control_in in ready:
            line = control_in.readline()
            if not line:
                return 0  # the grader has gone
            message = json.loads(line)
            if message.get("op") == "begin":
                cell, recorded = {"notebook": message["notebook"], "cell": message["cell"]}, []
                reply = {"ok": True}
            else:
                reply, cell, recorded = {"verdicts": recorded}, None, []
            control_out.write(json.dumps(reply).encode("utf-8") + b"\n")
            control_out.flush()
        if listener in ready:
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(10)  # a kernel that sends half a request only delays itself
                _close_in_child.append(conn.fileno())
                try:
                    check_id, timeout, blob = _read_request(conn.makefile("rb"))
                except (EOFError, OSError, struct.error):
                    continue
                finally:
                    _close_in_child.remove(conn.fileno())
                can_fork = can_fork and _preload(check_id)
                _close_in_child.append(conn.fileno())
                try:
                    result = (run_forked(check_id, blob, timeout) if can_fork
                              else run_in_new_process(check_id, blob, timeout))
                finally:
                    _close_in_child.remove(conn.fileno())
                if cell is not None:
                    recorded.append({**cell, "check_id": check_id, **result})
                try:
                    conn.sendall(json.dumps({"passed": result["passed"], "message": result["message"]})
                                 .encode("utf-8") + b"\n")
                except OSError:
                    pass


def _not_dumpable() -> None:
    """No process of this sandbox (a check's child running student code) may open this one's
    /proc/PID/fd or ptrace it: the control pipe to the grader stays the server's alone."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE
    except (OSError, AttributeError):
        pass


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _preload(check_id: str) -> bool:
    """Import the check's module into the template; False if that started a thread (see above)."""
    name = f"{__package__}.{check_id.partition(':')[0]}"
    if name in sys.modules:
        return True
    before = _threads()
    try:
        importlib.import_module(name)
    except Exception:  # noqa: BLE001  (the child imports it again and reports the error)
        pass
    return _threads() <= before


def run_forked(check_id: str, blob: bytes, timeout: float) -> dict:
    """Run one check in a forked child; kill it after ``timeout`` seconds."""
    token = secrets.token_hex(16)
    result_r, result_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 0
        try:
            os.close(result_r)
            os.close(err_r)
            _child_setup(err_w)
            result = run_in_child(check_id, blob)
            os.write(result_w, (token + json.dumps(result) + "\n").encode("utf-8"))
        except BaseException:  # noqa: BLE001  (whatever happened, the template must not run on)
            status = 1
        finally:
            os._exit(status)
    os.close(result_w)
    os.close(err_w)
    return _collect(pid, token, result_r, err_r, check_id, timeout)


def _child_setup(err_w: int) -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _die_with_parent()
    for fd in _close_in_child:  # the grader's control pipe is 0/1 (replaced below); these are the sockets
        try:
            os.close(fd)
        except OSError:
            pass
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # the request stream is the template's, not the student's
    os.dup2(devnull, 1)
    os.dup2(err_w, 2)
    os.close(devnull)
    os.close(err_w)


def _die_with_parent() -> None:
    """Linux: the child is killed if the template dies (killed by the kernel after an interrupt)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the kernel's process group is the fallback
        pass


def _collect(pid: int, token: str, result_r: int, err_r: int, check_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    out, err = bytearray(), bytearray()
    open_fds = {result_r: out, err_r: err}
    status = None
    timed_out = False
    while True:
        if status is None:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = code
        if not open_fds or (status is not None and not _readable(open_fds, 0)):
            break  # the child is gone and has nothing more to say (grandchildren may hold the pipes)
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        for fd in _readable(open_fds, min(left, 0.2)):
            chunk = os.read(fd, 65536)
            if not chunk:
                del open_fds[fd]
                continue
            buf = open_fds[fd]
            buf += chunk
            if fd == err_r and len(buf) > 2 * STDERR_TAIL:
                del buf[:-STDERR_TAIL]
    if status is None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _, status = os.waitpid(pid, 0)
    os.close(result_r)
    os.close(err_r)
    code = os.waitstatus_to_exitcode(status)
    return _outcome(out, err, token, check_id, timeout, timed_out, code)


def _outcome(out: bytes, err: bytes, token: str, check_id: str, timeout: float, timed_out: bool,
             code: int | None) -> dict:
    for line in out.decode("utf-8", "replace").splitlines():
        if line.startswith(token):
            return json.loads(line[len(token):])
    if timed_out:
        return {"passed": False, "message": (
            f"The check {check_id} did not finish within {timeout:.0f} s: your function "
            "probably loops forever or is far too slow for these small inputs.")}
    tail = " | ".join(err.decode("utf-8", "replace").strip().splitlines()[-3:])
    return {"passed": False, "message": (
        f"The check {check_id} could not run your function to the end (exit code {code}): it may have "
        f"exited the process or used too much memory. {tail}").strip()}


def run_in_new_process(check_id: str, blob: bytes, timeout: float) -> dict:
    """The fallback to forking: the check in a new ``python -I`` process (``exec_main``)."""
    import subprocess

    token = secrets.token_hex(16)
    header = json.dumps({"check_id": check_id, "token": token}).encode("utf-8") + b"\n"
    from ._framework import isolated_command

    try:
        proc = subprocess.run(isolated_command("exec_main"), input=header + blob, capture_output=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        return _outcome(exc.stdout or b"", exc.stderr or b"", token, check_id, timeout, True, None)
    return _outcome(proc.stdout, proc.stderr[-STDERR_TAIL:], token, check_id, timeout, False, proc.returncode)


def exec_main() -> int:
    """One check in this fresh process: a JSON header line, then the pickled objects, on stdin."""
    request = json.loads(sys.stdin.buffer.readline())
    blob = sys.stdin.buffer.read()
    real_stdout = sys.stdout
    result = run_in_child(str(request["check_id"]), blob)
    real_stdout.write(request["token"] + json.dumps(result) + "\n")
    real_stdout.flush()
    return 0


def _readable(open_fds: dict, wait: float) -> list[int]:
    if not open_fds:
        return []
    ready, _, _ = select.select(list(open_fds), [], [], wait)
    return ready


def run_in_child(check_id: str, blob: bytes) -> dict:
    """Resolve the check, enter the sandbox, rebuild the student's objects, run the check.

    The result says what the check received (the names of the objects), so that the grader
    can tell the answer the hidden test passed from anything else a notebook might send."""
    received: list[str] = []
    result = _run_check_in_child(check_id, blob, received)
    return {**result, "received": received}


def _run_check_in_child(check_id: str, blob: bytes, received: list[str]) -> dict:
    from ._framework import WORKER_MEMORY_BYTES, CheckFailed, _reference_user, reference_message, resolve

    try:
        fn = resolve(check_id)  # imports the check module (and, for ps5, TensorFlow) first
    except Exception as exc:
        return {"passed": False, "message": f"The check {check_id} could not be loaded "
                f"({type(exc).__name__}: {exc}); please tell your instructor."}
    # From here on student code may run: keep it away from the solutions, the gradebook
    # and other submissions, as in the grading kernel (graders.runtime.guard).
    from graders.runtime.guard import apply_from_environment, limit_memory

    apply_from_environment()
    limit_memory(WORKER_MEMORY_BYTES)
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
            received.extend(str(getattr(obj, "__name__", type(obj).__name__)) for obj in objects)
            for obj in objects:  # again here, out of reach of anything the notebook patched
                used = _reference_user(obj)
                if used:
                    raise CheckFailed(reference_message(used))
            message = fn(*objects)
        return {"passed": True, "message": message or f"{check_id} passed"}
    except CheckFailed as exc:
        return {"passed": False, "message": str(exc)}
    except MemoryError:
        return {"passed": False, "message": "Your function ran out of memory on a small input."}
    except RecursionError:
        return {"passed": False, "message": "Your function recursed without end (RecursionError)."}
    except Exception as exc:  # a bug in a check must not look like the student's fault
        return {"passed": False, "message": f"The check {check_id} itself failed ({type(exc).__name__}: "
                f"{exc}); please tell your instructor."}


if __name__ == "__main__":
    sys.exit(main())
