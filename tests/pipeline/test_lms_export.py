"""`python -m graders export`: a real nbgrader gradebook exported for Canvas, Moodle and a spreadsheet.

The gradebook is made with nbgrader's own API: two assignments (one of two notebooks), five
students. bob is late on ps1 (the late policy's penalty on his notebook), carol is late on both
notebooks of ps2, bob has no ps2, gina has no submission at all, and dave is not in the roster;
the roster has erin, whom the gradebook does not know. The expected cells are written out by
hand, so that the export is checked against numbers, not against itself.
"""
from __future__ import annotations

import csv
import re
import subprocess
import sys
import warnings

import pytest

from pipeline_helpers import ROOT

COURSE = "regularization"
# assignment -> due date, and notebook -> graded cell -> points
ASSIGNMENTS = {
    "ps1_penalties": ("2026-01-10 12:00:00", {"penalties": {"l1_values": 4.0, "l2_values": 6.0}}),
    "ps2_dropout": ("2026-01-17 12:00:00", {"dropout": {"mask": 5.0}, "bonus": {"scale": 2.5}}),
}
# (student, assignment) -> notebook -> (cell -> autograded points, late penalty or None)
SUBMISSIONS = {
    ("alice", "ps1_penalties"): {"penalties": ({"l1_values": 4.0, "l2_values": 3.5}, None)},
    ("alice", "ps2_dropout"): {"dropout": ({"mask": 5.0}, None), "bonus": ({"scale": 2.5}, None)},
    ("bob", "ps1_penalties"): {"penalties": ({"l1_values": 4.0, "l2_values": 6.0}, 2.5)},
    ("carol", "ps1_penalties"): {"penalties": ({"l1_values": 0.1, "l2_values": 0.2}, None)},  # 0.30000000000000004
    ("carol", "ps2_dropout"): {"dropout": ({"mask": 3.0}, 0.5), "bonus": ({"scale": 1.0}, 0.25)},
    ("dave", "ps1_penalties"): {"penalties": ({"l1_values": 2.0, "l2_values": 4.0}, None)},
}
STUDENTS = ["alice", "bob", "carol", "dave", "gina"]
ROSTER_HEADER = ["student_id", "name", "canvas_id", "sis_user_id", "sis_login_id", "section", "email", "id_number"]
ROSTER = [
    ["alice", "Doe, Alice", "4711", "S001", "adoe", "Section A", "alice@example.edu", "20260001"],
    ["bob", "Bob Roe", "4712", "S002", "broe", "Section B", "bob@example.edu", "20260002"],
    ["carol", "Carol Poe", "4713", "S003", "cpoe", "Section A", "carol@example.edu", "20260003"],
    ["gina", "Gina Loe", "4714", "S004", "gloe", "Section B", "gina@example.edu", "20260004"],
    ["erin", "Erin Moe", "4715", "S005", "emoe", "Section A", "erin@example.edu", "20260005"],
]
# The final scores as the LMS must receive them: raw minus penalty, "" for no submission.
FINAL = {"alice": ["7.5", "7.5"], "bob": ["7.5", ""], "carol": ["0.3", "3.25"], "gina": ["", ""]}


def build_gradebook(url: str) -> None:
    from nbgrader.api import Gradebook

    from graders.course_config import ensure_alembic_on_path

    ensure_alembic_on_path()  # nbgrader runs `alembic` when it makes a new gradebook
    with Gradebook(url, course_id=COURSE) as gb:
        for name, (due, notebooks) in ASSIGNMENTS.items():
            gb.update_or_create_assignment(name, duedate=due)
            for notebook, cells in notebooks.items():
                gb.update_or_create_notebook(notebook, name)
                for cell, points in cells.items():
                    gb.update_or_create_grade_cell(cell, notebook, name, max_score=points, cell_type="code")
        for student in STUDENTS:
            gb.update_or_create_student(student)
        for (student, name), notebooks in SUBMISSIONS.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SQLAlchemy autoflush notices from inside nbgrader
                submission = gb.update_or_create_submission(name, student)
            for nb in submission.notebooks:
                scores, penalty = notebooks[nb.name]
                for grade in nb.grades:
                    grade.auto_score = scores[grade.name]
                    grade.needs_manual_grade = False
                nb.late_submission_penalty = penalty  # what the late policy writes
            gb.db.commit()


def write_roster(path, rows, header=ROSTER_HEADER):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_rows(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory):
    path = tmp_path_factory.mktemp("lms") / "gradebook.db"
    build_gradebook(f"sqlite:///{path}")
    return f"sqlite:///{path}"


@pytest.fixture
def roster(tmp_path):
    return write_roster(tmp_path / "roster.csv", ROSTER)


def export(db, roster, out, fmt, *extra):
    """The CLI in this process: (exit code, stdout, stderr)."""
    import contextlib
    import io

    from graders.pipeline.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["export", "--format", fmt, "--roster", str(roster), "--out", str(out), "--db", db, *extra])
    return code, stdout.getvalue(), stderr.getvalue()


# --------------------------------------------------------------------------- canvas
def test_canvas_file_has_canvas_layout_points_and_final_scores(gradebook, roster, tmp_path):
    out = tmp_path / "canvas.csv"
    code, stdout, stderr = export(gradebook, roster, out, "canvas", "--allow-missing")
    assert code == 0, stderr
    assert out.read_text(encoding="utf-8").splitlines()[:2] == [
        "Student,ID,SIS User ID,SIS Login ID,Section,ps1_penalties,ps2_dropout",
        "Points Possible,,,,,10,7.5"]
    rows = read_rows(out)
    assert rows[2:] == [
        ["Doe, Alice", "4711", "S001", "adoe", "Section A", *FINAL["alice"]],
        ["Bob Roe", "4712", "S002", "broe", "Section B", *FINAL["bob"]],
        ["Carol Poe", "4713", "S003", "cpoe", "Section A", *FINAL["carol"]],
        ["Gina Loe", "4714", "S004", "gloe", "Section B", *FINAL["gina"]],
    ]
    # As Canvas's importer reads it: named columns, a Points Possible row, students by their Canvas ID.
    with open(out, newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert table[0]["Student"] == "Points Possible"
    assert {r["ID"]: r["ps1_penalties"] for r in table[1:]} == {"4711": "7.5", "4712": "7.5", "4713": "0.3",
                                                                 "4714": ""}
    assert f"Wrote 4 students x 2 assignments to {out} (format canvas)" in stdout


def test_canvas_assignment_ids_name_the_existing_canvas_assignments(gradebook, roster, tmp_path):
    out = tmp_path / "canvas.csv"
    code, _, stderr = export(gradebook, roster, out, "canvas", "--allow-missing",
                             "--canvas-assignment-id", "ps2_dropout=8123")
    assert code == 0, stderr
    header = read_rows(out)[0]
    assert header[5:] == ["ps1_penalties", "ps2_dropout (8123)"]
    # Canvas's Assignment.title_and_id: "Title (id)" -> the id of the assignment to fill.
    assert re.fullmatch(r"(.*)\s\((\d+)\)", header[6]).groups() == ("ps2_dropout", "8123")


@pytest.mark.parametrize("pair, words", [("ps2_dropout=abc", "numeric assignment id"),
                                         ("ps9=12", "Received: ps9")])
def test_bad_canvas_assignment_ids_are_refused(gradebook, roster, tmp_path, pair, words):
    code, _, stderr = export(gradebook, roster, tmp_path / "c.csv", "canvas", "--allow-missing",
                             "--canvas-assignment-id", pair)
    assert code == 2 and "Expected --canvas-assignment-id" in stderr and words in stderr
    assert not (tmp_path / "c.csv").exists()


# --------------------------------------------------------------------------- moodle
def test_moodle_file_is_keyed_by_email(gradebook, roster, tmp_path):
    out = tmp_path / "moodle.csv"
    code, stdout, stderr = export(gradebook, roster, out, "moodle", "--allow-missing")
    assert code == 0, stderr
    assert read_rows(out) == [["Email address", "ps1_penalties", "ps2_dropout"],
                              ["alice@example.edu", *FINAL["alice"]], ["bob@example.edu", *FINAL["bob"]],
                              ["carol@example.edu", *FINAL["carol"]], ["gina@example.edu", *FINAL["gina"]]]
    assert "(format moodle)" in stdout


def test_moodle_file_by_id_number(gradebook, roster, tmp_path):
    out = tmp_path / "moodle.csv"
    code, _, stderr = export(gradebook, roster, out, "moodle", "--moodle-key", "idnumber", "--allow-missing")
    assert code == 0, stderr
    rows = read_rows(out)
    assert rows[0] == ["ID number", "ps1_penalties", "ps2_dropout"]
    assert rows[1:3] == [["20260001", *FINAL["alice"]], ["20260002", *FINAL["bob"]]]


def test_moodle_rows_without_the_key_cannot_be_uploaded(gradebook, tmp_path):
    rows = [r[:6] + [""] + r[7:] if r[0] == "carol" else r for r in ROSTER]  # carol has no email
    roster = write_roster(tmp_path / "roster.csv", rows)
    out = tmp_path / "moodle.csv"
    code, _, stderr = export(gradebook, roster, out, "moodle")
    assert code == 1 and not out.exists()
    assert re.search(r"error: 1 roster row\(s\) lack the email .*: carol \(line 4\)", stderr)
    code, _, stderr = export(gradebook, roster, out, "moodle", "--allow-missing")
    assert code == 0, stderr
    assert [r[0] for r in read_rows(out)] == ["Email address", "alice@example.edu", "bob@example.edu",
                                              "gina@example.edu"]


def test_moodle_needs_a_key_column(gradebook, tmp_path):
    roster = write_roster(tmp_path / "roster.csv", [r[:6] for r in ROSTER], ROSTER_HEADER[:6])
    code, _, stderr = export(gradebook, roster, tmp_path / "m.csv", "moodle", "--allow-missing")
    assert code == 2 and "Expected a roster column 'email' for --format moodle" in stderr
    assert "Received columns: student_id, name, canvas_id" in stderr


# --------------------------------------------------------------------------- csv
def test_csv_file_has_raw_penalty_final_and_max(gradebook, roster, tmp_path):
    out = tmp_path / "grades.csv"
    code, _, stderr = export(gradebook, roster, out, "csv", "--allow-missing")
    assert code == 0, stderr
    with open(out, newline="", encoding="utf-8") as f:
        table = {r["student_id"]: r for r in csv.DictReader(f)}
    assert list(next(iter(table.values())))[len(ROSTER_HEADER):] == [
        f"{a}_{part}" for a in ASSIGNMENTS for part in ("raw", "penalty", "final", "max")]
    assert list(table) == ["alice", "bob", "carol", "gina"]
    cells = ("ps1_penalties_raw", "ps1_penalties_penalty", "ps1_penalties_final", "ps1_penalties_max",
             "ps2_dropout_raw", "ps2_dropout_penalty", "ps2_dropout_final", "ps2_dropout_max")
    assert [table["bob"][c] for c in cells] == ["10", "2.5", "7.5", "10", "", "", "", "7.5"]
    assert [table["carol"][c] for c in cells] == ["0.3", "0", "0.3", "10", "4", "0.75", "3.25", "7.5"]
    assert [table["gina"][c] for c in cells] == ["", "", "", "10", "", "", "", "7.5"]
    assert table["alice"]["name"] == "Doe, Alice" and table["alice"]["email"] == "alice@example.edu"


def test_csv_agrees_with_nbgrader_own_export(gradebook, roster, tmp_path):
    """nbgrader's CsvExportPlugin computes raw, penalty and score itself: the two must agree."""
    from graders.pipeline.report import write_grades_csv

    out = tmp_path / "grades.csv"
    assert export(gradebook, roster, out, "csv", "--allow-missing")[0] == 0
    write_grades_csv(tmp_path / "nbgrader.csv", gradebook, COURSE, list(ASSIGNMENTS), [])
    with open(out, newline="", encoding="utf-8") as f:
        ours = {r["student_id"]: r for r in csv.DictReader(f)}
    with open(tmp_path / "nbgrader.csv", newline="", encoding="utf-8") as f:
        theirs = [r for r in csv.DictReader(f) if r["student_id"] in ours]
    assert len(theirs) == len(ours) * len(ASSIGNMENTS)
    for row in theirs:
        mine = ours[row["student_id"]]
        for ours_key, theirs_key in (("raw", "raw_score"), ("penalty", "late_submission_penalty"),
                                     ("final", "score"), ("max", "max_score")):
            cell = mine[f"{row['assignment']}_{ours_key}"]
            if (row["student_id"], row["assignment"]) in SUBMISSIONS or ours_key == "max":
                assert float(cell) == pytest.approx(float(row[theirs_key])), (row, ours_key)
            else:  # no submission: nbgrader's export says 0, an upload must say nothing
                assert cell == "" and float(row[theirs_key]) == 0.0


# --------------------------------------------------------------------------- mismatches
def test_students_who_cannot_be_uploaded_stop_the_export(gradebook, roster, tmp_path):
    out = tmp_path / "canvas.csv"
    code, stdout, stderr = export(gradebook, roster, out, "canvas")
    assert code == 1 and not out.exists()
    assert "error: 1 gradebook student(s) with a submission are not in the roster, so cannot be uploaded: dave" \
        in stderr
    assert "nothing written" in stderr and "--allow-missing" in stderr and "Wrote" not in stdout


def test_every_mismatch_is_reported_by_name(gradebook, tmp_path):
    rows = [r[:6] + [""] + r[7:] if r[0] == "carol" else r for r in ROSTER]
    roster = write_roster(tmp_path / "roster.csv", rows)
    out = tmp_path / "moodle.csv"
    code, stdout, stderr = export(gradebook, roster, out, "moodle", "--allow-missing")
    assert code == 0, stderr
    lines = stderr.splitlines()
    assert any(ln.startswith("warning:") and "not in the roster" in ln and ln.endswith(": dave") for ln in lines)
    assert any("lack the email" in ln and ln.endswith(": carol (line 4)") for ln in lines)
    assert any("no submission" in ln and ln.endswith(": gina (line 5)") for ln in lines)
    assert any("match no gradebook student" in ln and ln.endswith(": erin (line 6)") for ln in lines)
    assert f"Wrote 3 students x 2 assignments to {out} (format moodle)" in stdout
    assert ("Mismatches (named on stderr): 1 not in the roster, 1 lacking the format's id, "
            "1 roster ids not in the gradebook, 1 written without any submission.") in stdout


def test_a_complete_roster_exports_without_mismatches(gradebook, tmp_path):
    rows = [r for r in ROSTER if r[0] != "erin"] + [["dave", "Dave Koe", "4716", "S006", "dkoe", "Section B",
                                                     "dave@example.edu", "20260006"]]
    roster = write_roster(tmp_path / "roster.csv", rows)
    out = tmp_path / "canvas.csv"
    code, stdout, stderr = export(gradebook, roster, out, "canvas", "--assignment", "ps1_penalties")
    assert code == 0, stderr
    assert read_rows(out)[0][5:] == ["ps1_penalties"] and read_rows(out)[-1] == [
        "Dave Koe", "4716", "S006", "dkoe", "Section B", "6"]
    # gina submitted nothing: the only warning.
    assert stderr.splitlines() == ["warning: 1 roster student(s) have no submission of any exported assignment "
                                   "(their cells are empty): gina (line 5)"]
    assert "Wrote 5 students x 1 assignments" in stdout


# --------------------------------------------------------------------------- bad inputs
def test_a_roster_without_student_id_is_refused(gradebook, tmp_path):
    roster = write_roster(tmp_path / "roster.csv", [["alice", "4711"]], ["id", "canvas_id"])
    out = tmp_path / "canvas.csv"
    code, _, stderr = export(gradebook, roster, out, "canvas")
    assert code == 2
    assert f"Expected a roster column 'student_id' in {roster}. Received columns: id, canvas_id" in stderr
    assert not out.exists()


def test_repeated_and_empty_ids_are_refused_with_their_lines(gradebook, tmp_path):
    rows = ROSTER[:2] + [["alice", "Alice Again", "4799", "", "", "", "other@example.edu", ""],
                         ["", "Nobody", "4798", "", "", "", "", ""]]
    roster = write_roster(tmp_path / "roster.csv", rows)
    out = tmp_path / "canvas.csv"
    out.write_text("an earlier export\n")
    code, _, stderr = export(gradebook, roster, out, "canvas", "--allow-missing")
    assert code == 2
    assert f"{roster} line 4: Expected each student_id once. Received 'alice' again (first on line 2)." in stderr
    assert f"{roster} line 5: Expected a student_id. Received an empty one." in stderr
    assert out.read_text() == "an earlier export\n"


def test_repeated_lms_ids_are_refused(gradebook, tmp_path):
    rows = ROSTER[:2] + [["zoe", "Zoe", "4711", "", "", "", "zoe@example.edu", ""]]
    roster = write_roster(tmp_path / "roster.csv", rows)
    code, _, stderr = export(gradebook, roster, tmp_path / "c.csv", "canvas", "--allow-missing")
    assert code == 2 and "line 4: Expected each canvas_id once. Received '4711' again (first on line 2)." in stderr


def test_unknown_assignment_and_missing_gradebook_are_refused(gradebook, roster, tmp_path):
    code, _, stderr = export(gradebook, roster, tmp_path / "c.csv", "canvas", "--assignment", "ps9")
    assert code == 2 and "Expected assignments of the gradebook (ps1_penalties, ps2_dropout). Received: ps9" in stderr
    missing = tmp_path / "nowhere.db"
    code, _, stderr = export(f"sqlite:///{missing}", roster, tmp_path / "c.csv", "canvas")
    assert code == 2 and "Expected an nbgrader gradebook at --db" in stderr
    assert not missing.exists()  # nbgrader would have made an empty one


def test_scores_are_written_without_float_noise():
    from graders.pipeline.lms_export import number

    assert [number(x) for x in (7.5, 10.0, 0.1 + 0.2, -0.0, 2 / 3, 1234567.0)] == [
        "7.5", "10", "0.3", "0", "0.666667", "1234567"]


# --------------------------------------------------------------------------- the real command, PostgreSQL
def test_python_m_graders_export_from_a_postgresql_gradebook(gradebook, roster, tmp_path):
    """The command as an instructor runs it, on a PostgreSQL gradebook: the same file as from sqlite."""
    from postgres_server import pg_bin, postgres_server

    if pg_bin() is None:
        pytest.fail("PostgreSQL is not installed: run `make system-deps`")
    from_sqlite = tmp_path / "sqlite.csv"
    assert export(gradebook, roster, from_sqlite, "csv", "--allow-missing")[0] == 0
    with postgres_server() as url:
        build_gradebook(url)
        proc = subprocess.run([sys.executable, "-m", "graders", "export", "--format", "csv", "--roster", str(roster),
                               "--out", str(tmp_path / "pg.csv"), "--db", url, "--allow-missing"],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "dave" in proc.stderr and "Wrote 4 students x 2 assignments" in proc.stdout
    assert (tmp_path / "pg.csv").read_text() == from_sqlite.read_text()
