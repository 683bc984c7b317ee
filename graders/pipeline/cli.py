"""``python -m graders``: the instructor's command line.

    python -m graders autograde --submissions DIR --out OUT [--jobs N] [--sandbox auto|warm|bwrap|landlock]
    python -m graders export --format canvas|moodle|csv --roster ROSTER.csv --out FILE  (graders.pipeline.lms_export)
    python -m graders duedates FILE                      the assignments' due dates (graders.pipeline.late)
    python -m graders publish DIR                        the public student repository (graders.authoring.publish)
"""
from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "graders" / "work"
COURSE_DB = f"sqlite:///{WORK / 'gradebook.db'}"


def _parser() -> argparse.ArgumentParser:
    from .similarity import DEFAULT_THRESHOLD, threshold_arg

    p = argparse.ArgumentParser(prog="python -m graders", description=(
        "Grading tools for the regularization course. Submissions are graded by nbgrader's own "
        "autograde, in parallel, and recorded in an nbgrader gradebook."))
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("autograde", help="autograde a folder of submissions", description=(
        "Autograde every submission in DIR (nbgrader layout <student_id>/<assignment>/<notebook>.ipynb, "
        "or a flat LMS download of one assignment with --assignment). Writes OUT/grades.csv, OUT/cells.csv, "
        "OUT/report.html and OUT/feedback/<student>/<assignment>/<notebook>.html."))
    a.add_argument("--submissions", required=True, type=Path, metavar="DIR", help="folder of submissions")
    a.add_argument("--out", required=True, type=Path, metavar="OUT", help="folder for the grades and the report")
    a.add_argument("--assignment", action="append", default=None, metavar="NAME",
                   help="grade only this assignment (repeatable); default: every assignment found in DIR")
    a.add_argument("--jobs", type=int, default=min(8, (os.cpu_count() or 1) + 1),
                   help="parallel workers on this machine (default: cores + 1: one more than the cores keeps "
                        "them busy while a worker waits on its kernel; each worker costs a warm template)")
    a.add_argument("--scheduler", metavar="ADDRESS", help="grade on this Dask scheduler instead of local workers")
    a.add_argument("--db", metavar="URL", default=COURSE_DB,
                   help="gradebook (nbgrader db_url; sqlite:///... or postgresql://...); "
                        "default: the course gradebook in graders/work/")
    a.add_argument("--course-id", default="regularization", help="nbgrader course id (default: %(default)s)")
    a.add_argument("--source", type=Path, default=ROOT / "solutions", help="nbgrader source folder")
    a.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="nbgrader configuration (default: the course's nbgrader_config.py, which plain nbgrader "
                        "and the Formgrader use too)")
    a.add_argument("--cell-timeout", type=int, default=None,
                   help="seconds per cell (default: Execute.timeout in the nbgrader configuration)")
    a.add_argument("--submission-timeout", type=int, default=900,
                   help="hard limit in seconds for one submission (local workers; default: %(default)s)")
    a.add_argument("--memory-limit", type=float, default=8.0, help="GiB: address space of each process, and resident memory of the whole submission where a cgroup can "
                        "be made (default: 8)")
    a.add_argument("--sandbox", choices=["auto", "warm", "bwrap", "landlock"], default="auto",
                   help="operating-system sandbox for student code: warm (a bubblewrap sandbox per worker whose "
                        "template forks each process, each confined by Landlock), bubblewrap (namespaces, a cold "
                        "start per process), Landlock (cold), or auto (warm where bwrap and Landlock both work, "
                        "else bwrap, else Landlock); grading is refused if none works (default: auto)")
    a.add_argument("--no-sandbox", action="store_true",
                   help="DANGEROUS: run student code unconfined, as you (only for trusted notebooks)")
    a.add_argument("--flat-regex", default=None,
                   help="named regex for flat LMS file names (nbgrader FileNameCollectorPlugin.named_regexp)")
    a.add_argument("--no-progress", action="store_true", help="no progress bar")
    a.add_argument("--similarity-threshold", type=threshold_arg, default=DEFAULT_THRESHOLD, metavar="T",
                   help="list in report.html, for a human to look at, the pairs of submissions of one assignment "
                        "whose answer code is alike: when the share of one student's code found in the other's "
                        "reaches T (0 < T <= 1; names, comments and layout do not count, code the release gave is "
                        "left out). Changes no grade. 0: do not compare (default: %(default)s)")
    a.add_argument("--extensions", type=Path, default=None, metavar="FILE",
                   help="per-student extensions CSV for the late policy (default: LatePolicy.extensions_file in the "
                        "nbgrader configuration, graders/extensions.csv)")
    pub = sub.add_parser("publish", help="write the public student repository (release, environment, built book)",
                         description=("Write the student-facing repository into DIR (keeping DIR/.git): the release "
                                      "exercises/ with its data files, the student environment.yml, the built book "
                                      "in docs/ and the chapters as executed notebooks in chapters/. Needs `make "
                                      "book` and an up-to-date `make exercises`; checks that nothing private is "
                                      "in what it wrote."))
    pub.add_argument("dest", type=Path, metavar="DIR", help="the folder (e.g. a clone of the public repository)")
    d = sub.add_parser("duedates", help="set the assignments' due dates in the gradebook", description=(
        "Set each assignment's due date in the nbgrader gradebook from a CSV with the columns assignment,duedate "
        "(e.g. ps1_penalties,2026-10-05 17:00:00 Europe/Berlin; no zone: UTC). The late policy "
        "(nbgrader_config.py, LatePolicy) counts lateness from them. Nothing is written if a row is wrong."))
    d.add_argument("file", type=Path, metavar="FILE", help="CSV of due dates")
    d.add_argument("--db", metavar="URL", default=COURSE_DB, help="gradebook (default: the course gradebook)")
    d.add_argument("--course-id", default="regularization", help="nbgrader course id (default: %(default)s)")
    d.add_argument("--source", type=Path, default=ROOT / "solutions", help="nbgrader source folder")
    _add_export_parser(sub)
    return p


def _add_export_parser(sub) -> None:
    import textwrap

    from .lms_export import FORMATS, MOODLE_KEYS, ROSTER_COLUMNS

    roster = "\n".join(f"  {column:13s} {meaning}" for column, meaning in ROSTER_COLUMNS.items())
    # Raw text keeps the roster table's lines; the prose around it is wrapped here instead.
    e = sub.add_parser("export", help="write the gradebook's grades as a Canvas, Moodle or plain CSV file",
                       formatter_class=argparse.RawDescriptionHelpFormatter, description=textwrap.fill(
                           "Export the final score (raw score minus late penalty) of every student and assignment "
                           "of the gradebook, keyed by the LMS's ids from a roster, as the CSV file that Canvas's "
                           "or Moodle's grade import reads (--format csv: raw, penalty, final and points per "
                           "assignment). Gradebook students with a submission who cannot be uploaded (not in the "
                           "roster, or without the id the format needs) stop the export with exit code 1 and no "
                           "file, unless --allow-missing; bad inputs exit with 2.", 100),
                       epilog=f"roster columns (CSV with a header row; only student_id is required):\n{roster}\n"
                              + textwrap.fill("--format canvas needs one of canvas_id, sis_user_id, sis_login_id, "
                                              "name per row; --format moodle needs email (or id_number with "
                                              "--moodle-key idnumber).", 100))
    e.add_argument("--format", required=True, choices=FORMATS, help="the file's layout")
    e.add_argument("--roster", required=True, type=Path, metavar="ROSTER.csv",
                   help="CSV mapping nbgrader student ids to LMS ids (columns below)")
    e.add_argument("--out", required=True, type=Path, metavar="FILE", help="the CSV file to write")
    e.add_argument("--db", metavar="URL", default=COURSE_DB,
                   help="gradebook (sqlite:///... or postgresql://...); default: the course gradebook in graders/work/")
    e.add_argument("--course-id", default="regularization", help="nbgrader course id (default: %(default)s)")
    e.add_argument("--assignment", action="append", default=None, metavar="NAME",
                   help="export only this assignment (repeatable); default: every assignment of the gradebook")
    e.add_argument("--moodle-key", choices=sorted(MOODLE_KEYS), default="email",
                   help="how Moodle finds the user: email (roster column email) or idnumber (id_number); "
                        "default: %(default)s")
    e.add_argument("--canvas-assignment-id", action="append", default=None, metavar="NAME=ID",
                   help="fill the existing Canvas assignment with this id (repeatable); without it Canvas matches "
                        "the column by title, or creates a new assignment")
    e.add_argument("--allow-missing", action="store_true",
                   help="write the file without the students who cannot be uploaded (they are still listed)")


def main(argv=None) -> int:
    from graders.course_config import ensure_alembic_on_path

    args = _parser().parse_args(argv)
    ensure_alembic_on_path()
    commands = {"autograde": autograde, "export": export, "duedates": duedates, "publish": publish}
    return commands[args.command](args)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def publish(args) -> int:
    from graders.authoring.publish import PublishError, publish as write

    try:
        files = write(args.dest)
    except PublishError as exc:
        return _fail(str(exc))
    print(f"Published {len(files)} files to {args.dest.resolve()}: exercises/, docs/ (the book), chapters/, "
          "environment.yml, README.md.")
    return 0


def duedates(args) -> int:
    from nbgrader.api import Gradebook

    from graders.course_config import assignments

    from .late import ExtensionsError, read_due_dates

    try:
        due = read_due_dates(args.file, assignments(args.source))
    except ExtensionsError as exc:
        return _fail(str(exc))
    with Gradebook(args.db, course_id=args.course_id) as gb:
        for name, when in sorted(due.items()):
            gb.update_or_create_assignment(name, duedate=when)
            print(f"{name}: due {when:%Y-%m-%d %H:%M:%S} UTC")
    return 0


def export(args) -> int:
    from .lms_export import ExportError, run

    try:
        return run(args)
    except ExportError as exc:
        return _fail(str(exc))


def autograde(args) -> int:
    from graders.course_config import assignments

    from .collect import is_flat

    start = time.perf_counter()
    if not args.submissions.is_dir():
        return _fail(f"Expected --submissions to be a folder. Received: {args.submissions}")
    if args.jobs < 1:
        return _fail(f"Expected --jobs >= 1. Received: {args.jobs}")
    known = assignments(args.source)
    flat = is_flat(args.submissions)
    if flat and (not args.assignment or len(args.assignment) != 1):
        return _fail("a flat folder of notebooks holds one assignment: name it with --assignment")
    if args.assignment:
        wanted = args.assignment
    else:
        found = {a.name for s in args.submissions.iterdir() if s.is_dir() for a in s.iterdir() if a.is_dir()}
        wanted = sorted(found & set(known))
    unknown = [a for a in wanted if a not in known]
    if unknown:
        return _fail(f"Expected assignments from {args.source} ({', '.join(known)}). Received: {', '.join(unknown)}")
    if not wanted:
        return _fail(f"no submissions of any known assignment ({', '.join(known)}) in {args.submissions}")
    from .isolation import SandboxUnavailable, choose

    try:
        sandbox = choose("none" if args.no_sandbox else args.sandbox)
    except SandboxUnavailable as exc:
        return _fail(str(exc))
    if args.no_sandbox:
        print("WARNING: --no-sandbox: student code runs unconfined, as you, with your files, processes and "
              "network in reach. Use it only for trusted notebooks.", file=sys.stderr, flush=True)
    print(f"Sandbox: {sandbox.description}.", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "logs").mkdir(exist_ok=True)
    pool = None
    if not args.scheduler:  # the workers (and their warm templates) start while the assignments are prepared
        from .pool import LocalPool

        pool = LocalPool(min(args.jobs, _handed_in(args.submissions, wanted, flat)), args.out / "logs",
                         _warm_hint(sandbox, args.source, wanted))
    try:
        return _grade(args, sandbox, wanted, flat, pool, start)
    finally:
        if pool is not None:
            pool.close()


def _handed_in(folder: Path, wanted: list[str], flat: bool) -> int:
    """How many submissions there are at most (before they are collected): workers to start."""
    if flat:
        return max(1, sum(1 for p in folder.iterdir() if p.is_file()))
    return max(1, sum(1 for s in folder.iterdir() if s.is_dir() for a in wanted if (s / a).is_dir()))


def _warm_hint(sandbox, source: Path, wanted: list[str]):
    """What the workers' warm templates should import for the first assignment graded (tasks run in
    assignment order), or None if the sandbox is not warm."""
    if sandbox.name != "warm":
        return None
    from .warm import preload_for

    first = sorted(wanted)[0]
    return sandbox.name, preload_for({p.stem: p.read_bytes() for p in sorted((source / first).glob("*.ipynb"))})


def _grade(args, sandbox, wanted: list[str], flat: bool, pool, start: float) -> int:
    from nbgrader.api import Gradebook

    from .collect import DEFAULT_FLAT_REGEX, collect_flat, collect_nbgrader_layout
    from .model import Limits
    from .prepare import prepare_assignments
    from .record import record
    from .report import write_cells_csv, write_grades_csv, write_report_html

    print(f"Preparing {len(wanted)} assignment(s) with nbgrader generate_assignment ...", flush=True)
    prepared = time.perf_counter()
    try:
        prepared_by_id = prepare_assignments(wanted, args.source, args.course_id, master_db_url=args.db, config_file=args.config)
    except FileNotFoundError as exc:
        return _fail(str(exc))
    print(f"Prepared in {time.perf_counter() - prepared:.1f} s.", flush=True)
    names = {aid: sorted(c.release) for aid, c in prepared_by_id.items()}
    if flat:
        collected = collect_flat(args.submissions, wanted[0], names[wanted[0]], args.flat_regex or DEFAULT_FLAT_REGEX)
    else:
        collected = collect_nbgrader_layout(args.submissions, names)
    for message in collected.rejected:
        print(f"rejected: {message}", file=sys.stderr)
    # One assignment after the other: a worker's warm template is made for one assignment's imports.
    tasks = sorted(collected.submissions, key=lambda sub: (sub.assignment, sub.student_id))
    if not tasks:
        return _fail(f"no gradable submissions in {args.submissions}")

    late = _late_policy(args, next(iter(prepared_by_id.values())).config)
    if isinstance(late, str):
        return _fail(late)
    limits = Limits(cell_timeout=args.cell_timeout, memory_bytes=int(args.memory_limit * 1024**3),
                    submission_timeout=args.submission_timeout, sandbox=sandbox.name)
    if args.scheduler:
        from .dask_runner import run_dask

        stream = run_dask(args.scheduler, tasks, prepared_by_id, limits)
        where = f"Dask scheduler {args.scheduler}"
    else:
        stream = pool.run(tasks, prepared_by_id, limits)
        where = f"{len(pool.slots)} local worker(s)"
    print(f"Grading {len(tasks)} submission(s) of {len({t.student_id for t in tasks})} student(s) on {where}.",
          flush=True)

    from tqdm import tqdm

    # With the course gradebook, autograded notebooks go where nbgrader's Formgrader looks for them.
    autograded_dir = WORK / "autograded" if args.db == COURSE_DB else args.out / "autograded"
    results = []
    with Gradebook(args.db, course_id=args.course_id) as gb, \
            tqdm(total=len(tasks), unit="submission", disable=args.no_progress, file=sys.stdout) as bar:
        for result in stream:
            record(gb, result, autograded_dir, args.out / "feedback", late=late)
            results.append(result)
            bar.set_postfix_str(f"{result.student_id}/{result.assignment}", refresh=False)
            bar.update()

    write_cells_csv(args.out / "cells.csv", results)
    write_grades_csv(args.out / "grades.csv", args.db, args.course_id, wanted, sorted({r.student_id for r in results}))
    similar = []
    if args.similarity_threshold:  # a flag for the report only: grades are recorded above, and stay as they are
        from .similarity import similar_pairs

        similar = similar_pairs(collected.submissions, {aid: prepared_by_id[aid].release for aid in wanted},
                                args.similarity_threshold)
    seconds = time.perf_counter() - start
    write_report_html(args.out / "report.html", results, collected.rejected, seconds, collected.absent,
                      sandbox=sandbox.description, similar=similar, similarity_threshold=args.similarity_threshold)
    _summary(results, collected.rejected, seconds, args.out, collected.absent)
    print(f"Similar pairs: {len(similar)} (see report)" if args.similarity_threshold
          else "Similar pairs: not checked (--similarity-threshold 0)")
    return 0


def _late_policy(args, config):
    """The configured late policy as ``record`` applies it, or an error message (checked before grading)."""
    from .late import ExtensionsError, read_extensions
    from .record import late_penalties

    if args.extensions is not None:
        if not args.extensions.is_file():
            return f"Expected --extensions to be a CSV file. Received: {args.extensions} (no such file)"
        config = copy.deepcopy(config)
        config.LatePolicy.extensions_file = str(args.extensions.resolve())
    try:
        if config.LatePolicy.get("extensions_file"):
            read_extensions(config.LatePolicy.extensions_file)
        return late_penalties(config)
    except (ExtensionsError, ValueError) as exc:  # ValueError: a LatePolicy number out of range
        return str(exc)


def _summary(results, rejected, seconds, out: Path, absent=()) -> None:
    print()
    print(f"Graded {len(results)} submission(s) in {seconds:.1f} s.")
    by_assignment = {}
    for r in results:
        by_assignment.setdefault(r.assignment, []).append(r)
    for aid, rs in sorted(by_assignment.items()):
        mean = sum(r.score for r in rs) / len(rs)
        print(f"  {aid:20s} {len(rs):4d} submissions, mean {mean:5.1f} / {rs[0].max_score:g}, "
              f"{sum(1 for r in rs if r.flags)} flagged")
    reasons = Counter(f.reason for r in results for f in r.flags)
    if reasons:
        print("Flags: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
    late = [r for r in results if r.seconds_late > 0]
    if late:
        print(f"Late: {len(late)} submission(s), {sum(r.late_penalty for r in late):g} points deducted by the late "
              "policy (see report)")
    if rejected:
        print(f"Rejected, not graded (see report): {len(rejected)}")
    if absent:
        print(f"No submission: {len(absent)} (student, assignment) pairs (see report)")
    print(f"Report:   {out / 'report.html'}")
    print(f"Grades:   {out / 'grades.csv'}  (per cell: {out / 'cells.csv'})")
    print(f"Feedback: {out / 'feedback'}")
