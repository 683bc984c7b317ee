"""Making submissions from the release and the solutions: a solved release, an answer with
code appended. Used by the test cohort builder (``tests/cohort.py``) and the tests.
"""
from __future__ import annotations

import copy
import re

from graders.cells import BEGIN_SOLUTION, END_SOLUTION, grade_id, is_answer, without_markers

TOP_LEVEL_DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)


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
