"""Write grading results into the course gradebook: the pipeline's only database writer.

Workers grade in private copies of the gradebook; the process that drives the batch
calls ``record`` for each result as it arrives, so two processes never write one
database (nbgrader's sqlite gradebook is not safe for concurrent writers). Recording
the same result twice changes nothing: rows are found and updated, never duplicated,
and manual grades an instructor entered are left alone.
"""
from __future__ import annotations

import warnings
from pathlib import Path

from .model import GradeResult


def record(gb, result: GradeResult, autograded_dir: Path | None = None, feedback_dir: Path | None = None) -> None:
    """Store one result in the open ``nbgrader.api.Gradebook`` ``gb`` and write its files."""
    aid, sid = result.assignment, result.student_id
    gb.update_or_create_student(sid)
    kwargs = {"timestamp": result.timestamp} if result.timestamp else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy autoflush notices from inside nbgrader
        submission = gb.update_or_create_submission(aid, sid, **kwargs)
    graded = {(g["notebook"], g["name"]): g for g in result.grades}
    for nb in submission.notebooks:
        for grade in nb.grades:
            g = graded.get((nb.name, grade.name))
            if g is not None:
                grade.auto_score = g["auto_score"]
                grade.needs_manual_grade = bool(g["needs_manual_grade"])
            else:  # not run (missing, invalid, crashed): no points, and nothing left to grade by hand
                grade.auto_score = 0.0
                grade.needs_manual_grade = False
        comments = {(c["notebook"], c["name"]): c for c in result.comments}
        for comment in nb.comments:
            c = comments.get((nb.name, comment.name))
            comment.auto_comment = c["auto_comment"] if c else None
        nb.flagged = bool(result.flags)
    gb.db.commit()
    for folder, files, suffix in ((autograded_dir, result.autograded, ".ipynb"),
                                  (feedback_dir, result.feedback, ".html")):
        if folder is None or not files:
            continue
        target = Path(folder) / sid / aid
        target.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (target / f"{name}{suffix}").write_bytes(data)
