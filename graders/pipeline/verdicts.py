"""Scores from verdicts the notebook cannot forge.

nbgrader scores a graded cell by whether it raised, and the kernel that decides that is the
student's: an input transformer that turns every test cell into ``pass``, or a replaced
``run_check``, would score full marks with no work. So the grader keeps its own record.

* :class:`CheckService` is the submission's hidden-test check server, started by the grader
  (not by the kernel) in a sandbox of its own. The kernel reaches it only through a Unix
  socket, to ask for a check and read the message; the verdicts come back to the grader on the
  server's stdout, a pipe the kernel has no handle on.
* ``SandboxedExecute`` (``preprocessors``) tells the service which graded cell is running
  (:meth:`CheckService.begin` / :meth:`CheckService.end`), so each verdict is tied to the
  notebook, the cell and the check it belongs to.
* :func:`expected_checks` reads, from the instructor's source notebook, which checks each graded
  cell runs and on which names; :func:`judge` then scores a cell only if every one of them
  passed while that cell ran, on the object of that name. Otherwise the cell scores 0 and is
  flagged: ``checks-missing`` (a check never ran, or ran on something else) or
  ``verdict-failed`` (the check failed although the cell raised no error).
"""
from __future__ import annotations

import json
import os
import re
import select
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

RUN_CHECK = re.compile(r"""run_check\(\s*["']([\w:.-]+)["']\s*,\s*([^)]*)\)""")
_CONTROL_GRACE = 30.0  # seconds beyond a check's own timeout before the server counts as hung


@dataclass(frozen=True)
class ExpectedCheck:
    check_id: str
    names: tuple[str, ...]  # what the hidden test passes, e.g. ("early_stopping",)


def expected_checks(source: dict[str, bytes]) -> dict[tuple[str, str], list[ExpectedCheck]]:
    """``(notebook, grade_id) -> checks`` for every graded cell whose hidden tests call ``run_check``."""
    from graders.cells import grade_id, hidden_tests, is_graded_code

    expected: dict[tuple[str, str], list[ExpectedCheck]] = {}
    for name, data in source.items():
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        for cell in nb.cells:
            if not is_graded_code(cell):
                continue
            checks = [ExpectedCheck(cid, tuple(a.strip() for a in args.split(",") if a.strip() and "=" not in a))
                      for cid, args in RUN_CHECK.findall(hidden_tests(cell.source))]
            if checks:
                expected[(name, grade_id(cell))] = checks
    return expected


@dataclass
class Judgement:
    scores_allowed: bool
    reason: str = ""   # "" | "checks-missing" | "verdict-failed"
    message: str = ""


def judge(expected: list[ExpectedCheck], verdicts: list[dict]) -> Judgement:
    """Did every expected check pass, while its cell ran, on the object the hidden test names?"""
    for want in expected:
        mine = [v for v in verdicts if v.get("check_id") == want.check_id]
        if not mine:
            return Judgement(False, "checks-missing", f"its hidden check {want.check_id} never ran")
        failed = [v for v in mine if not v.get("passed")]
        if failed:
            return Judgement(False, "verdict-failed", failed[-1].get("message", "the hidden check failed"))
        if not any(tuple(v.get("received") or ()) == want.names for v in mine):
            got = ", ".join(sorted({"/".join(v.get("received") or ["?"]) for v in mine}))
            return Judgement(False, "checks-missing", f"its hidden check {want.check_id} ran on {got}, "
                                                      f"not on {'/'.join(want.names)} from this cell")
    return Judgement(True)


@dataclass
class CheckService:
    """The check server of one submission (see the module docstring)."""

    proc: subprocess.Popen             # or a warm.ForkedProcess
    socket_path: Path
    check_timeout: float
    to_server: object                   # the server's stdin (control requests) ...
    from_server: object                 # ... and its stdout (replies, verdicts)
    verdicts: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    broken: str = ""
    _cell: tuple[str, str] | None = None

    @classmethod
    def start(cls, run_dir: Path, home: Path, sandbox, jail, env: dict[str, str], check_timeout: float,
              stderr=None, zygote=None) -> "CheckService":
        """Start the server in ``sandbox`` and ``jail``; forked from the warm template ``zygote`` if given."""
        from graders.checks._framework import isolated_command
        from graders.checks._server import LISTEN_FD_ENV

        path = run_dir / "checks.sock"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(path))
            listener.listen(16)
            if zygote is not None:
                (stdin_r, stdin_w), (stdout_r, stdout_w) = os.pipe(), os.pipe()
                try:
                    proc = zygote.spawn("graders.checks._server", [], {**env, LISTEN_FD_ENV: "3"}, str(home),
                                        sandbox.landlock.rules([str(home)]), jail,
                                        fds={0: stdin_r, 1: stdout_w, 3: listener.fileno()}, function="serve_verdicts")
                finally:
                    os.close(stdin_r)
                    os.close(stdout_w)
                return cls(proc, path, check_timeout, os.fdopen(stdin_w, "wb"), os.fdopen(stdout_r, "rb"))
            env = {**env, LISTEN_FD_ENV: str(listener.fileno())}
            cmd = jail.command(sandbox.command(isolated_command("serve_verdicts"), [str(home)], env, str(home)))
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                    pass_fds=[listener.fileno()], cwd=str(home))
        finally:
            listener.close()  # the server has its own copy
        return cls(proc, path, check_timeout, proc.stdin, proc.stdout)

    def _ask(self, message: dict, wait: float) -> dict | None:
        if self.broken:
            return None
        try:
            self.to_server.write(json.dumps(message).encode("utf-8") + b"\n")
            self.to_server.flush()
            ready, _, _ = select.select([self.from_server], [], [], wait)
            line = self.from_server.readline() if ready else b""
        except (OSError, ValueError):
            line = b""
        if not line:
            self.broken = "the check server stopped answering"
            self.proc.kill()
            return None
        return json.loads(line)

    def begin(self, notebook: str, cell: str) -> None:
        self._cell = (notebook, cell)
        self._ask({"op": "begin", "notebook": notebook, "cell": cell}, _CONTROL_GRACE)

    def end(self) -> None:
        reply = self._ask({"op": "end"}, self.check_timeout + _CONTROL_GRACE)
        if self._cell is not None and reply is not None:
            self.verdicts.setdefault(self._cell, []).extend(
                v for v in reply.get("verdicts", []) if (v.get("notebook"), v.get("cell")) == self._cell)
        self._cell = None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.to_server, self.from_server):
            try:
                stream.close()
            except OSError:
                pass


# The service of the submission this worker is grading: the Execute preprocessor that nbgrader
# builds reports cell boundaries to it. A worker grades one submission at a time.
ACTIVE: CheckService | None = None
