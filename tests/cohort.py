"""The demo cohort: a class of 26 made-up students whose submissions exercise the grader.

    python tests/cohort.py              (re)build tests/demo_cohort/ from solutions/ and exercises/
    make grade                          the demo term: due dates, autograde, exports, publish

Who is in it (nbgrader layout ``demo_cohort/<student>/<assignment>/<notebook>.ipynb``):

* ``alice`` solves everything; ``bob`` submits the untouched release; ``carol`` solves
  the first half of each notebook;
* ``m01`` … ``m06`` each make one of the common mistakes per assignment (the
  misconceptions the hidden tests diagnose, from ``tests/misconceptions/``);
* ``dana`` solves ps2 in her own way (correct, but written unlike the course's solution), and
  ``erin`` hands in dana's ps2 with every name renamed, the comments changed and the code
  reformatted: the pair report.html lists under "Similar submissions";
* ``h_*``: one hostile or broken ps1 submission each: an endless loop, a 20 GB
  allocation, ``os._exit``, 100 MB of output, invalid JSON, a missing notebook, a
  deleted / edited / retyped / duplicated locked cell, inserted cells, a silenced
  traceback, monkeypatched NumPy, the reference imported from ``graders``, and an
  attempt to read the solutions and the gradebook;
* a folder whose name is not a safe student id (rejected with a message).

Every submission has nbgrader's ``timestamp.txt``: a day before the demo term's due date
(``tests/demo_term/due_dates.csv``), except the late ones of ``LATE``.
"""
from __future__ import annotations

import copy
import importlib.util
import re
import shutil
import textwrap
from datetime import timedelta
from pathlib import Path

import nbformat

from graders.authoring.notebooks import append_code, filled_release
from graders.cells import CODE_STUB, grade_id, is_answer, is_graded

ROOT = Path(__file__).resolve().parents[1]
COHORT = Path(__file__).resolve().parent / "demo_cohort"
TERM = Path(__file__).resolve().parent / "demo_term"
UNSAFE_ID = "robert'); drop table students;--"


def _load_misconceptions() -> dict[str, list[dict]]:
    out = {}
    for path in sorted((ROOT / "tests" / "misconceptions").glob("ps*.py")):
        spec = importlib.util.spec_from_file_location(f"_misconceptions_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        out[module.ASSIGNMENT] = module.MISCONCEPTIONS
    return out


def _assignment_notebooks():
    """assignment -> [(name, release notebook, source notebook)]."""
    from graders.course_config import assignments

    out = {}
    for name in assignments(ROOT / "solutions"):
        src_dir, rel_dir = ROOT / "solutions" / name, ROOT / "exercises" / name
        if not rel_dir.is_dir():
            continue
        out[name] = [(p.stem, nbformat.read(rel_dir / p.name, as_version=4), nbformat.read(p, as_version=4))
                             for p in sorted(src_dir.glob("*.ipynb"))]
    return out


# --------------------------------------------------------------------------- recipes
# Each recipe takes (release, source) notebooks and returns the submitted notebook
# (a NotebookNode), raw bytes (for broken files), or (file name, bytes) for a file
# saved under another name. (Git keeps no empty folders, so every folder gets a file.)

def correct(release, source):
    return filled_release(release, source)


def untouched(release, source):
    return copy.deepcopy(release)


def first_half(release, source):
    nb = filled_release(release, source)
    answers = [c for c in nb.cells if is_answer(c)]
    released = {grade_id(c): c.source for c in release.cells if is_answer(c)}
    for cell in answers[len(answers) // 2:]:
        cell.source = released[grade_id(cell)]
    return nb


def misconception(code):
    return lambda release, source: append_code(filled_release(release, source), code)


def _with_answer_suffix(code):
    """Correct answers, then ``code`` at the end of the last answer cell."""
    def recipe(release, source):
        nb = filled_release(release, source)
        last = [c for c in nb.cells if is_answer(c) and c.cell_type == "code"][-1]
        last.source += "\n\n" + code.strip() + "\n"
        return nb
    return recipe


def _with_extra_cell(code):
    def recipe(release, source):
        nb = filled_release(release, source)
        nb.cells.append(nbformat.v4.new_code_cell(code, id="extra-cell"))
        return nb
    return recipe


def invalid_json(release, source):
    text = nbformat.writes(filled_release(release, source))
    return text[: len(text) // 2].encode()  # an upload cut short


def misnamed(release, source):
    """The notebook uploaded under another name: the expected one is missing."""
    return "{name} (1).ipynb", nbformat.writes(filled_release(release, source)).encode()


def _edit_graded(action):
    def recipe(release, source):
        nb = filled_release(release, source)
        graded = [i for i, c in enumerate(nb.cells) if is_graded(c)]
        action(nb, graded)
        return nb
    return recipe


def _delete_first_test(nb, graded):
    del nb.cells[graded[0]]


def _retype_first_test(nb, graded):
    cell = nb.cells[graded[0]]
    nb.cells[graded[0]] = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata, id=cell.get("id"))


def _duplicate_first_test(nb, graded):
    nb.cells.insert(graded[0] + 1, copy.deepcopy(nb.cells[graded[0]]))
    nb.cells[graded[0] + 1]["id"] = "copied-test-cell"


def _insert_cells(nb, graded):
    for i in reversed(graded[::3]):
        nb.cells.insert(i, nbformat.v4.new_code_cell("# trying things out\nprint('checking my work')",
                                                     id=f"inserted-{i}"))
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("My notes on this problem set.", id="inserted-notes"))


def edited_tests(release, source):
    """Wrong answers, and every locked test cell replaced by ``pass``."""
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        if is_answer(cell):
            cell.source = "\n".join(f"def {n}(*args, **kwargs):\n    return 0" for n in _defined(cell.source))
        elif is_graded(cell):
            cell.source = "pass"
    return nb


def _wrong_answers_then(code):
    def recipe(release, source):
        nb = copy.deepcopy(release)
        answers = [c for c in nb.cells if is_answer(c)]
        for cell in answers:
            cell.source = "\n".join(f"def {n}(*args, **kwargs):\n    return 0" for n in _defined(cell.source))
        answers[0].source = code.strip() + "\n\n" + answers[0].source
        return nb
    return recipe


def reference_answers(release, source):
    """Every answer replaced by an import of the course's reference implementation."""
    import graders

    nb = copy.deepcopy(release)
    for cell in nb.cells:
        if is_answer(cell):
            names = _defined(cell.source)
            ours = [n for n in names if n in graders.__all__]
            stubs = [f"def {n}(*args, **kwargs):\n    return 0" for n in names if n not in graders.__all__]
            cell.source = "\n".join(([f"from graders import {', '.join(ours)}"] if ours else []) + stubs)
    return nb


def _defined(source):
    import re

    return re.findall(r"^def\s+([A-Za-z_]\w*)\s*\(", source, re.M) or ["answer"]


# The release's stub (`# YOUR CODE HERE`, `raise NotImplementedError()`) at any indentation: code
# written in its place keeps that indentation.
_STUB = re.compile(r"^([ \t]*)" + r"\n[ \t]*".join(map(re.escape, CODE_STUB.splitlines())) + r"[ \t]*$", re.M)


def own_answers(bodies: dict[str, str | tuple[str, ...]], helpers: dict[str, str] | None = None):
    """A student's own code: in each answer cell named in ``bodies`` (by grade id) the release's stub
    gives way to the body (a tuple: one body per stub of the cell, in order), and ``helpers`` (by grade
    id) come before the cell's given code. The given signatures and docstrings stay, as a student
    leaves them."""
    helpers = helpers or {}

    def recipe(release, source):
        nb = copy.deepcopy(release)
        for cell in nb.cells:
            gid = grade_id(cell)
            if not is_answer(cell) or gid not in bodies:
                continue
            written = (bodies[gid],) if isinstance(bodies[gid], str) else bodies[gid]
            if len(_STUB.findall(cell.source)) != len(written):
                raise ValueError(f"Expected {len(written)} stub(s) of the release in answer cell {gid!r}. "
                                 f"Received: {cell.source!r}")
            for body in written:
                code = textwrap.dedent(body).strip("\n")
                cell.source = _STUB.sub(lambda m, code=code: textwrap.indent(code, m.group(1)), cell.source, count=1)
            if gid in helpers:
                cell.source = helpers[gid].strip("\n") + "\n\n\n" + cell.source
        return nb
    return recipe


# dana's ps2: correct (graders.reference agrees), and structured unlike solutions/ps2_dropout: a rate
# helper of her own, the mask filled in by indexing, the training branch first, np.where backwards.
DANA = own_answers({
    "dropout_mask_answer": """
        keep_prob = 1 - checked_rate(rate)
        draws = rng.random(shape)
        mask = np.zeros_like(draws)
        mask[draws < keep_prob] = 1.0   # kept units
        return mask
    """,
    "dropout_forward_answer": """
        data = np.asarray(x)
        if data.dtype.kind != "f":      # ints and bools become float64
            data = data.astype(np.float64)
        checked_rate(rate)
        if np.any(data != data):        # NaN is the only value not equal to itself
            raise ValueError("x has NaN entries")
        if training:
            mask = dropout_mask(data.shape, rate, rng)
            scaled = data * (mask / (1 - rate))
            return scaled.astype(data.dtype), mask
        return data, None
    """,
    "dropout_backward_answer": """
        grad = np.asarray(dout)
        if grad.dtype.kind != "f":
            grad = grad.astype(np.float64)
        keep_prob = 1 - checked_rate(rate)
        if mask is None:                # inference: nothing was dropped
            return grad
        mask = np.asarray(mask)
        if grad.shape != mask.shape:
            raise ValueError(f"dout has shape {grad.shape} but mask has shape {mask.shape}")
        return np.where(mask > 0, grad / keep_prob, 0.0).astype(grad.dtype)
    """,
}, helpers={"dropout_mask_answer": """
def checked_rate(rate):
    # a drop probability: 0 keeps everything, 1 would keep nothing
    if rate < 0 or rate >= 1:
        raise ValueError(f"rate must satisfy 0 <= rate < 1, got {rate}")
    return rate
"""})

# erin's ps2 is dana's: every name renamed, other comments, another layout (what a copy looks like).
ERIN = own_answers({
    "dropout_mask_answer": """
        p_keep = 1 - validate_p(rate)
        u = rng.random(shape)
        m = np.zeros_like(u)
        m[u < p_keep] = 1.0
        return m
    """,
    "dropout_forward_answer": """
        arr = np.asarray(x)
        if arr.dtype.kind != 'f': arr = arr.astype(np.float64)
        validate_p(rate)
        # reject missing values
        if np.any(arr != arr): raise ValueError('input contains NaN')
        if training:
            keep = dropout_mask(arr.shape, rate, rng)
            result = arr * (keep / (1 - rate))
            return result.astype(arr.dtype), keep
        return arr, None
    """,
    "dropout_backward_answer": """
        g = np.asarray(dout)
        if g.dtype.kind != 'f': g = g.astype(np.float64)
        p_keep = 1 - validate_p(rate)
        if mask is None: return g
        mask = np.asarray(mask)
        # shapes have to agree
        if g.shape != mask.shape:
            raise ValueError(
                f'shape mismatch: {g.shape} vs {mask.shape}'
            )
        return np.where(mask > 0,
                        g / p_keep,
                        0.0).astype(g.dtype)
    """,
}, helpers={"dropout_mask_answer": """
def validate_p(p):
    if p < 0 or p >= 1:
        raise ValueError(f'bad rate {p}')
    return p
"""})


HOSTILE = {
    "h_loop": _with_extra_cell("# keep training forever\nwhile True:\n    pass"),
    "h_memory": _with_answer_suffix("big = np.ones((50_000, 50_000))  # 20 GB"),
    "h_exit": _with_answer_suffix("import os\nos._exit(0)"),
    "h_print": _with_extra_cell("print('x' * 100_000_000)  # 100 MB"),
    "h_badjson": invalid_json,
    "h_missing": misnamed,
    "h_deleted": _edit_graded(_delete_first_test),
    "h_edited": edited_tests,
    "h_retyped": _edit_graded(_retype_first_test),
    "h_duplicated": _edit_graded(_duplicate_first_test),
    "h_inserted": _edit_graded(_insert_cells),
    "h_silenced": _wrong_answers_then(
        "from IPython import get_ipython\nget_ipython().showtraceback = lambda *a, **k: None\n"
        "get_ipython().showsyntaxerror = lambda *a, **k: None"),
    "h_monkeypatch": _wrong_answers_then(
        "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"
        "np.array_equal = lambda *a, **k: True"),
    "h_reference": reference_answers,
    "h_reader": _with_answer_suffix(
        "import glob, os\nfor pattern in ['../../../solutions/*/*.ipynb', '/work/*/solutions/*/*.ipynb',\n"
        "                '/tmp/graders-tasks/*/gradebook.db', '../../../gradebook.db']:\n"
        "    for path in glob.glob(pattern) or [pattern]:\n"
        "        try:\n            print(open(path, 'rb').read(100))\n"
        "        except Exception as exc:\n            print(type(exc).__name__, exc)"),
}


def plan(misconceptions: dict[str, list[dict]], assignments: list[str]) -> dict[str, dict[str, object]]:
    """student -> assignment -> recipe."""
    numpy_assignments = [a for a in assignments if a != "ps5_keras"]
    students: dict[str, dict[str, object]] = {
        "alice": {a: correct for a in assignments},
        "bob": {a: untouched for a in numpy_assignments},
        "carol": {a: first_half for a in numpy_assignments},
    }
    for k in range(6):
        sid = f"m{k + 1:02d}"
        students[sid] = {}
        for a in assignments:
            items = misconceptions.get(a, [])
            if not items or (a == "ps5_keras" and k >= 3):  # Keras notebooks are slow: three of them
                continue
            students[sid][a] = misconception(items[k % len(items)]["code"])
    if "ps2_dropout" in assignments:
        students["dana"] = {"ps2_dropout": DANA}
        students["erin"] = {"ps2_dropout": ERIN}
    for sid, recipe in HOSTILE.items():
        students[sid] = {"ps1_penalties": recipe}
    return students


# When each submission was handed in (timestamp.txt, as `nbgrader submit` writes it), against the demo
# term's due dates (tests/demo_term/: due_dates.csv, extensions.csv): a day early, except for these.
LATE = {
    ("carol", "ps2_dropout"): timedelta(hours=1),                # one started day: 10 %
    ("m01", "ps1_penalties"): timedelta(days=2, hours=19),       # three started days: 30 %
    ("m02", "ps3_early_stopping"): timedelta(days=20),           # the cap: 50 %
    ("m03", "ps4_batchnorm"): timedelta(hours=10),               # a 1-day extension: on time
    ("m04", "ps1_penalties"): timedelta(minutes=10),             # within the grace period
    ("m05", "ps2_dropout"): timedelta(hours=8),                  # 2 h after a 6-hour extension: 10 %
    ("alice", "ps5_keras"): timedelta(days=1, hours=1),          # two started days: 20 %
}


def timestamp(student: str, assignment: str, due: dict) -> str:
    when = due[assignment] + LATE.get((student, assignment), -timedelta(days=1))
    return f"{when:%Y-%m-%d %H:%M:%S}.000000 UTC"


def build(dest: Path = COHORT, only: list[str] | None = None) -> dict[str, dict[str, object]]:
    from graders.course_config import assignments
    from graders.pipeline.late import read_due_dates

    due = read_due_dates(TERM / "due_dates.csv", assignments())
    notebooks = _assignment_notebooks()
    students = plan(_load_misconceptions(), sorted(notebooks))
    if only:
        students = {s: r for s, r in students.items() if s in only}
    if dest.exists():
        shutil.rmtree(dest)
    for sid, recipes in students.items():
        for aid, recipe in recipes.items():
            folder = dest / sid / aid
            folder.mkdir(parents=True, exist_ok=True)
            for name, release, source in notebooks[aid]:
                made = recipe(release, source)
                filename = f"{name}.ipynb"
                if isinstance(made, tuple):  # (file name pattern, bytes)
                    filename, made = made[0].format(name=name), made[1]
                data = made if isinstance(made, bytes) else nbformat.writes(made).encode()
                (folder / filename).write_bytes(data)
            (folder / "timestamp.txt").write_text(timestamp(sid, aid, due) + "\n")
    unsafe = dest / UNSAFE_ID / "ps1_penalties"
    unsafe.mkdir(parents=True)
    name, release, source = notebooks["ps1_penalties"][0]
    (unsafe / f"{name}.ipynb").write_bytes(nbformat.writes(correct(release, source)).encode())
    return students


if __name__ == "__main__":
    made = build()
    print(f"wrote {len(made) + 1} students to {COHORT}")
