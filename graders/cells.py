"""The nbgrader cell vocabulary, spelled once: metadata keys, cell roles, stubs and markers.

Everything that reads or writes nbgrader notebooks (the release, the grading pipeline, the
check parser, the test cohort) asks these functions instead of spelling
``cell.metadata.nbgrader["grade_id"]`` itself.

>>> cell = {"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "grade_id": "t1", "locked": True}}}
>>> grade_id(cell), is_graded(cell), is_locked(cell), is_answer(cell)
('t1', True, True, False)
"""
from __future__ import annotations

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
# What the release puts where a solution was (nbgrader's ClearSolutions, as nbgrader_config.py sets it).
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"


def nbgrader_meta(cell) -> dict:
    """The cell's ``metadata.nbgrader`` (empty for a cell nbgrader does not know)."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_answer(cell) -> bool:
    """An answer cell (where the student writes code or text)."""
    return bool(nbgrader_meta(cell).get("solution"))


def is_graded(cell) -> bool:
    """A graded cell (a test cell, or a manually graded answer)."""
    return bool(nbgrader_meta(cell).get("grade"))


def is_task(cell) -> bool:
    """A manually graded task cell (markdown with points, no answer of its own)."""
    return bool(nbgrader_meta(cell).get("task"))


def is_locked(cell) -> bool:
    return bool(nbgrader_meta(cell).get("locked"))


def points(cell) -> float:
    return float(nbgrader_meta(cell).get("points", 0) or 0)


def is_graded_code(cell) -> bool:
    """A graded code cell: what autograding scores (its tests, visible and hidden)."""
    return cell.get("cell_type") == "code" and is_graded(cell)


def regions(source: str, begin: str, end: str) -> list[list[str]]:
    """The lines between each ``begin``/``end`` marker pair."""
    out, current = [], None
    for line in source.splitlines():
        if line.strip() == begin:
            current = []
        elif line.strip() == end and current is not None:
            out.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return out


def hidden_tests(source: str) -> str:
    """The code between the hidden-test markers of a cell's source."""
    return "\n".join(line for region in regions(source, BEGIN_HIDDEN, END_HIDDEN) for line in region)


def without_markers(source: str, *markers: str) -> str:
    return "\n".join(line for line in source.splitlines() if line.strip() not in markers)
