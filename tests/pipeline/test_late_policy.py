"""The late policy (graders/pipeline/late.py): a percentage per started day, a cap, a grace period and
per-student extensions, applied by plain nbgrader and by ``python -m graders autograde`` alike.

The submissions are one correct ps3 notebook handed in at the times of ``TIMES`` against one due
date (2026-10-05 17:00 UTC), under the policy nbgrader_config.py sets: 10 % per started day, at most
50 %, 15 minutes' grace.
"""
from __future__ import annotations

import doctest
import html
import subprocess
import sys
from datetime import timedelta

import nbformat
import pytest

from nbgrader_course import Course, filled_release, read, source_notebook
from pipeline_helpers import ROOT, read_grades, run_cli

A, NB = "ps3_early_stopping", "early_stopping"
DUE = "2026-10-05 17:00:00 UTC"
EXTENSIONS = "student_id,assignment,days,hours\next_ok,ps3_early_stopping,2,\next_late,*,,24\n"
# student -> (timestamp.txt, percent deducted)
TIMES = {
    "early": ("2026-10-05 18:59:00 Europe/Berlin", 0),   # 16:59 UTC: a minute early
    "grace": ("2026-10-05 17:10:00 UTC", 0),              # 10 minutes late: within the grace period
    "hour": ("2026-10-05 18:00:00 UTC", 10),              # 1 hour late: one started day
    "days": ("2026-10-08 12:00:00 UTC", 30),              # 2 days 19 hours: three started days
    "weeks": ("2026-10-25 09:00:00 UTC", 50),             # 20 days: the cap
    "ext_ok": ("2026-10-07 16:00:00 UTC", 0),             # 47 hours late, 2-day extension: on time
    "ext_late": ("2026-10-07 17:30:00 UTC", 20),          # 48.5 h late, 24 h extension: 2 started days
    "garbled": ("next Tuesday, probably", 0),             # unreadable: flagged, counted as on time
}


def test_docstring_examples():
    from graders.pipeline import late

    assert doctest.testmod(late).failed == 0


def test_policy_table():
    from graders.pipeline.late import LatePolicy

    policy = LatePolicy(percent_per_unit=10, unit="day", max_percent=50, grace_minutes=15)
    hour = 3600
    assert [policy.percent(s) for s in (0, 15 * 60, 15 * 60 + 1, 24 * hour, 24 * hour + 1, 30 * 24 * hour)] == \
        [0, 0, 10, 10, 20, 50]
    hourly = LatePolicy(percent_per_unit=2, unit="hour", max_percent=100, grace_minutes=0)
    assert hourly.percent(1) == 2 and hourly.percent(5 * hour) == 10 and hourly.percent(80 * hour) == 100
    assert policy.penalty(7.0, 26 * hour, extension=timedelta(days=1)) == 0.7  # 2 h after the extended due date
    assert policy.explain("a", "s", 0) == "on time"


@pytest.mark.parametrize("setting, value", [("percent_per_unit", -1.0), ("max_percent", 120.0),
                                            ("grace_minutes", float("nan"))])
def test_bad_settings_are_refused_by_name(setting, value):
    from graders.pipeline.late import LatePolicy

    with pytest.raises(ValueError, match=f"Expected {setting}"):
        LatePolicy(**{setting: value})


@pytest.mark.parametrize("content, message", [
    ("student,assignment,days\n", "Expected the columns student_id,assignment,days,hours"),
    ("student_id,assignment,days\nalice,,1\n", "row 2: Expected a student_id and an assignment"),
    ("student_id,assignment,days\nalice,ps1,two\n", "row 2: Expected numbers of days and hours"),
    ("student_id,assignment,hours\nalice,ps1,-3\n", "row 2: Expected a non-negative extension"),
    ("student_id,assignment,days\nalice,ps1,1\nalice,ps1,2\n", "row 3: a second extension"),
])
def test_a_malformed_extensions_file_is_named_with_its_row(tmp_path, content, message):
    from graders.pipeline.late import ExtensionsError, read_extensions

    path = tmp_path / "extensions.csv"
    path.write_text(content)
    with pytest.raises(ExtensionsError, match=message):
        read_extensions(path)


def test_rows_are_named_by_their_line_in_the_file(tmp_path):
    from graders.pipeline.late import ExtensionsError, read_extensions

    path = tmp_path / "extensions.csv"
    path.write_text("# granted by the course office\n# (two comment lines)\nstudent_id,assignment,days\n"
                    "alice,ps1,1\nbob,ps1,soon\n")
    with pytest.raises(ExtensionsError, match="row 5: Expected numbers"):
        read_extensions(path)


def test_extensions_file_with_comments_and_wildcards(tmp_path):
    from graders.pipeline.late import LatePolicy

    path = tmp_path / "extensions.csv"
    path.write_text("# granted by the course office\n" + EXTENSIONS + "ext_late,ps1_penalties,3,\n")
    policy = LatePolicy(extensions_file=str(path))
    assert policy.extension(A, "ext_ok") == timedelta(days=2)
    assert policy.extension(A, "ext_late") == timedelta(hours=24)          # the * line
    assert policy.extension("ps1_penalties", "ext_late") == timedelta(days=3)  # its own line wins
    assert policy.extension(A, "nobody") == timedelta()


def _solved():
    release = read(ROOT / "exercises" / A / f"{NB}.ipynb")
    return filled_release(release, source_notebook(A))


def test_plain_nbgrader_autograde_applies_the_policy(tmp_path):
    """``nbgrader autograde`` with the course's nbgrader_config.py (the policy's one configuration)."""
    from nbgrader.api import Gradebook

    course = Course(tmp_path / "course", [A])
    extensions = tmp_path / "extensions.csv"
    extensions.write_text(EXTENSIONS)
    with open(course.root / "nbgrader_config.py", "a") as f:
        f.write(f"c.LatePolicy.extensions_file = {str(extensions)!r}\n")
    course.generate()
    with Gradebook(course.db_url(A)) as gb:
        gb.update_or_create_assignment(A, duedate=DUE)
    for student in ("early", "days", "ext_ok"):
        course.submit(A, student, NB, _solved())
        (course.root / "submitted" / student / A / "timestamp.txt").write_text(TIMES[student][0])
    course.autograde()
    assert course.returncodes[A] == 0, course.log(A)
    with Gradebook(course.db_url(A)) as gb:
        for student in ("early", "days", "ext_ok"):
            nb = gb.find_submission_notebook(NB, A, student)
            assert nb.score > 0
            assert (nb.late_submission_penalty or 0) == pytest.approx(nb.score * TIMES[student][1] / 100), student


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("late")
    subs = tmp / "submissions"
    for student, (stamp, _) in TIMES.items():
        folder = subs / student / A
        folder.mkdir(parents=True)
        nbformat.write(_solved(), folder / f"{NB}.ipynb")
        (folder / "timestamp.txt").write_text(stamp)
    (tmp / "due.csv").write_text(f"assignment,duedate\n{A},{DUE}\n")
    (tmp / "extensions.csv").write_text(EXTENSIONS)
    db = f"sqlite:///{tmp / 'gradebook.db'}"
    due = subprocess.run([sys.executable, "-m", "graders", "duedates", str(tmp / "due.csv"), "--db", db],
                         cwd=ROOT, capture_output=True, text=True)
    assert due.returncode == 0 and f"{A}: due 2026-10-05 17:00:00 UTC" in due.stdout, due.stdout + due.stderr
    proc = run_cli(subs, tmp / "out", db, "--jobs", "3", "--extensions", str(tmp / "extensions.csv"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return tmp / "out"


def test_grades_csv_shows_raw_penalty_and_final(graded):
    rows = {r["student_id"]: r for r in read_grades(graded)}
    assert set(rows) == set(TIMES)
    for student, (_, percent) in TIMES.items():
        raw, penalty, final = (float(rows[student][k]) for k in ("raw_score", "late_submission_penalty", "score"))
        assert raw == float(rows[student]["max_score"]) > 0, student
        assert penalty == pytest.approx(raw * percent / 100), student
        assert final == pytest.approx(raw - penalty), student


def test_report_lists_the_late_submissions(graded):
    report = html.unescape((graded / "report.html").read_text())
    assert "Late submissions" in report
    for student, (_, percent) in TIMES.items():
        if percent:
            assert f"{student}</td>" in report and f"{percent} %" in report, student
    assert "after an extension of 24 h: 20 %" in report


def test_bad_late_inputs_stop_before_grading(tmp_path):
    subs = tmp_path / "submissions" / "early" / A
    subs.mkdir(parents=True)
    nbformat.write(_solved(), subs / f"{NB}.ipynb")
    bad = tmp_path / "extensions.csv"
    bad.write_text("student_id,assignment,days\nearly,ps3_early_stopping,soon\n")
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    proc = run_cli(tmp_path / "submissions", tmp_path / "out", db, "--extensions", str(bad))
    assert proc.returncode == 2 and "row 2: Expected numbers of days and hours" in proc.stderr, proc.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()
    (tmp_path / "due.csv").write_text("assignment,duedate\nps9_nothing,2026-10-05\n")
    due = subprocess.run([sys.executable, "-m", "graders", "duedates", str(tmp_path / "due.csv"), "--db", db],
                         cwd=ROOT, capture_output=True, text=True)
    assert due.returncode == 2 and "Received: 'ps9_nothing'" in due.stderr, due.stderr


def test_an_unreadable_timestamp_is_flagged_not_fatal(graded):
    report = html.unescape((graded / "report.html").read_text())
    row = next(line for line in report.splitlines() if "<td>garbled</td>" in line and "<td>timestamp</td>" in line)
    assert "unreadable submission time 'next Tuesday, probably'" in row
    assert {r["student_id"]: r["timestamp"] for r in read_grades(graded)}["garbled"] == ""
