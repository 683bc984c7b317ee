"""Where one submission's CPU goes, and what each change to the pipeline saved, in one run.

    .venv/bin/python benchmarks/submission_profile.py [--assignment ps2_dropout] [--rounds 1]

Grades the demo cohort's well-behaved submissions of one assignment (``rounds`` times each),
one after the other in one grading process, as a worker does, under each configuration below,
after one untimed submission (a worker's one-time costs: its template, its caches):

* **cold**: ``--sandbox bwrap``, nbconvert's ``HTMLExporter``: every kernel and check
  server a new ``python`` in a new bubblewrap sandbox, feedback templates compiled and the
  page parsed again per student (the pipeline before the warm template);
* **warm**: ``--sandbox warm``: kernels and check servers forked from the worker's template;
* **warm + feedback exporter**: and ``graders.pipeline.feedback.FeedbackHTMLExporter`` (what
  ``nbgrader_config.py`` configures): what the pipeline runs now.

Changes that apply to every configuration (workers that start while the assignments are
prepared, ``gc.freeze``, release notebooks parsed once, no rfc3987 grammars) are measured by
``benchmarks/autograde.py`` as a whole, not here.

Per submission it prints busy CPU-seconds of the whole machine (``/proc/stat``), the grading
process's own CPU (task folder and gradebook copy, sanitizing and collecting; nbgrader's
autograde; the cell-by-cell execution it drives; feedback), recording into the course gradebook,
and the rest: the sandboxed processes (kernel, which includes its start and the notebook's
cells, and check server with its checks; split where the template reports them).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

CONFIGS = {
    "cold": ("bwrap", "nbconvert.exporters.HTMLExporter"),
    "warm": ("warm", "nbconvert.exporters.HTMLExporter"),
    "warm + feedback exporter": ("warm", None),  # None: as nbgrader_config.py says
}


def measure(assignment: str, sandbox: str, exporter: str | None, rounds: int) -> dict:
    """Run in a fresh process per configuration (a worker's caches are per process)."""
    import tempfile

    from autograde import COHORT, WELL_BEHAVED, busy_seconds
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI

    from graders.pipeline import preprocessors, task
    from graders.pipeline.model import Limits, Submission
    from graders.pipeline.prepare import prepare_assignments
    from graders.pipeline.record import record

    tmp = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    db = f"sqlite:///{tmp / 'gradebook.db'}"
    prepared = prepare_assignments([assignment], master_db_url=db)[assignment]
    if exporter:
        prepared.config.GenerateFeedback.exporter_class = exporter
    subs = [Submission(s, assignment, {p.stem: p.read_bytes() for p in (COHORT / s / assignment).glob("*.ipynb")})
            for s in WELL_BEHAVED if (COHORT / s / assignment).is_dir()] * rounds
    own = {"autograde": 0.0, "execute": 0.0, "feedback": 0.0}

    def timed(owner, name, key):
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            start = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                own[key] += time.process_time() - start
        setattr(owner, name, wrapper)

    timed(NbGraderAPI, "autograde", "autograde")
    timed(NbGraderAPI, "generate_feedback", "feedback")
    timed(preprocessors.SandboxedExecute, "preprocess", "execute")
    limits = Limits(sandbox=sandbox)
    task.grade_submission(prepared, subs[0], limits)  # the worker's one-time costs, not timed
    own.update({k: 0.0 for k in own})
    template = task._PER_WORKER.get("zygote")
    spawned_before = set(template.cpu) if template else set()
    busy, wall, mine = busy_seconds(), time.perf_counter(), time.process_time()
    results = [task.grade_submission(prepared, sub, limits) for sub in subs]
    graded_busy, graded_mine = busy_seconds() - busy, time.process_time() - mine
    wall = time.perf_counter() - wall
    recording = time.process_time()
    with Gradebook(db, course_id=prepared.course_id) as gb:
        for result in results:
            record(gb, result, tmp / "autograded", tmp / "feedback")
    recording = time.process_time() - recording
    n = len(subs)
    by_module = {}
    if template:
        for rid, cpu in template.cpu.items():
            if rid not in spawned_before:
                by_module[template.spawned[rid]] = by_module.get(template.spawned[rid], 0.0) + cpu
    nbgrader = own["autograde"] - own["execute"]
    return {"n": n, "busy": (graded_busy + recording) / n, "wall": wall / n,
            "setup": (graded_mine - own["autograde"] - own["feedback"]) / n, "nbgrader": nbgrader / n,
            "execute": own["execute"] / n, "feedback": own["feedback"] / n, "record": recording / n,
            "sandboxed": (graded_busy - graded_mine) / n,
            "kernel": by_module.get("graders.pipeline.kernel", float("nan")) / n,
            "checks": by_module.get("graders.checks._server", float("nan")) / n,
            "score": sum(r.score for r in results)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="ps2_dropout")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        sandbox, exporter = CONFIGS[args.one]
        print(json.dumps(measure(args.assignment, sandbox, exporter, args.rounds)))
        return 0
    rows = {}
    for name in CONFIGS:
        proc = subprocess.run([sys.executable, __file__, "--assignment", args.assignment, "--rounds", str(args.rounds),
                               "--one", name], capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        rows[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    base = rows["cold"]
    print(f"{args.assignment}: {base['n']} submissions per configuration, one grading process, CPU-seconds per "
          "submission\n")
    print("| configuration | busy CPU-s | vs cold | wall s | grader: task folder, sanitize, collect | grader: nbgrader "
          "autograde | grader: cell execution | grader: feedback | recording | sandboxed processes "
          "(kernel + check server) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        split = "" if r["kernel"] != r["kernel"] else f" ({r['kernel']:.2f} + {r['checks']:.2f})"
        print(f"| {name} | {r['busy']:.2f} | {r['busy'] / base['busy']:.2f}x | {r['wall']:.2f} | {r['setup']:.2f} | "
              f"{r['nbgrader']:.2f} | {r['execute']:.2f} | {r['feedback']:.2f} | {r['record']:.2f} | "
              f"{r['sandboxed']:.2f}{split} |")
    if len({r["score"] for r in rows.values()}) != 1:
        print("\nThe configurations gave different scores: a configuration changed grading.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
