"""`python -m graders autograde` end to end, with the real nbgrader, on a cohort with every hostile case.

One batch of ps1 submissions is graded once (module fixture) and inspected from
several angles: scores, flags, the gradebook, feedback, the report. Further tests
run small batches for idempotence, Dask, PostgreSQL and a flat LMS download.
"""
from __future__ import annotations

import re

import nbformat
import pytest

from pipeline_helpers import ROOT, build_cohort, read_cells, read_grades, run_cli, totals

pytestmark = pytest.mark.grading
A = "ps1_penalties"
HOSTILE = ["h_loop", "h_memory", "h_exit", "h_print", "h_badjson", "h_missing", "h_deleted", "h_edited",
           "h_retyped", "h_duplicated", "h_inserted", "h_silenced", "h_monkeypatch", "h_reference", "h_reader"]
# student -> (expected flag reason or None, "full" | "zero")
EXPECTED = {
    "alice": (None, "full"), "bob": (None, "zero"),
    "h_loop": ("timeout", "full"),          # the endless cell is interrupted; the answers stand
    "h_memory": ("memory", "full"),         # the 20 GB allocation fails; nothing else does
    "h_exit": ("error", "zero"),            # os._exit kills the kernel: nothing after it ran
    "h_print": ("output-limit", "full"),
    "h_badjson": ("invalid", "zero"),
    "h_missing": ("missing", "zero"),
    "h_deleted": ("tampering", "full"),     # the deleted test cell is restored and still passes
    "h_edited": ("tampering", "zero"),      # tests replaced by `pass` are restored: wrong answers fail
    "h_retyped": ("tampering", "full"),
    "h_duplicated": ("tampering", "full"),  # copy-pasted test cell: graded once, batch not broken
    "h_inserted": (None, "full"),
    "h_silenced": (None, "zero"),           # a silenced traceback does not turn failures into passes
    "h_monkeypatch": (None, "zero"),        # np.allclose = lambda ...: True changes nothing in the checks
    "h_reference": ("reference", "zero"),   # submitting graders' own functions scores 0, flagged
    "h_reader": ("forbidden-file", "full"),
}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    from cohort import UNSAFE_ID

    tmp = tmp_path_factory.mktemp("pipeline")
    subs = build_cohort(tmp / "submissions", ["alice", "bob", UNSAFE_ID] + HOSTILE)
    out, db = tmp / "out", f"sqlite:///{tmp / 'gradebook.db'}"
    proc = run_cli(subs, out, db, "--assignment", A, "--jobs", "4", "--cell-timeout", "40")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dict(tmp=tmp, subs=subs, out=out, db=db, proc=proc)


def max_score():
    from graders.cells import is_graded

    nb = nbformat.read(ROOT / "exercises" / A / "penalties.ipynb", as_version=4)
    return sum(float(c.metadata.nbgrader.get("points", 0)) for c in nb.cells if is_graded(c))


def test_every_student_is_graded_and_the_report_is_written(batch):
    out = batch["out"]
    assert {s for s, _ in totals(out)} == set(EXPECTED)
    assert (out / "report.html").exists() and (out / "grades.csv").exists()
    assert "Report:" in batch["proc"].stdout and str(out / "report.html") in batch["proc"].stdout


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_scores_and_flags(batch, student):
    reason, score = EXPECTED[student]
    total = totals(batch["out"])[(student, A)]
    assert total == (max_score() if score == "full" else 0.0), (student, total)
    html = (batch["out"] / "report.html").read_text()
    flagged_rows = re.findall(rf"<tr><td>{student}</td><td>{A}</td><td>([a-z-]+)</td>", html)
    if reason is None:
        assert not flagged_rows, flagged_rows
    else:
        assert reason in flagged_rows, (student, flagged_rows)


def test_failures_say_why(batch):
    cells = {(r["student_id"], r["grade_id"]): r["message"] for r in read_cells(batch["out"])}
    assert "reference implementation" in cells[("h_reference", "l1_penalty_values")]
    assert "not implemented" in cells[("bob", "l1_penalty_values")].lower() or \
        "NotImplementedError" in cells[("bob", "l1_penalty_values")]
    assert "not a readable notebook" in cells[("h_badjson", "l1_penalty_values")]
    assert "kernel died" in cells[("h_exit", "l1_penalty_values")]


def test_unsafe_student_id_is_rejected_by_name(batch):
    from cohort import UNSAFE_ID

    assert UNSAFE_ID in batch["proc"].stderr and "Expected a student id" in batch["proc"].stderr
    assert UNSAFE_ID not in {r["student_id"] for r in read_grades(batch["out"])}


def test_gradebook_holds_the_same_scores_and_flags(batch):
    from nbgrader.api import Gradebook

    expected = totals(batch["out"])
    with Gradebook(batch["db"], course_id="regularization") as gb:
        subs = gb.assignment_submissions(A)
        assert len(subs) == len(EXPECTED)
        for sub in subs:
            assert sub.score == pytest.approx(expected[(sub.student.id, A)])
            flagged = any(nb.flagged for nb in sub.notebooks)
            assert flagged == (EXPECTED[sub.student.id][0] is not None), sub.student.id
    grades = {r["student_id"]: float(r["score"]) for r in read_grades(batch["out"])}
    assert grades == {s: v for (s, _), v in expected.items()}
    assert list(read_grades(batch["out"])[0]) == ["assignment", "duedate", "timestamp", "student_id", "last_name",
                                                    "first_name", "email", "raw_score", "late_submission_penalty",
                                                    "score", "max_score"]


def test_feedback_never_shows_hidden_tests(batch):
    from graders.cells import BEGIN_HIDDEN, END_HIDDEN, regions

    source = nbformat.read(ROOT / "solutions" / A / "penalties.ipynb", as_version=4)
    hidden = {ln.strip() for c in source.cells for r in regions(c.source, BEGIN_HIDDEN, END_HIDDEN) for ln in r
              if len(ln.strip()) > 12}
    assert hidden
    pages = sorted((batch["out"] / "feedback").rglob("*.html"))
    assert len(pages) >= 10
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "BEGIN HIDDEN TESTS" not in text
        leaked = [h for h in hidden if h in text]
        assert not leaked, (page, leaked[:3])


def test_report_has_histogram_questions_and_flags(batch):
    html = (batch["out"] / "report.html").read_text()
    assert "<svg" in html and "aria-label='Histogram of" in html and "<rect" in html
    assert "discrimination" in html.lower() and "l1_penalty_values" in html
    assert "h_exit" in html and "Rejected" in html


def test_a_rerun_is_idempotent(batch, tmp_path):
    """Grading the same submissions again into the same gradebook: same grades, no new rows."""
    from nbgrader.api import Gradebook

    again = ["alice", "bob", "h_duplicated"]
    subs = build_cohort(tmp_path / "subs", again)
    proc = run_cli(subs, tmp_path / "again", batch["db"], "--assignment", A, "--jobs", "3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    first = {(r["student_id"], r["grade_id"]): r["score"] for r in read_cells(batch["out"]) if r["student_id"] in again}
    second = {(r["student_id"], r["grade_id"]): r["score"] for r in read_cells(tmp_path / "again")}
    assert first == second
    with Gradebook(batch["db"], course_id="regularization") as gb:
        assert len(gb.assignment_submissions(A)) == len(EXPECTED)
        assert len(gb.students) == len(EXPECTED)


def test_dask_cluster_with_a_postgresql_gradebook(batch, tmp_path):
    """The same grading task on a dask.distributed cluster, recorded in a real PostgreSQL gradebook."""
    distributed = pytest.importorskip("distributed")
    from nbgrader.api import Gradebook

    from postgres_server import pg_bin, postgres_server

    if pg_bin() is None:
        pytest.fail("PostgreSQL is not installed: run `make system-deps`")
    students = ["alice", "bob", "h_inserted"]
    subs = build_cohort(tmp_path / "subs", students)
    with postgres_server() as url, distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                                            dashboard_address=None) as cluster:
        proc = run_cli(subs, tmp_path / "out", url, "--assignment", A, "--scheduler", cluster.scheduler_address)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        with Gradebook(url, course_id="regularization") as gb:
            in_postgres = {s.student.id: s.score for s in gb.assignment_submissions(A)}
    assert "Dask scheduler" in proc.stdout
    local = totals(batch["out"])
    assert totals(tmp_path / "out") == {(s, A): local[(s, A)] for s in students}
    assert in_postgres == {s: local[(s, A)] for s in students}


def test_flat_lms_download(tmp_path):
    subs = build_cohort(tmp_path / "subs", ["alice", "bob"])
    flat = tmp_path / "flat"
    flat.mkdir()
    for sid in ("alice", "bob"):
        src = subs / sid / A / "penalties.ipynb"
        (flat / f"{A}_{sid}_attempt_2026-11-20-10-00-00_penalties.ipynb").write_bytes(src.read_bytes())
    (flat / "notes.ipynb").write_text("{}")  # does not match the pattern: reported, not graded
    proc = run_cli(flat, tmp_path / "out", f"sqlite:///{tmp_path / 'f.db'}", "--assignment", A, "--jobs", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert totals(tmp_path / "out") == {("alice", A): max_score(), ("bob", A): 0.0}
    assert "notes.ipynb" in proc.stderr


def test_bad_arguments_fail_with_a_message(tmp_path):
    proc = run_cli(tmp_path / "nowhere", tmp_path / "out", f"sqlite:///{tmp_path / 'x.db'}")
    assert proc.returncode == 2 and "Expected --submissions to be a folder" in proc.stderr
    (tmp_path / "subs").mkdir()
    proc = run_cli(tmp_path / "subs", tmp_path / "out", f"sqlite:///{tmp_path / 'x.db'}", "--assignment", "ps9")
    assert proc.returncode == 2 and "ps9" in proc.stderr


def test_the_empty_gradebook_is_the_one_nbgrader_makes(tmp_path):
    """course.empty_gradebook skips nbgrader's `alembic heads` subprocess; the result must not differ."""
    import sqlite3

    from nbgrader.api import Gradebook

    from graders.course_config import ensure_alembic_on_path
    from graders.pipeline.prepare import empty_gradebook

    ensure_alembic_on_path()
    ours = tmp_path / "ours.db"
    ours.write_bytes(empty_gradebook("regularization"))
    theirs = tmp_path / "theirs.db"
    with Gradebook(f"sqlite:///{theirs}", course_id="regularization"):
        pass

    def contents(path):
        with sqlite3.connect(path) as db:
            schema = sorted(db.execute("SELECT type, name, sql FROM sqlite_master").fetchall(), key=str)
            version = db.execute("SELECT version_num FROM alembic_version").fetchall()
            courses = db.execute("SELECT id FROM course").fetchall()
        return schema, version, courses

    assert contents(ours) == contents(theirs)
    assert contents(ours)[1] and contents(ours)[2] == [("regularization",)]


def test_the_pipeline_obeys_the_course_nbgrader_config(tmp_path):
    """One configuration: a setting changed in the nbgrader configuration reaches the pipeline.

    A notebook with a cell that sleeps 8 s is graded twice: with the course's configuration
    (Execute.timeout 120 s) nothing is interrupted; with a copy that only lowers
    Execute.timeout to 3 s, that cell is interrupted and flagged.
    """
    subs = build_cohort(tmp_path / "subs", ["alice"])
    path = subs / "alice" / "ps3_early_stopping" / "early_stopping.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import time\ntime.sleep(8)"))
    nbformat.write(nb, path)
    (tmp_path / "nbgrader_config.py").write_text(
        f"c = get_config()  # noqa: F821\nload_subconfig({str(ROOT / 'nbgrader_config.py')!r})\nc.Execute.timeout = 3\n")
    runs = {}
    for label, extra in (("course", []), ("lowered", ["--config", str(tmp_path / "nbgrader_config.py")])):
        out = tmp_path / label
        proc = run_cli(subs, out, f"sqlite:///{tmp_path / f'{label}.db'}", "--assignment", "ps3_early_stopping",
                       *extra)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        runs[label] = (out / "report.html").read_text()
    assert "<td>timeout</td>" not in runs["course"]
    assert "<td>timeout</td>" in runs["lowered"]


def test_a_missing_config_file_is_reported(tmp_path):
    subs = build_cohort(tmp_path / "subs", ["alice"])
    proc = run_cli(subs, tmp_path / "out", f"sqlite:///{tmp_path / 'x.db'}", "--assignment", "ps3_early_stopping",
                   "--config", str(tmp_path / "nope.py"))
    assert proc.returncode == 2 and "Expected an nbgrader configuration file" in proc.stderr
