"""Reading and editing nbgrader notebooks: cell roles, marked regions, test submissions.

Used by the grading pipeline, the demo cohort builder and the tests.
"""
from __future__ import annotations

import copy
import re

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
TOP_LEVEL_DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_answer(cell) -> bool:
    """An autograded answer cell (where the student writes code)."""
    return bool(nbgrader_meta(cell).get("solution"))


def is_graded(cell) -> bool:
    """A graded cell (a test cell, or a manually graded answer)."""
    return bool(nbgrader_meta(cell).get("grade"))


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


def without_markers(source: str, *markers: str) -> str:
    return "\n".join(line for line in source.splitlines() if line.strip() not in markers)


def filled_release(release_nb, source_nb):
    """The release notebook with every answer cell filled with the solution's code:
    what a student who solved everything submits."""
    solutions = {grade_id(c): c for c in source_nb.cells if is_answer(c)}
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        if is_answer(cell):
            cell.source = without_markers(solutions[grade_id(cell)].source, BEGIN_SOLUTION, END_SOLUTION)
    return nb


def append_code(nb, code: str, cell_id: str | None = None):
    """A copy of ``nb`` with ``code`` appended to an answer cell: the one with grade id
    ``cell_id``, or else the last answer cell that defines a function ``code`` defines
    (so that a buggy redefinition replaces the correct one when the notebook runs)."""
    nb = copy.deepcopy(nb)
    answers = [c for c in nb.cells if is_answer(c) and c.cell_type == "code"]
    if cell_id is None:
        names = TOP_LEVEL_DEF.findall(code)
        targets = [c for c in answers
                   if any(re.search(rf"^def\s+{n}\s*\(", c.source, re.MULTILINE) for n in names)]
        if not targets:
            raise ValueError(f"Expected an answer cell that defines one of {names}. Received: none.")
        target = targets[-1]
    else:
        target = next(c for c in answers if grade_id(c) == cell_id)
    target.source = target.source.rstrip("\n") + "\n\n" + code.strip("\n") + "\n"
    return nb
