"""Parallel pipeline vs plain sequential nbgrader, on the same submissions, in one run.

    .venv/bin/python benchmarks/autograde.py [--jobs N] [--copies K]

Grades the well-behaved part of the demo cohort (tests/demo_cohort: correct,
untouched, partial and misconception submissions; the hostile ones are left out
because their time limits, not grading speed, would dominate) twice:

* baseline: ``nbgrader autograde <assignment>``, one call per assignment, sequentially,
  in a scratch course folder (what an instructor runs without this repository's tools);
* pipeline: ``python -m graders autograde --jobs N``, timed as a whole: preparing the
  assignments, grading, feedback and the report (the baseline's ``generate_assignment``
  is not timed, and it writes no feedback).

``--copies K`` (default 2) grades a class K times as large: each submission is also handed
in under K - 1 more student ids. A real class has far more than the demo's 9 well-behaved
students (only 4 of whom hand in ps5), and the pipeline's fixed costs, 10-15 s for
starting Python, preparing the assignments, starting workers and writing the report,
weigh less in a larger class: with ``--copies 1`` the Keras group is 4 notebooks and its
ratio mostly measures those fixed costs.

NumPy assignments (ps1-ps4) and the Keras assignment (ps5) are timed separately, and
the speed-up of the pipeline over the baseline is printed for each.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graders.course_config import ensure_alembic_on_path  # noqa: E402

WELL_BEHAVED = ["alice", "bob", "carol", "m01", "m02", "m03", "m04", "m05", "m06"]


def copy_cohort(dest: Path, assignments: list[str], copies: int) -> int:
    count = 0
    for sid in WELL_BEHAVED:
        for aid in assignments:
            src = ROOT / "tests" / "demo_cohort" / sid / aid
            if src.is_dir():
                for k in range(copies):
                    shutil.copytree(src, dest / (sid if k == 0 else f"{sid}-{k + 1}") / aid)
                    count += len(list(src.glob("*.ipynb")))
    return count


def baseline(work: Path, assignments: list[str], copies: int) -> float:
    """Plain nbgrader: generate_assignment, then autograde each assignment, one after the other."""
    course = work / "baseline"
    (course / "submitted").mkdir(parents=True)
    copy_cohort(course / "submitted", assignments, copies)
    (course / "source").symlink_to(ROOT / "solutions")
    common = [f"--CourseDirectory.root={course}", f"--CourseDirectory.db_url=sqlite:///{course / 'gb.db'}",
              "--CourseDirectory.course_id=regularization", "--Execute.timeout=120", "--log-level=ERROR"]
    for aid in assignments:
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", aid, "--force", *common],
                       cwd=course, check=True, capture_output=True)
    start = time.perf_counter()
    for aid in assignments:
        subprocess.run([sys.executable, "-m", "nbgrader", "autograde", aid, "--force", *common],
                       cwd=course, check=True, capture_output=True)
    return time.perf_counter() - start


def pipeline(work: Path, assignments: list[str], jobs: int, copies: int) -> float:
    subs = work / "pipeline-submissions"
    copy_cohort(subs, assignments, copies)
    args = [sys.executable, "-m", "graders", "autograde", "--submissions", str(subs), "--out", str(work / "out"),
            "--db", f"sqlite:///{work / 'pipeline.db'}", "--jobs", str(jobs), "--no-progress"]
    for aid in assignments:
        args += ["--assignment", aid]
    start = time.perf_counter()
    subprocess.run(args, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=(os.cpu_count() or 1) + 2)
    parser.add_argument("--copies", type=int, default=2, help="hand each submission in K times (default 2)")
    args = parser.parse_args()
    ensure_alembic_on_path()
    groups = {"NumPy (ps1-ps4)": ["ps1_penalties", "ps2_dropout", "ps3_early_stopping", "ps4_batchnorm"],
              "Keras (ps5)": ["ps5_keras"]}
    print(f"{os.cpu_count()} cores; pipeline with --jobs {args.jobs}; "
          f"{len(WELL_BEHAVED) * args.copies} students ({args.copies} x the demo's well-behaved ones)")
    rows = []
    for label, assignments in groups.items():
        with tempfile.TemporaryDirectory(prefix="bench-autograde-") as tmp:
            n = copy_cohort(Path(tmp) / "count", assignments, args.copies)
            base = baseline(Path(tmp), assignments, args.copies)
            ours = pipeline(Path(tmp), assignments, args.jobs, args.copies)
        rows.append((label, n, base, ours))
        print(f"{label:16s} {n:3d} notebooks | sequential nbgrader {base:7.1f} s ({base / n:5.1f} s/notebook) | "
              f"pipeline {ours:7.1f} s ({ours / n:5.1f} s/notebook) | speed-up {base / ours:4.2f}x", flush=True)
    n = sum(r[1] for r in rows)
    base = sum(r[2] for r in rows)
    ours = sum(r[3] for r in rows)
    print(f"{'all':16s} {n:3d} notebooks | sequential nbgrader {base:7.1f} s | pipeline {ours:7.1f} s | "
          f"speed-up {base / ours:4.2f}x (target >= 1.8x on 2 cores)")


if __name__ == "__main__":
    main()
