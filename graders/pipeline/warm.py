"""Warm grading sandboxes: each worker's template forks the submissions' kernels and check servers.

``--sandbox warm`` (what ``auto`` picks where both bubblewrap and Landlock work) stacks
the two mechanisms of :mod:`isolation`:

* one **bubblewrap** sandbox per grading worker, made once: the same read-only root as a
  cold ``bwrap`` kernel, its own PID and network namespaces, no capabilities, and only the
  worker's own task folder writable (no other worker's submissions, no gradebook, no
  ``solutions/``). In it runs the template (:mod:`graders.runtime.zygote`), which has
  imported ``ipykernel``, NumPy, matplotlib and the check server, and runs no student code.
* per process of a submission (its kernel, its check server), a **fork** of that template,
  in the submission's cgroup (:class:`isolation.Jail`), in a session of its own, with its
  own environment, confined by **Landlock** to that submission's folders before any of its
  code runs: the source notebook and private gradebook of its task folder, visible in the
  worker's sandbox, are out of its reach, and so are the template and every other process
  (Landlock's signal and ptrace scoping).

At the end of a submission every process of it is killed (its cgroup, and the template's
``kill-all`` of the namespace) before the next one starts; a template that died is started
again. The grader holds the only handle on the template: a socket pair, not a path.

Example::

    zygote = Zygote.start(sandbox, box, env, PRELOAD)
    proc = zygote.spawn("graders.pipeline.kernel", ["-f", conn], env, cwd, rules, jail)
    proc.wait()
"""
from __future__ import annotations

import json
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

# What every template imports: what every kernel and check server would import cold. To it,
# ``preload_for`` adds what the assignment's notebooks import (TensorFlow for ps5).
PRELOAD = ["ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger", "numpy", "matplotlib", "matplotlib.pyplot",
           "graders.pipeline.kernel", "graders.checks._server", "graders.checks._framework", "cloudpickle"]
_START_TIMEOUT = 120.0
_REPLY_TIMEOUT = 30.0
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])


def preload_for(notebooks: dict[str, bytes]) -> list[str]:
    """``PRELOAD`` and the installed modules that the code cells of ``notebooks`` (an assignment's
    source notebooks: what the release, the solutions and the hidden tests import) import."""
    import ast
    import importlib.util

    import nbformat

    found = set()
    for data in notebooks.values():
        for cell in nbformat.reads(data.decode("utf-8"), as_version=4).cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:  # IPython magics: not Python
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.add(node.module)
    installed = []
    for name in sorted(found):
        try:
            spec = importlib.util.find_spec(name.partition(".")[0])
        except (ImportError, ValueError):
            spec = None
        if spec is not None and name.partition(".")[0] != "graders":
            installed.append(name)
    return PRELOAD + [name for name in installed if name not in PRELOAD]


class TemplateUnavailable(RuntimeError):
    """The template could not start (or died); the message says why."""


class ForkedProcess:
    """A process forked by the template, with the part of ``subprocess.Popen`` that
    jupyter_client's provisioner and the check service use."""

    stdin = stdout = stderr = None

    def __init__(self, zygote: "Zygote", rid: int, pid: int, args: list[str]):
        self.zygote, self.id, self.pid, self.args = zygote, rid, pid, args
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.zygote.pump(0)
            self.returncode = self.zygote.exited.pop(self.id, None)
            if self.returncode is None and not self.zygote.alive():
                self.returncode = -signal.SIGKILL  # the template (and with it every child) is gone
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout)
            self.zygote.pump(0.1 if left is None else min(0.1, left))
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            self.zygote.send({"op": "signal", "id": self.id, "signum": int(signum)})

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Zygote:
    """The grader's handle on one worker's template (see the module docstring)."""

    def __init__(self, proc: subprocess.Popen, control: socket.socket, host_pid: int, modules: list[str] = ()):
        self.proc, self.control, self.host_pid, self.modules = proc, control, host_pid, list(modules)
        self._dead = False  # the template closed its end
        self.exited: dict[int, int] = {}
        self.cpu: dict[int, float] = {}  # CPU-seconds of each child that ended (for the benchmark's profile)
        self.spawned: dict[int, str] = {}  # the module each child ran
        self._replies: list[dict] = []
        self._next_id = 0

    def __deepcopy__(self, memo):  # nbgrader deep-copies its configuration, which holds this handle
        return self

    @classmethod
    def start(cls, sandbox, box: Path, env: dict[str, str], modules: list[str]) -> "Zygote":
        """Start the template in ``sandbox`` (a :class:`isolation.Bubblewrap`) with ``box`` writable."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        boot = (f"import sys; sys.path.insert(0, {_PACKAGE_PARENT!r}); "
                "from graders.runtime.zygote import main; sys.exit(main())")
        argv = [sys.executable, "-I", "-c", boot, str(theirs.fileno()), json.dumps(modules)]
        try:
            proc = subprocess.Popen(sandbox.command(argv, [str(box)], env, str(box)), pass_fds=[theirs.fileno()],
                                    stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        zygote = cls(proc, ours, 0, modules)
        try:
            pong = zygote.request({"op": "ping"}, _START_TIMEOUT)
            if pong is None or pong.get("threads") != 1:
                raise TemplateUnavailable(f"the template did not start (exit status {proc.poll()}; see the worker log)")
            zygote.host_pid = _template_pid(proc.pid)
        except BaseException:
            zygote.close()
            raise
        return zygote

    # -- messages ------------------------------------------------------------------------- #
    def send(self, message: dict, fds: list[int] = ()) -> None:
        try:
            socket.send_fds(self.control, [json.dumps(message).encode("utf-8")], list(fds))
        except OSError as exc:
            raise TemplateUnavailable(f"the template stopped listening ({exc})") from exc

    def pump(self, timeout: float) -> None:
        """Read what the template has sent within ``timeout`` seconds: exits and replies."""
        deadline = time.monotonic() + timeout
        while True:
            ready, _, _ = select.select([self.control], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return
            try:
                data = self.control.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                self._dead = True
                return
            message = json.loads(data)
            if message.get("op") == "exited":
                self.exited[message["id"]] = message["status"]
                self.cpu[message["id"]] = message.get("cpu", 0.0)
            else:
                self._replies.append(message)
            deadline = time.monotonic()  # what else has arrived, without waiting again

    def request(self, message: dict, timeout: float = _REPLY_TIMEOUT, fds: list[int] = ()) -> dict | None:
        self.send(message, fds)
        deadline = time.monotonic() + timeout
        while not self._replies and time.monotonic() < deadline and self.alive():
            self.pump(min(0.2, max(0.0, deadline - time.monotonic())))
        return self._replies.pop(0) if self._replies else None

    def alive(self) -> bool:
        return not self._dead and self.proc.poll() is None

    # -- what the grader asks for ------------------------------------------------------- #
    def spawn(self, module: str, argv: list[str], env: dict[str, str], cwd: str, landlock: dict, jail,
              fds: dict[int, int] | None = None, function: str = "main", cwd_on_path: bool = False) -> ForkedProcess:
        """Fork a child running ``module.function()`` in ``jail``, confined by ``landlock``;
        ``fds`` maps the child's descriptor numbers to the grader's descriptors to send."""
        self._next_id += 1
        rid = self._next_id
        self.spawned[rid] = module
        fds = fds or {}
        message = {"op": "spawn", "id": rid, "module": module, "function": function, "argv": argv, "env": env,
                   "cwd": cwd, "landlock": landlock, "fds": list(fds), "cwd_on_path": cwd_on_path}
        jail.adopt(self.host_pid)  # the child is forked into the submission's cgroup ...
        try:
            reply = self.request(message, fds=list(fds.values()))
        finally:
            jail.release(self.host_pid)  # ... and the template leaves it before the submission's code runs
        if not reply or reply.get("op") != "spawned":
            raise TemplateUnavailable(f"the template did not fork {module} ({reply or 'no reply'})")
        return ForkedProcess(self, rid, reply["pid"], [module, *argv])

    def kill_all(self) -> int:
        """SIGKILL every process of the namespace but the template (what a submission left)."""
        reply = self.request({"op": "kill-all"}) if self.alive() else None
        return int(reply.get("count", 0)) if reply else 0

    def close(self) -> None:
        try:
            self.control.close()
        finally:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _template_pid(bwrap_pid: int) -> int:
    """The template's process id outside its PID namespace: bubblewrap's child (the namespace's
    init) has one child, the template."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pid = bwrap_pid
        for _ in range(2):
            children = _children(pid)
            if len(children) != 1:
                break
            pid = children[0]
        else:
            return pid
        time.sleep(0.01)
    raise TemplateUnavailable(f"could not find the template under bubblewrap (pid {bwrap_pid})")


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
