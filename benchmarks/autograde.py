"""The grading pipeline against plain nbgrader configured as this course configures it, in one run.

    .venv/bin/python benchmarks/autograde.py [--jobs N] [--numpy-sizes 24 96] [--keras-sizes 8 24]
                                             [--no-defaults] [--no-serial]

For each class size, the same submissions (the demo cohort's well-behaved students, handed
in under as many ids as needed: correct, untouched, partial and misconception notebooks)
are graded three ways, one after the other on an otherwise idle machine:

* **nbgrader, course config**: ``nbgrader autograde <assignment>`` in a scratch course folder
  whose ``nbgrader_config.py`` loads the course's own (``load_subconfig``) and moves only the
  paths: what an instructor of this course runs without the pipeline. This is the baseline
  of the ratios.
* **nbgrader, defaults** (reference only; ``--no-defaults`` skips it): the same with nbgrader's
  default settings (no course configuration), at the smallest class size.
* **pipeline**: ``python -m graders autograde --jobs N`` (default: the CLI's, cores + 1), timed
  as a whole (preparation, the sandboxed grading, feedback for every student, the report), and
  once more with ``--jobs 1`` at the smallest NumPy class size (``--no-serial`` skips it).

Each run reports wall time and **busy CPU-seconds of the whole machine** (``/proc/stat``,
all processes: forked workers, kernels, check servers, sandboxes), per notebook, and the
pipeline's ratios to the baseline: ``speed-up`` = baseline wall / pipeline wall, ``CPU`` =
pipeline CPU per notebook / baseline CPU per notebook (below 1: cheaper than nbgrader).
``generate_assignment`` for the nbgrader runs is not timed.

The NumPy assignment is ps2 (dropout); the Keras one is ps5.
"""
from __future__ import annotations

import argparse
import itertools
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
COHORT = ROOT / "tests" / "demo_cohort"
GROUPS = {"NumPy (ps2)": "ps2_dropout", "Keras (ps5)": "ps5_keras"}


def busy_seconds() -> float:
    """CPU time spent by the whole machine, all cores (user, nice, system, irq, softirq, steal)."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measured(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float]:
    cpu, start = busy_seconds(), time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start, busy_seconds() - cpu


def make_class(dest: Path, assignment: str, size: int) -> int:
    """``size`` submissions of ``assignment``: the demo's students, under fresh ids as needed."""
    sources = [COHORT / sid / assignment for sid in WELL_BEHAVED if (COHORT / sid / assignment).is_dir()]
    for k, src in zip(range(size), itertools.cycle(sources)):
        shutil.copytree(src, dest / f"{src.parent.name}-{k:03d}" / assignment)
    return size


def nbgrader_round(work: Path, assignment: str, size: int, course_config: bool) -> tuple[float, float]:
    course = work / ("nbgrader-course" if course_config else "nbgrader-defaults")
    make_class(course / "submitted", assignment, size)
    (course / "source").symlink_to(ROOT / "solutions")
    config = ["c = get_config()  # noqa: F821"]
    if course_config:
        config.append(f"load_subconfig({str(ROOT / 'nbgrader_config.py')!r})  # noqa: F821")
    config += [f"c.CourseDirectory.root = {str(course)!r}", "c.CourseDirectory.source_directory = 'source'",
               "c.CourseDirectory.release_directory = 'release'", "c.CourseDirectory.submitted_directory = 'submitted'",
               "c.CourseDirectory.autograded_directory = 'autograded'", "c.CourseDirectory.course_id = 'regularization'",
               f"c.CourseDirectory.db_url = 'sqlite:///{course / 'gradebook.db'}'"]
    (course / "nbgrader_config.py").write_text("\n".join(config) + "\n")
    nbgrader = [sys.executable, "-m", "nbgrader"]
    subprocess.run(nbgrader + ["generate_assignment", assignment, "--force"], cwd=course, check=True,
                   capture_output=True)
    return measured(nbgrader + ["autograde", assignment, "--force"], course)


def pipeline_round(work: Path, assignment: str, size: int, jobs: int) -> tuple[float, float]:
    subs = work / "pipeline-submissions"
    make_class(subs, assignment, size)
    return measured([sys.executable, "-m", "graders", "autograde", "--submissions", str(subs), "--out",
                     str(work / "out"), "--db", f"sqlite:///{work / 'pipeline.db'}", "--jobs", str(jobs),
                     "--no-progress", "--assignment", assignment], ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=min(8, (os.cpu_count() or 1) + 1))  # the CLI default
    parser.add_argument("--numpy-sizes", type=int, nargs="+", default=[24, 96])
    parser.add_argument("--keras-sizes", type=int, nargs="+", default=[8, 24])
    parser.add_argument("--no-defaults", action="store_true", help="skip the nbgrader-defaults reference run")
    parser.add_argument("--no-serial", action="store_true", help="skip the pipeline --jobs 1 run")
    args = parser.parse_args()
    ensure_alembic_on_path()
    print(f"{os.cpu_count()} cores; wall s and busy CPU-s of the whole machine; speed-up = nbgrader wall / "
          "pipeline wall; CPU ratio = pipeline CPU-s per notebook / nbgrader's\n")
    print("| notebooks | nbgrader (course config) | pipeline | jobs | speed-up | CPU ratio |")
    print("|---|---|---|---|---|---|")

    def row(label, size, base, ours, jobs):
        print(f"| {size} {label} | {base[0]:.1f} s, {base[1] / size:.2f} CPU-s/nb | {ours[0]:.1f} s, "
              f"{ours[1] / size:.2f} CPU-s/nb | {jobs} | {base[0] / ours[0]:.2f}x | "
              f"{(ours[1] / size) / (base[1] / size):.2f}x |", flush=True)

    references = []
    for label, assignment in GROUPS.items():
        sizes = args.numpy_sizes if assignment != "ps5_keras" else args.keras_sizes
        for size in sizes:
            with tempfile.TemporaryDirectory(prefix="bench-autograde-") as tmp:
                base = nbgrader_round(Path(tmp), assignment, size, course_config=True)
                row(label, size, base, pipeline_round(Path(tmp), assignment, size, args.jobs), args.jobs)
                if not args.no_serial and size == min(sizes) and assignment != "ps5_keras":
                    shutil.rmtree(Path(tmp) / "pipeline-submissions")
                    shutil.rmtree(Path(tmp) / "out")
                    (Path(tmp) / "pipeline.db").unlink()
                    row(label, size, base, pipeline_round(Path(tmp), assignment, size, 1), 1)
                if not args.no_defaults and size == min(sizes):
                    references.append((label, size, nbgrader_round(Path(tmp), assignment, size, course_config=False)))
    for label, size, (wall, cpu) in references:
        print(f"\nReference, not the baseline: nbgrader with its default settings, {size} {label}: "
              f"{wall:.1f} s, {cpu / size:.2f} CPU-s/notebook.", flush=True)


if __name__ == "__main__":
    main()
