"""A warm template that forks each submission's kernel and check server (inside the sandbox).

A cold grading kernel spends most of its CPU importing: ``ipykernel`` and NumPy and
matplotlib are about 1.3 CPU-seconds on the 2-core reference machine, for a notebook that
then runs in a fraction of that. The template imports them once per grading worker and then
forks one fresh child per process a submission needs, the way the check server already
forks one child per check (``graders.checks._server``).

The template lives inside the worker's own bubblewrap sandbox (started by
``graders.pipeline.warm``), never runs student code, and is driven over one inherited
``SOCK_SEQPACKET`` socket that only the grader holds (there is no path a kernel could connect
to). Each message is one JSON object, optionally with file descriptors:

* ``{"op": "spawn", "id": K, "module": M, "function": F, "argv": [...], "env": {...}, "cwd": D,
  "fds": [0, 1, 3], "landlock": {"readable": [...], "writable": [...]}}`` with descriptors that
  become the child's descriptors listed in ``fds`` (stdin is ``/dev/null`` and stdout/stderr the
  template's unless sent). The child starts a session of its own, replaces its whole
  environment, reseeds NumPy's global generator, hands the Landlock rules (the submission's own
  folders only) to the module, which applies them before anything else
  (``graders.runtime.landlock.enter_from_environment``), and runs ``M.F()`` (default ``main``). Reply: ``{"op": "spawned", "id": K, "pid": P}``.
* ``{"op": "signal", "id": K, "signum": N}``: signal that child's process group.
* ``{"op": "kill-all"}``: SIGKILL every process in this PID namespace but the template
  (a submission's detached leftovers), reply ``{"op": "killed", "count": N}``.
* ``{"op": "ping"}`` -> ``{"op": "pong", "threads": N}``.

When a child ends, the template sends ``{"op": "exited", "id": K, "status": S, "cpu": C}``
(``S`` as ``Popen.returncode``, ``C`` its CPU-seconds). When the grader's end of the socket closes, the template kills every
child and exits.

Forking is only safe while the template has one thread: the preload is refused (the template
exits with status 3 and says which import started a thread) otherwise.
"""
from __future__ import annotations

import fcntl
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys

MAX_FDS = 8
MAX_MESSAGE = 1 << 20
THREAD_UNSAFE = 3  # exit status: a preloaded module started a thread


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def preload(modules: list[str]) -> None:
    for name in modules:
        importlib.import_module(name)
        if _threads() > 1:
            sys.stderr.write(f"graders.runtime.zygote: importing {name} started a thread; "
                             "a template with threads cannot fork safely\n")
            sys.exit(THREAD_UNSAFE)


def serve(control_fd: int, modules: list[str]) -> int:
    preload(modules)
    # The preloaded objects never die: keep them out of the collector's sight, so that a child's
    # collections neither walk them (CPU) nor touch, and so copy, their memory pages.
    gc.collect()
    gc.freeze()
    control = socket.socket(fileno=control_fd)
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that the wake-up byte is written
    children: dict[int, int] = {}  # pid -> request id
    try:
        while True:
            ready, _, _ = select.select([control, wake_r], [], [])
            if wake_r in ready:
                while True:
                    try:
                        if not os.read(wake_r, 512):
                            break
                    except BlockingIOError:
                        break
            _reap(control, children)
            if control not in ready:
                continue
            try:
                data, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, MAX_FDS)
            except OSError:
                return 0
            if not data:
                return 0  # the grader has gone
            try:
                request = json.loads(data)
                reply = _handle(request, fds, control, wake_r, wake_w, children)
            finally:
                for fd in fds:
                    os.close(fd)
            if reply is not None:
                control.send(json.dumps(reply).encode("utf-8"))
    finally:
        for pid in list(children):
            _kill_group(pid, signal.SIGKILL)


def _handle(request: dict, fds: list[int], control, wake_r: int, wake_w: int, children: dict) -> dict | None:
    op = request.get("op")
    if op == "spawn":
        pid = os.fork()
        if pid == 0:  # never returns
            _child(request, fds, [control.detach(), wake_r, wake_w])
        children[pid] = request["id"]
        return {"op": "spawned", "id": request["id"], "pid": pid}
    if op == "signal":
        for pid, rid in children.items():
            if rid == request["id"]:
                _kill_group(pid, int(request["signum"]))
        return None
    if op == "kill-all":
        count = 0
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) not in (1, os.getpid()):
                try:
                    os.kill(int(entry), signal.SIGKILL)
                    count += 1
                except OSError:
                    pass
        return {"op": "killed", "count": count}
    if op == "ping":
        return {"op": "pong", "threads": _threads()}
    return {"op": "error", "message": f"Expected op spawn, signal, kill-all or ping. Received: {op!r}"}


def _kill_group(pid: int, signum: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signum)
            return
        except OSError:
            continue


def _reap(control, children: dict) -> None:
    while children:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        rid = children.pop(pid, None)
        if rid is not None:
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            try:
                cpu = usage.ru_utime + usage.ru_stime  # the child and the children it waited for
                control.send(json.dumps({"op": "exited", "id": rid, "status": code, "cpu": cpu}).encode("utf-8"))
            except OSError:
                pass


def _child(request: dict, fds: list[int], template_fds: list[int]) -> None:
    """The forked child: become the submission's process, then run its module. Never returns."""
    status = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the template
        targets = request.get("fds") or []  # child descriptor numbers, in the order the fds were sent
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 64) for fd in fds]  # clear of every target number
        for fd in fds + template_fds:
            os.close(fd)
        for fd, target in zip(high, targets):
            os.dup2(fd, target)  # dup2 clears close-on-exec on the target
        keep = set(targets) | {0, 1, 2}
        os.closerange(max(keep) + 1, 65536)
        for fd in range(max(keep) + 1):
            if fd not in keep:
                try:
                    os.close(fd)
                except OSError:
                    pass
        if 0 not in targets:
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.close(null)
        os.environ.clear()
        os.environ.update(request["env"])
        if request.get("landlock"):
            from graders.runtime.landlock import LANDLOCK_ENV

            os.environ[LANDLOCK_ENV] = json.dumps(request["landlock"])
        import tempfile

        tempfile.tempdir = None  # worked out again from this child's TMPDIR
        _reseed()
        os.chdir(request["cwd"])
        sys.argv = [request["module"], *request.get("argv", [])]
        if request.get("cwd_on_path"):  # as ``python -m`` would: the notebook's folder first
            sys.path.insert(0, request["cwd"])
        module = importlib.import_module(request["module"])
        result = getattr(module, request.get("function", "main"))()
        status = result if isinstance(result, int) else 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001  (whatever happened, the template's code must not run on)
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)


def _reseed() -> None:
    """Every child would otherwise share the template's random state (``random`` reseeds itself
    after a fork, NumPy's global generator does not)."""
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed(int.from_bytes(os.urandom(4), "little"))


def main() -> int:
    control_fd, modules = int(sys.argv[1]), json.loads(sys.argv[2])
    return serve(control_fd, modules)


if __name__ == "__main__":
    sys.exit(main())
