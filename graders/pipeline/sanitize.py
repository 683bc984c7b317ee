"""Repair what breaks nbgrader in a submitted notebook, and say what was wrong with it.

nbgrader stops with an error on a notebook that is not valid JSON or in which a
graded cell appears twice (a student copy-pasted a test cell), and such a student
then silently scores 0. Here every problem becomes a *flag* with a reason, and
what can be repaired is repaired so that the rest of the notebook is still graded:

* a duplicated graded cell keeps its nbgrader identity once (the first copy of a
  locked test cell, the last copy of an answer cell, which is the one whose code
  wins when the notebook runs top to bottom); the other copies become plain cells;
* a locked cell that was edited, deleted or changed in type is reported as
  tampering (nbgrader's OverwriteCells then restores it from the gradebook).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import nbformat

from graders.cells import grade_id, is_answer, is_locked

from .model import Flag

MAX_NOTEBOOK_BYTES = 50 * 1024**2


@dataclass
class Sanitized:
    notebook: nbformat.NotebookNode | None
    flags: list[Flag] = field(default_factory=list)


def sanitize(raw: bytes | None, notebook_name: str, release: nbformat.NotebookNode) -> Sanitized:
    """Parse and repair one submitted notebook; compare its locked cells with the release."""
    if raw is None:
        return Sanitized(None, [Flag("missing", f"{notebook_name}.ipynb was not submitted")])
    if len(raw) > MAX_NOTEBOOK_BYTES:
        return Sanitized(None, [Flag("invalid", f"{notebook_name}.ipynb is {len(raw) / 2**20:.0f} MiB "
                                                f"(limit {MAX_NOTEBOOK_BYTES / 2**20:.0f} MiB)")])
    try:
        data = json.loads(raw.decode("utf-8"))
        nb = nbformat.from_dict(data)
        if not isinstance(data, dict) or "cells" not in data:
            raise ValueError("no 'cells' list")
        nb = nbformat.convert(nb, 4)
        for cell in nb.cells:  # what nbgrader touches must have the expected shape
            cell.setdefault("metadata", {})
            if isinstance(cell.get("source"), list):
                cell["source"] = "".join(cell["source"])
            if cell.get("cell_type") == "code":
                cell.setdefault("outputs", [])
                cell.setdefault("execution_count", None)
    except Exception as exc:  # any parse or structure error: the notebook cannot be run
        return Sanitized(None, [Flag("invalid", f"{notebook_name}.ipynb is not a readable notebook "
                                                f"({type(exc).__name__}: {str(exc)[:200]})")])
    flags: list[Flag] = []
    _dedupe_graded_cells(nb, flags)
    _compare_locked_cells(nb, release, flags)
    return Sanitized(nb, flags)


def _dedupe_graded_cells(nb, flags: list[Flag]) -> None:
    positions: dict[str, list[int]] = {}
    for i, cell in enumerate(nb.cells):
        gid = grade_id(cell)
        if gid:
            positions.setdefault(gid, []).append(i)
    for gid, where in positions.items():
        if len(where) < 2:
            continue
        first = nb.cells[where[0]]
        keep = where[-1] if is_answer(first) and not is_locked(first) else where[0]
        for i in where:
            if i != keep:
                nb.cells[i].metadata.pop("nbgrader", None)
        flags.append(Flag("tampering", f"graded cell '{gid}' appears {len(where)} times (copy-pasted); "
                                       f"kept cell {keep + 1} as the graded one"))


def _compare_locked_cells(nb, release, flags: list[Flag]) -> None:
    submitted = {}
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid and gid not in submitted:
            submitted[gid] = cell
    for ref in release.cells:
        gid = grade_id(ref)
        if not gid or not is_locked(ref):
            continue
        cell = submitted.get(gid)
        if cell is None:
            flags.append(Flag("tampering", f"locked cell '{gid}' was deleted (restored for grading)"))
        elif cell.get("cell_type") != ref.cell_type:
            flags.append(Flag("tampering", f"locked cell '{gid}' was changed from {ref.cell_type} to "
                                           f"{cell.get('cell_type')} (restored for grading)"))
        elif cell.get("source", "").strip() != ref.source.strip():
            flags.append(Flag("tampering", f"locked cell '{gid}' was edited (restored for grading)"))
