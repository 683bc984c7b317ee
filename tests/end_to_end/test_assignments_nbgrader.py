"""End-to-end tests of every assignment with the real nbgrader.

For every assignment in ``solutions/`` (ps4/ps5 join automatically) a temporary
course directory gets the repository's ``nbgrader_config.py``, the real
``generate_assignment``, and one ``nbgrader autograde <assignment>`` call that
grades all of that assignment's test students at once:

* ``solution``  – the source notebook itself: full marks on every graded cell;
* ``release``   – the untouched student release: 0 points, graded without a crash;
* ``m-<name>``  – for each misconception in ``tests/misconceptions/<assignment>.py``:
  the release filled with the solutions, plus the buggy code appended to the
  answer cell that defines the function; it loses points exactly on the cells in
  ``loses``, each with the expected diagnosis, and keeps full marks elsewhere;
* ``h-<name>``  – hostile notebooks (one NumPy assignment is enough): wrong answers
  with NumPy's comparison helpers patched, the reference implementation imported
  from ``graders``, and locked test cells deleted, edited to ``pass`` and turned
  into markdown; none gains a point.

Also: no line of solution code and no hidden-test text appears in ``exercises/``,
and ``exercises/`` is what ``python -m graders.authoring.release`` generates (``--check``).
Set NBGRADER_TEST_ASSIGNMENTS=ps1_penalties,... to run only some assignments.
"""
from __future__ import annotations

import json
import os
import time

import nbformat
import pytest

from nbgrader_course import (TIMING_LINES, BEGIN_HIDDEN, BEGIN_SOLUTION, END_HIDDEN, END_SOLUTION, EXERCISES, ROOT, Course,
                             append_code, assignments, cell_error, cell_output_text, expected_messages,
                             filled_release, find_cell, graded_cells, is_answer, misconception_modules,
                             nbgrader_meta, read, regions, source_notebooks)

pytestmark = pytest.mark.grading

# NBGRADER_TEST_ASSIGNMENTS=ps1_penalties,ps3_early_stopping limits the run to some assignments.
_ONLY = [a for a in os.environ.get("NBGRADER_TEST_ASSIGNMENTS", "").split(",") if a]
ASSIGNMENTS = [a for a in assignments() if not _ONLY or a in _ONLY]
MISCONCEPTIONS = misconception_modules()
HOSTILE_ASSIGNMENT = "ps2_dropout"

# Misconceptions marked end_to_end=False (slow Keras notebooks) are tested on the checks directly
# (tests/checks/test_checks_ps4_ps5.py) and not submitted here.
MISCONCEPTION_CASES = [(a, m["name"]) for a in ASSIGNMENTS if a in MISCONCEPTIONS
                       for m in MISCONCEPTIONS[a].MISCONCEPTIONS if m.get("end_to_end") is not False]


def _notebook_name(assignment: str) -> str:
    paths = source_notebooks(assignment)
    assert len(paths) == 1, f"expected one notebook in solutions/{assignment}/, found {paths}"
    return paths[0].stem


def _misconception(assignment: str, name: str) -> dict:
    return next(m for m in MISCONCEPTIONS[assignment].MISCONCEPTIONS if m["name"] == name)


# --------------------------------------------------------------------------- #
# Hostile students
# --------------------------------------------------------------------------- #
_PATCH_NUMPY = '''
import numpy as np
import numpy.testing
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_equal = lambda *args, **kwargs: None
np.sum = lambda *args, **kwargs: 0.0
np.abs = lambda x, *args, **kwargs: x
'''

_WRONG_MASK = '''
def dropout_mask(shape, rate, rng):
    return np.ones(shape)
'''

_REFERENCE_ANSWERS = [  # (answer cell, code): the course's reference implementation, imported two ways
    ("dropout_forward_answer", "from graders import dropout_forward\n"),
    ("dropout_backward_answer", "import graders\n\n\ndef dropout_backward(dout, mask, rate):\n"
                                "    return graders.dropout_backward(dout, mask, rate)\n"),
]

# Tampering with locked test cells, one way per cell; the misconception loses all of them.
TAMPER_MISCONCEPTION = "keep_probability_used_as_drop_probability"
TAMPERED = {"dropout_mask_values": "deleted", "dropout_mask_properties": "edited to pass",
            "dropout_forward_scaling": "turned into markdown"}


def _hostile_students(filled_nb, graded: dict) -> dict[str, tuple[object, dict]]:
    """student -> (notebook, {grade_id: 'zero' | 'full'}) for HOSTILE_ASSIGNMENT."""
    students = {}

    # 1. Cheating answers: a wrong mask with NumPy's comparison helpers patched to always agree
    #    (so that the visible tests pass), and the reference implementation imported from graders.
    nb = append_code(filled_nb, _PATCH_NUMPY + _WRONG_MASK, cell_id="dropout_mask_answer")
    for cell_id, code in _REFERENCE_ANSWERS:
        nb = append_code(nb, code, cell_id=cell_id)
    students["h-cheating-answers"] = (nb, {g: "zero" for g in graded})

    # 2. Locked test cells deleted, edited (and unlocked in the metadata), turned into markdown.
    misconception = _misconception(HOSTILE_ASSIGNMENT, TAMPER_MISCONCEPTION)
    nb = append_code(filled_nb, misconception["code"])
    for i, cell in reversed(list(enumerate(nb.cells))):
        how = TAMPERED.get(nbgrader_meta(cell).get("grade_id"))
        if how == "deleted":
            del nb.cells[i]
        elif how == "edited to pass":
            cell.source = "pass"
            cell.metadata["nbgrader"]["locked"] = False
            cell.metadata.pop("editable", None)
        elif how == "turned into markdown":
            nb.cells[i] = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata, id=cell.get("id"))
    expect = {g: "zero" if g in misconception["loses"] else "full" for g in graded}
    assert set(TAMPERED) <= set(misconception["loses"])
    students["h-tampered-test-cells"] = (nb, expect)
    return students


# --------------------------------------------------------------------------- #
# The course: generated, submitted and autograded once per test session
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="session")
def course(tmp_path_factory):
    if not ASSIGNMENTS:
        pytest.skip("no assignments in solutions/")
    started = time.monotonic()
    course = Course(tmp_path_factory.mktemp("course"), ASSIGNMENTS)
    course.generate()
    course.expectations = {}
    for assignment in ASSIGNMENTS:
        notebook = _notebook_name(assignment)
        source_path = course.root / "solutions" / assignment / f"{notebook}.ipynb"
        source, release = read(source_path), course.release_notebook(assignment, notebook)
        graded = graded_cells(source)
        filled = filled_release(release, source)
        course.submit(assignment, "solution", notebook, source)
        course.submit(assignment, "release", notebook, release)
        for m in (MISCONCEPTIONS[assignment].MISCONCEPTIONS if assignment in MISCONCEPTIONS else []):
            if (assignment, m["name"]) not in MISCONCEPTION_CASES:
                continue
            course.submit(assignment, f"m-{m['name']}", notebook, append_code(filled, m["code"], m.get("cell")))
        if assignment == HOSTILE_ASSIGNMENT:
            for student, (nb, expect) in _hostile_students(filled, graded).items():
                course.submit(assignment, student, notebook, nb)
                course.expectations[(assignment, student)] = expect
    prepared = time.monotonic()
    course.autograde()
    course.setup_seconds = prepared - started
    course.total_seconds = time.monotonic() - started
    TIMING_LINES[:] = _timing_report(course).strip().splitlines()
    return course


def _timing_report(course: Course) -> str:
    lines = [f"nbgrader end-to-end: setup {course.setup_seconds:.0f} s, total {course.total_seconds:.0f} s"]
    for name in course.names:
        n = len(course.students[name])
        seconds = course.timings.get(name, float("nan"))
        lines.append(f"  autograde {name}: {n} notebooks in {seconds:.0f} s ({seconds / max(n, 1):.1f} s/notebook, "
                     "in parallel with the others)")
    return "\n".join(lines) + "\n"


def _grades(course, assignment):
    if not hasattr(course, "_grades"):
        course._grades = {}
    if assignment not in course._grades:
        course._grades[assignment] = course.grades(assignment)
    return course._grades[assignment]


def _student(course, assignment, student):
    rc = course.returncodes.get(assignment)
    assert rc == 0, f"nbgrader autograde {assignment} exited {rc}:\n{course.log(assignment)[-3000:]}"
    grades = _grades(course, assignment)
    assert student in grades, f"{student} was not graded:\n{course.log(assignment)[-3000:]}"
    return grades[student], course.autograded_notebook(assignment, student, _notebook_name(assignment))


# --------------------------------------------------------------------------- #
# Tests
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_notebook_gets_full_marks(course, assignment):
    grades, nb = _student(course, assignment, "solution")
    expected = graded_cells(read(source_notebooks(assignment)[0]))
    assert set(grades) == set(expected)
    lost = {g: s for g, s in grades.items() if s[0] != s[1]}
    assert not lost, {g: cell_output_text(find_cell(nb, g))[-800:] for g in lost}
    assert sum(max_score for _, max_score in grades.values()) == sum(c["points"] for c in expected.values())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_gets_zero_without_breaking_the_grader(course, assignment):
    grades, nb = _student(course, assignment, "release")
    assert grades and all(score == 0 for score, _ in grades.values()), grades
    for grade_id in grades:
        error = cell_error(find_cell(nb, grade_id))
        assert error and "not implemented" in (error[0] + error[1]), (grade_id, error)


@pytest.mark.parametrize("assignment,name", MISCONCEPTION_CASES, ids=[f"{a}-{n}" for a, n in MISCONCEPTION_CASES])
def test_misconception_loses_points_on_the_right_cells_with_a_diagnosis(course, assignment, name):
    misconception = _misconception(assignment, name)
    grades, nb = _student(course, assignment, f"m-{name}")
    unknown = set(misconception["loses"]) - set(grades)
    assert not unknown, f"`loses` names cells that do not exist: {unknown}"
    lost = {g for g, (score, max_score) in grades.items() if score < max_score}
    outputs = {g: cell_output_text(find_cell(nb, g)) for g in lost | set(misconception["loses"])}
    assert lost == set(misconception["loses"]), {g: outputs[g][-600:] for g in lost ^ set(misconception["loses"])}
    for grade_id, substring in expected_messages(misconception).items():
        error = cell_error(find_cell(nb, grade_id))
        assert error is not None and error[1].strip(), f"{grade_id}: a bare error without a message"
        assert substring in outputs[grade_id], (grade_id, substring, outputs[grade_id][-800:])


@pytest.mark.parametrize("student", ["h-cheating-answers", "h-tampered-test-cells"])
def test_hostile_notebook_gains_nothing(course, student):
    if HOSTILE_ASSIGNMENT not in ASSIGNMENTS:
        pytest.skip(f"{HOSTILE_ASSIGNMENT} is not in solutions/")
    grades, nb = _student(course, HOSTILE_ASSIGNMENT, student)
    expect = course.expectations[(HOSTILE_ASSIGNMENT, student)]
    assert set(grades) == set(expect)
    wrong = {g: grades[g] for g, what in expect.items()
             if (what == "zero") != (grades[g][0] == 0) or (what == "full" and grades[g][0] != grades[g][1])}
    assert not wrong, {g: cell_output_text(find_cell(nb, g))[-600:] for g in wrong}
    if student == "h-cheating-answers":
        for grade_id in graded_cells(read(source_notebooks(HOSTILE_ASSIGNMENT)[0])):
            if grade_id.startswith(("dropout_forward", "dropout_backward")):
                assert "reference implementation" in cell_output_text(find_cell(nb, grade_id))
    else:
        # Each tampered cell is back, locked, with its hidden tests, and says why it failed.
        for grade_id in TAMPERED:
            cell = find_cell(nb, grade_id)
            assert cell.cell_type == "code" and "pass" != cell.source.strip()
            assert "drop probability" in cell_output_text(cell), cell_output_text(cell)[-600:]


def test_feedback_shows_the_diagnosis_but_not_the_hidden_tests(course):
    """nbgrader's HTML feedback: the hidden tests are cleared from the cells (for a passing
    notebook, no trace of them at all); a failing cell shows its diagnosis."""
    from graders.course_config import load, nbgrader_api

    assignment = next(a for a in ASSIGNMENTS if a in MISCONCEPTIONS and MISCONCEPTIONS[a].MISCONCEPTIONS)
    misconception = MISCONCEPTIONS[assignment].MISCONCEPTIONS[0]
    api = nbgrader_api(load(root=course.root, source_directory="solutions", release_directory="release",
                            submitted_directory="submitted", autograded_directory="autograded",
                            feedback_directory="feedback", db_url=course.db_url(assignment)))
    html = {}
    for student in ("solution", f"m-{misconception['name']}"):
        result = api.generate_feedback(assignment, student)
        assert result["success"], result.get("log", "") + result.get("error", "")
        (path,) = (course.root / "feedback" / student / assignment).glob("*.html")
        html[student] = path.read_text()
    for hidden_text in (BEGIN_HIDDEN, "del sys.modules", "run_check("):
        assert hidden_text not in html["solution"]
    message = next(iter(expected_messages(misconception).values()))
    assert message.replace("<", "&lt;").replace(">", "&gt;") in html[f"m-{misconception['name']}"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_assignment_has_misconceptions(assignment):
    assert assignment in MISCONCEPTIONS, f"tests/misconceptions/{assignment}.py is missing"
    module = MISCONCEPTIONS[assignment]
    assert module.NOTEBOOK == _notebook_name(assignment)
    graded = graded_cells(read(source_notebooks(assignment)[0]))
    for m in module.MISCONCEPTIONS:
        assert m["loses"] and set(m["loses"]) <= set(graded), (m["name"], set(m["loses"]) - set(graded))


# --------------------------------------------------------------------------- #
# Static: what the release must not contain, and that it is not stale
# --------------------------------------------------------------------------- #
def _secret_lines(source_nb) -> set[str]:
    """Lines of solution code and hidden tests that appear nowhere else in the source notebook."""
    secret, public = set(), []
    for cell in source_nb.cells:
        src = cell.source
        hidden = [line for block in regions(src, BEGIN_SOLUTION, END_SOLUTION) + regions(src, BEGIN_HIDDEN, END_HIDDEN)
                  for line in block]
        if is_answer(cell) and cell.cell_type == "markdown" and BEGIN_SOLUTION not in src:
            hidden += src.splitlines()  # a whole markdown answer is replaced by the stub
        secret.update(line.strip() for line in hidden)
        hidden_set = set(hidden)
        public += [line.strip() for line in src.splitlines() if line not in hidden_set]
    markers = {BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN}
    trivial = {"", "else:", "try:", "pass", "continue", "break", "return", "import sys", "import numpy as np",
               ")", "]", "}", "return out", "return x", "return w"}
    return {s for s in secret - set(public) - markers - trivial if len(s) >= 8 and not s.startswith("#")}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercises_contain_no_solution_code_and_no_hidden_tests(assignment):
    folder = EXERCISES / assignment
    assert folder.is_dir(), f"exercises/{assignment}/ is missing: run `make exercises`"
    secrets_ = _secret_lines(read(source_notebooks(assignment)[0]))
    assert secrets_, "found no solution or hidden-test lines to look for"
    leaks = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = path.read_text(errors="replace")
        if path.suffix == ".ipynb":
            nb = read(path)
            text = "\n".join(c.source for c in nb.cells) + "\n" + "\n".join(
                cell_output_text(c) for c in nb.cells if c.cell_type == "code")
        lines = {line.strip() for line in text.splitlines()}
        leaks += [f"{path.relative_to(ROOT)}: {s}" for s in sorted(secrets_ & lines)]
        for marker in (BEGIN_SOLUTION, BEGIN_HIDDEN, "run_check("):
            if marker in text:
                leaks.append(f"{path.relative_to(ROOT)}: contains {marker!r}")
    assert not leaks, "\n".join(leaks)


def test_release_is_not_stale(course, capsys):
    """What ``python -m graders.authoring.release --check`` does, on the release the course generated
    from the same solutions (regenerating would cost another nbgrader start)."""
    from graders.authoring import release
    from graders.course_config import assignments

    every = ASSIGNMENTS == assignments()
    status = release.check(ASSIGNMENTS, all_assignments=every, fresh=course.root / "release")
    assert status == 0, capsys.readouterr().err


def test_release_check_command_reports_a_stale_release(course, tmp_path, monkeypatch, capsys):
    """``python -m graders.authoring.release --check <assignment>`` (its main(), in this process where
    nbgrader is already imported) regenerates, exits 1 and names the edited notebook.
    It runs on a copy of exercises/, so the real one is never touched."""
    import shutil

    from graders.authoring import release

    name = next(a for a in ASSIGNMENTS if (EXERCISES / a).is_dir())
    copy_dir = tmp_path / "exercises"
    shutil.copytree(EXERCISES / name, copy_dir / name)
    path = next((copy_dir / name).glob("*.ipynb"))
    data = json.loads(path.read_text())
    data["cells"][0]["source"] = "edited by hand"
    path.write_text(json.dumps(data))
    monkeypatch.setattr(release, "RELEASE", copy_dir)
    assert release.main(["--check", name]) == 1
    assert f"exercises/{name}: stale: {path.name}: cell 0" in capsys.readouterr().err


def test_release_check_names_stale_and_missing_files(tmp_path, monkeypatch):
    """``--check`` compares notebooks cell by cell and names each difference."""
    import shutil

    from graders.authoring import release

    name = ASSIGNMENTS[0]
    fresh, committed = tmp_path / "fresh", tmp_path / "committed"
    shutil.copytree(EXERCISES / name, fresh)
    shutil.copytree(EXERCISES / name, committed)
    assert release.compare(fresh, committed) == []
    nb_path = next(committed.glob("*.ipynb"))
    # Volatile fields (metadata Jupyter adds on saving) do not count ...
    data = json.loads(nb_path.read_text())
    data["metadata"]["language_info"] = {"name": "python", "version": "3.11.7"}
    for cell in data["cells"]:
        cell["metadata"]["collapsed"] = False
    nb_path.write_text(json.dumps(data))
    assert release.compare(fresh, committed) == []
    # ... a changed source does, and so do missing and extra files.
    data["cells"][0]["source"] = "".join(data["cells"][0]["source"]) + "\nedited"
    nb_path.write_text(json.dumps(data))
    (committed / "extra.txt").write_text("x")
    (fresh / "data.csv").write_text("1,2\n")
    problems = release.compare(fresh, committed)
    assert any(p.startswith("stale: " + nb_path.name) and "cell 0" in p for p in problems), problems
    assert "extra (not in the generated release): extra.txt" in problems
    assert "missing: data.csv" in problems
