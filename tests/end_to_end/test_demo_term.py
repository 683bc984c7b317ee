"""The demo term's files (tests/demo_term/, used by `make grade` and the instructor guide) fit the cohort.

The commands themselves are tested through the CLI elsewhere (test_late_policy, test_lms_export,
test_similarity, test_publish); here: every assignment has a due date, the late submissions of
tests/cohort.py's LATE get the penalties its comments promise under nbgrader_config.py's policy,
and the roster names every student but one (left out on purpose) plus one who handed in nothing.
"""
from __future__ import annotations

import csv

import pytest
from nbgrader.utils import parse_utc

from cohort import COHORT, LATE, TERM, UNSAFE_ID

from graders.course_config import assignments, load
from graders.pipeline.late import LatePolicy, read_due_dates, read_extensions

PROMISED = {("carol", "ps2_dropout"): 10, ("m01", "ps1_penalties"): 30, ("m02", "ps3_early_stopping"): 50,
            ("m03", "ps4_batchnorm"): 0, ("m04", "ps1_penalties"): 0, ("m05", "ps2_dropout"): 10,
            ("alice", "ps5_keras"): 20}


@pytest.fixture(scope="module")
def due():
    return read_due_dates(TERM / "due_dates.csv", assignments())


def _submissions():
    """(student, assignment) of every graded submission (the unsafe id is rejected, not graded)."""
    return [(s.name, a.name) for s in sorted(COHORT.iterdir()) if s.is_dir() and s.name != UNSAFE_ID
            for a in sorted(s.iterdir())]


def test_every_assignment_has_a_due_date(due):
    assert set(due) == set(assignments())


def test_late_submissions_get_the_promised_penalty(due):
    policy = LatePolicy(config=load())
    policy.extensions_file = str(TERM / "extensions.csv")
    assert read_extensions(policy.extensions_file)
    assert set(PROMISED) == set(LATE)
    for student, assignment in _submissions():
        stamp = COHORT / student / assignment / "timestamp.txt"
        assert stamp.is_file(), stamp
        late = (parse_utc(stamp.read_text().strip()) - due[assignment]).total_seconds()
        percent = policy.percent(max(0.0, late - policy.extension(assignment, student).total_seconds()))
        assert percent == PROMISED.get((student, assignment), 0), (student, assignment, late)


def test_roster_names_the_class_but_one(due):
    with open(TERM / "roster.csv", newline="", encoding="utf-8") as f:
        roster = {row["student_id"] for row in csv.DictReader(f)}
    cohort = {s for s, _ in _submissions()}
    assert cohort - roster == {"h_loop"} and roster - cohort == {"zoe"}
