"""The warm template (``graders.pipeline.warm``, ``graders.runtime.zygote``): each process forked
from it is as fresh as a cold one, and the grader copes with a template that dies or cannot start.

The sandbox attacks (``test_sandbox_attacks.py``) run under ``warm`` too; these are the
attacks and failures that only a shared template makes possible.
"""
from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import nbformat
import pytest

from pipeline_helpers import ROOT, build_cohort, run_cli, totals

pytestmark = pytest.mark.grading
A = "ps3_early_stopping"

# Appended to the first answer cell of an untouched release. The poison runs first (one worker, students
# in order): whatever it changes in its own process must not reach the next submission's kernel.
POISON = """
import builtins, sys, time, numpy
numpy.sum = lambda *a, **k: 42
numpy.random.seed(0)
builtins.print_hook = "poisoned"
sys.modules["graders"].POISONED = True
print("POISON AT", time.time())
"""
PROBE = """
import builtins, sys, time, numpy
print("PROBE AT", time.time(), "SUM", numpy.sum([1, 2]), "HOOK", hasattr(builtins, "print_hook"),
      "MARK", hasattr(sys.modules.get("graders"), "POISONED"), "RAND", numpy.random.rand())
"""


def _release_with(code: str, dest: Path) -> None:
    nb = nbformat.read(ROOT / "exercises" / A / "early_stopping.ipynb", as_version=4)
    answer = next(c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution"))
    answer.source = answer.source.rstrip() + "\n\n" + code.strip() + "\n"
    dest.mkdir(parents=True)
    nbformat.write(nb, dest / "early_stopping.ipynb")


def _printed(out: Path, student: str) -> str:
    nb = nbformat.read(out / "autograded" / student / A / "early_stopping.ipynb", as_version=4)
    return "\n".join(str(o.get("text", "")) for c in nb.cells for o in c.get("outputs", []))


def _warm_available() -> bool:
    from graders.pipeline.isolation import SandboxUnavailable, choose

    try:
        return choose("warm").name == "warm"
    except SandboxUnavailable:
        return False


needs_warm = pytest.mark.skipif(not _warm_available(), reason="needs both bubblewrap and Landlock")


@needs_warm
def test_a_submission_cannot_change_what_the_next_kernel_starts_with(tmp_path):
    subs = build_cohort(tmp_path / "subs", ["alice"])
    _release_with(POISON, subs / "a_poison" / A)
    for name in ("b_probe", "c_probe"):
        _release_with(PROBE, subs / name / A)
    proc = run_cli(subs, tmp_path / "out", f"sqlite:///{tmp_path / 'x.db'}", "--assignment", A, "--jobs", "1",
                   "--sandbox", "warm")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Sandbox: warm template" in proc.stdout
    out = tmp_path / "out"
    poisoned_at = float(re.search(r"POISON AT ([\d.]+)", _printed(out, "a_poison")).group(1))
    draws = []
    for name in ("b_probe", "c_probe"):
        probe = re.search(r"PROBE AT ([\d.]+) SUM (\S+) HOOK (\S+) MARK (\S+) RAND ([\d.]+)", _printed(out, name))
        assert probe, _printed(out, name)
        at, total, hook, mark, draw = probe.groups()
        assert float(at) > poisoned_at  # the probes really ran after the poison, in the same worker
        assert (total, hook, mark) == ("3", "False", "False")
        draws.append(draw)
    assert draws[0] != draws[1], "two forked kernels share NumPy's global random state"
    assert totals(out)[("alice", A)] == 6.0


@needs_warm
def test_a_template_that_dies_is_started_again(tmp_path):
    from graders.pipeline import task
    from graders.pipeline.model import Limits, Submission
    from graders.pipeline.prepare import prepare_assignments

    prepared = prepare_assignments([A])[A]
    build_cohort(tmp_path, ["alice"])
    files = {p.stem: p.read_bytes() for p in (tmp_path / "alice" / A).glob("*.ipynb")}
    limits = Limits(sandbox="warm")
    first = task.grade_submission(prepared, Submission("alice", A, files), limits)
    template = task._PER_WORKER["zygote"]
    assert first.score == 6.0 and template is not None and template.alive()
    os.kill(template.host_pid, signal.SIGKILL)  # as the OOM killer or an operator might
    template.proc.wait(10)
    second = task.grade_submission(prepared, Submission("alice", A, files), limits)
    assert second.score == 6.0, [str(f) for f in second.flags]
    assert task._PER_WORKER["zygote"] is not template and task._PER_WORKER["zygote"].alive()
    assert template.kill_all() == 0  # a dead template is not asked anything


@needs_warm
def test_a_template_that_cannot_start_leaves_processes_to_start_cold(tmp_path, monkeypatch, capsys):
    from graders.pipeline import task, warm
    from graders.pipeline.model import Limits, Submission
    from graders.pipeline.prepare import prepare_assignments

    prepared = prepare_assignments([A])[A]
    build_cohort(tmp_path, ["alice"])
    files = {p.stem: p.read_bytes() for p in (tmp_path / "alice" / A).glob("*.ipynb")}
    monkeypatch.setattr(warm, "PRELOAD", warm.PRELOAD + ["graders_no_such_module"])
    monkeypatch.setattr(task, "_PER_WORKER", {})
    result = task.grade_submission(prepared, Submission("alice", A, files), Limits(sandbox="warm"))
    assert task._PER_WORKER["zygote"] is None
    assert "no warm template in this worker" in capsys.readouterr().err
    assert result.score == 6.0 and not result.flags  # graded all the same, in cold bubblewrap sandboxes


def test_warm_is_refused_by_name_where_a_mechanism_is_missing(monkeypatch):
    from graders.pipeline import isolation

    monkeypatch.setattr(isolation, "probe_landlock", lambda: (None, "Landlock is not enabled in this kernel"))
    with pytest.raises(isolation.SandboxUnavailable, match="needs both bubblewrap and Landlock(.|\n)*landlock: Landlock"):
        isolation.choose("warm")
