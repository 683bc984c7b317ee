"""The pipeline's data model: what is graded, how, and what comes out.

A ``PreparedAssignment`` (one assignment, made by nbgrader's ``generate_assignment``) and a
``Submission`` (one student's notebooks of it) go into ``task.grade_submission`` with the
``Limits``; a ``GradeResult`` (scores per graded cell as ``CellResult``, nbgrader's grade rows,
``Flag``s, the autograded notebooks and the feedback) comes out, to be recorded by ``record``
and reported by ``report``. All plain data, so that it can travel to and from a Dask worker.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
# Why a submission needs an instructor's attention (report.html, and nbgrader's "flagged").
FLAG_REASONS = ("invalid", "missing", "timestamp", "tampering", "timeout", "memory", "error", "output-limit", "reference",
                "forbidden-file", "escape-attempt", "checks-missing", "verdict-failed")


@dataclass
class Flag:
    """Why a submission needs an instructor's attention."""

    reason: str   # one of FLAG_REASONS
    detail: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


def check_student_id(student_id: str) -> str:
    """Student ids become folder names: refuse anything that is not a plain, safe name."""
    if not isinstance(student_id, str) or not SAFE_ID.match(student_id) or ".." in student_id:
        raise ValueError(
            "Expected a student id made of letters, digits and . _ @ + - (starting with a letter or digit, "
            f"at most 100 characters, no '..'). Received: {student_id!r}"
        )
    return student_id


@dataclass
class PreparedAssignment:
    """One assignment, prepared by nbgrader for grading: everything a worker needs, small enough
    to ship to a cluster (``prepare.prepare_assignments`` makes it)."""

    assignment: str
    course_id: str
    gradebook: bytes                  # sqlite gradebook holding the assignment (made by generate_assignment)
    source: dict[str, bytes]          # notebook name -> source notebook (with solutions and hidden tests)
    release: dict[str, bytes]         # notebook name -> release notebook (what students got)
    files: dict[str, bytes] = field(default_factory=dict)  # other files of the source folder (data), by path
    config: object = None             # the course's nbgrader_config.py (a traitlets Config)
    checks: dict = field(default_factory=dict)  # (notebook, grade_id) -> the run_check calls of its hidden tests


@dataclass
class Limits:
    cell_timeout: int | None = None   # seconds per cell; None: nbgrader_config.py's Execute.timeout
    memory_bytes: int = 8 * 1024**3   # per process (address space) and for the whole submission (cgroup)
    submission_timeout: int = 900     # hard limit for the whole submission (local pool only)
    sandbox: str = "auto"             # isolation.choose(): auto | bwrap | landlock | none


@dataclass
class Submission:
    student_id: str
    assignment: str
    files: dict[str, bytes | None]    # notebook name -> submitted bytes (None: not submitted)
    timestamp: str | None = None


@dataclass
class CellResult:
    notebook: str
    grade_id: str
    score: float
    max_score: float
    message: str = ""


@dataclass
class GradeResult:
    student_id: str
    assignment: str
    timestamp: str | None
    grades: list[dict] = field(default_factory=list)      # nbgrader Grade fields per graded cell
    comments: list[dict] = field(default_factory=list)    # nbgrader Comment fields per answer cell
    cells: list[CellResult] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    autograded: dict[str, bytes] = field(default_factory=dict)
    feedback: dict[str, bytes] = field(default_factory=dict)
    log: str = ""
    seconds: float = 0.0
    memory_limit: str = ""                                # which memory limit applied (cgroup or per process)
    seconds_late: float = 0.0                             # after the due date and any extension (record sets it)
    late_penalty: float = 0.0                             # points deducted by the late policy (record sets it)
    late_note: str = ""                                   # the late policy's explanation (record sets it)

    @property
    def score(self) -> float:
        return sum(c.score for c in self.cells)

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.cells)

    @property
    def final_score(self) -> float:
        """The score after the late penalty (nbgrader's ``score`` minus ``late_submission_penalty``)."""
        return max(0.0, self.score - self.late_penalty)
