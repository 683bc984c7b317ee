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

from .model import Flag, GradeResult


def submission_time(timestamp: str | None):
    """``timestamp.txt`` read as nbgrader reads it (naive UTC), or None if it is missing or unreadable."""
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(timestamp) if timestamp else None
    except (ValueError, OverflowError, TypeError):
        return None


def _timestamp(result: GradeResult) -> dict:
    """The submission time as nbgrader stores it; an unreadable ``timestamp.txt`` is flagged, not fatal."""
    when = submission_time(result.timestamp)
    if result.timestamp and when is None:
        result.flags.append(Flag("timestamp", f"unreadable submission time {result.timestamp[:60]!r}: "
                                              "recorded without one (so not late); check it by hand"))
    return {"timestamp": when} if when else {}


def late_penalties(config):
    """``(assignment, student_id, score, seconds_late) -> penalty`` as nbgrader's ``AssignLatePenalties``
    assigns it with the configured late-submission plugin (``nbgrader_config.py``)."""
    from nbgrader.preprocessors import AssignLatePenalties

    preprocessor = AssignLatePenalties(config=config)
    plugin = preprocessor.plugin_class(parent=preprocessor)  # made now: a misconfigured policy fails before grading

    def penalty(assignment: str, student_id: str, score: float, seconds_late: float) -> tuple[float, str]:
        """The points deducted, and how the policy explains them (if it can)."""
        preprocessor.assignment_id = assignment  # what nbgrader sets before it asks the plugin
        points = plugin.late_submission_penalty(student_id, score, seconds_late)
        explain = getattr(plugin, "explain", None)
        note = explain(assignment, student_id, seconds_late) if explain else ""
        return (0.0 if points is None else min(max(float(points), 0.0), score)), note  # nbgrader's own bounds
    return penalty


def record(gb, result: GradeResult, autograded_dir: Path | None = None, feedback_dir: Path | None = None,
           late=None) -> None:
    """Store one result in the open ``nbgrader.api.Gradebook`` ``gb`` and write its files.

    ``late`` (from :func:`late_penalties`) assigns the late penalty here, against the course
    gradebook's due date: the private gradebook a submission was graded in has none.
    """
    aid, sid = result.assignment, result.student_id
    gb.update_or_create_student(sid)
    kwargs = _timestamp(result)
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
    _assign_late_penalty(gb, submission, result, late)
    for folder, files, suffix in ((autograded_dir, result.autograded, ".ipynb"),
                                  (feedback_dir, result.feedback, ".html")):
        if folder is None or not files:
            continue
        target = Path(folder) / sid / aid
        target.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (target / f"{name}{suffix}").write_bytes(data)


def _assign_late_penalty(gb, submission, result: GradeResult, late) -> None:
    """Per notebook, as nbgrader does; the scores are read back from the gradebook after the commit."""
    result.seconds_late = float(submission.total_seconds_late)
    result.late_penalty, result.late_note = 0.0, ""
    for nb in submission.notebooks:
        nb.late_submission_penalty = None
        if late is not None and result.seconds_late > 0:
            try:
                nb.late_submission_penalty, result.late_note = late(result.assignment, result.student_id, nb.score,
                                                                    result.seconds_late)
            except Exception as exc:  # e.g. the extensions file was broken mid-batch: keep grading the class
                result.flags.append(Flag("timestamp", f"late policy failed ({exc}): no penalty assigned"))
                nb.flagged = True
                continue
            result.late_penalty += nb.late_submission_penalty
    gb.db.commit()
