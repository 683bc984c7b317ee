"""Helpers for the assignment tests: reading source notebooks, building submissions,
and running the real nbgrader in a temporary course directory.

Nothing here touches the repository's ``graders/work/``: a :class:`Course` lives in
a temporary folder, loads the repository's ``nbgrader_config.py`` (so the grading
knobs under test are the real ones) and overrides only the paths.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from graders.authoring.notebooks import TOP_LEVEL_DEF, append_code, filled_release  # noqa: F401 (re-exported)
from graders.cells import (BEGIN_HIDDEN, BEGIN_SOLUTION, END_HIDDEN, END_SOLUTION, is_answer,  # noqa: F401
                           is_graded, nbgrader_meta, regions, without_markers)
from graders.checks import CheckFailed
from graders.checks._framework import resolve

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
MISCONCEPTIONS = Path(__file__).resolve().parent / "misconceptions"
BIN = Path(sys.executable).parent
TIMING_LINES: list[str] = []  # filled by the end-to-end test, printed by conftest.py

RUN_CHECK = re.compile(r"run_check\(\s*[\"']([\w.]+:[\w.]+)[\"']\s*((?:,\s*[A-Za-z_]\w*\s*)*)")


# --------------------------------------------------------------------------- #
# Source notebooks
# --------------------------------------------------------------------------- #
def assignments() -> list[str]:
    from graders.course_config import assignments as found

    return found()


def source_notebooks(assignment: str) -> list[Path]:
    return sorted((SOLUTIONS / assignment).glob("*.ipynb"))


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def visible_part(source: str) -> str:
    """A test cell as the student sees it: without the hidden-test block."""
    lines, hidden = [], False
    for line in source.splitlines():
        if line.strip() == BEGIN_HIDDEN:
            hidden = True
        elif line.strip() == END_HIDDEN:
            hidden = False
        elif not hidden:
            lines.append(line)
    return "\n".join(lines)


def graded_cells(nb) -> dict[str, dict]:
    """grade_id -> {points, checks: [(check_id, [argument names])], source} for every graded cell."""
    cells = {}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if not meta.get("grade"):
            continue
        checks = [(m.group(1), re.findall(r"[A-Za-z_]\w*", m.group(2))) for m in RUN_CHECK.finditer(cell.source)]
        cells[meta["grade_id"]] = {"points": float(meta.get("points", 0)), "checks": checks,
                                   "source": cell.source, "cell_type": cell.cell_type}
    return cells


def solution_namespace(source_nb, folder: Path | None = None) -> dict:
    """Execute a source notebook's set-up cells and answer cells (not the tests, not the
    ungraded exploration) in a fresh namespace: the reference solution's functions. They run in
    ``folder`` (the assignment's, where its data files are) if given."""
    import contextlib

    namespace: dict = {"__name__": "solution_namespace"}
    seen_answer = False
    with contextlib.chdir(folder) if folder else contextlib.nullcontext():
        for cell in source_nb.cells:
            if cell.cell_type != "code" or is_graded(cell):
                continue
            if is_answer(cell):
                seen_answer = True
            elif seen_answer:
                continue  # exploration cells after the answers
            exec(compile(cell.source, f"<{nbgrader_meta(cell).get('grade_id', cell.get('id'))}>", "exec"), namespace)
    return namespace


# --------------------------------------------------------------------------- #
# Misconceptions (tests/misconceptions/<assignment>.py)
# --------------------------------------------------------------------------- #
def misconception_modules() -> dict[str, object]:
    """assignment -> module, for every tests/misconceptions/*.py with an ASSIGNMENT."""
    out = {}
    for path in sorted(MISCONCEPTIONS.glob("*.py")):
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"misconceptions_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if hasattr(module, "ASSIGNMENT"):
            out[module.ASSIGNMENT] = module
    return out


def expected_messages(misconception: dict) -> dict[str, str]:
    """grade_id -> substring that cell's error output must contain."""
    message = misconception.get("message", "")
    if isinstance(message, dict):
        return dict(message)
    return {grade_id: message for grade_id in misconception["loses"]}


def assert_loses_exactly_its_cells(results: dict[str, str], misconception: dict) -> None:
    """``results`` (grade_id -> failure message, "" if passed) fail on exactly the cells the
    misconception should lose, each with its diagnosis."""
    failed = {k for k, v in results.items() if v}
    assert failed == set(misconception["loses"]), {k: results[k] for k in failed}
    for grade_id, substring in expected_messages(misconception).items():
        assert substring in results[grade_id], (grade_id, results[grade_id])


# --------------------------------------------------------------------------- #
# Building submissions
# --------------------------------------------------------------------------- #
def find_cell(nb, grade_id: str):
    return next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)


def cell_output_text(cell) -> str:
    """Everything a cell printed or raised, as plain text (ANSI colours removed)."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts += [out.get("ename", ""), out.get("evalue", "")] + list(out.get("traceback", []))
        elif "data" in out:
            parts.append(str(out["data"].get("text/plain", "")))
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(parts))


def cell_error(cell) -> tuple[str, str] | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", ""), re.sub(r"\x1b\[[0-9;]*m", "", out.get("evalue", ""))
    return None


# --------------------------------------------------------------------------- #
# A temporary nbgrader course
# --------------------------------------------------------------------------- #
class Course:
    """A throwaway course directory: the repository's config, its solutions, one
    gradebook per assignment (so that assignments can be autograded in parallel)."""

    def __init__(self, root: Path, names: list[str]):
        self.root = Path(root)
        self.names = list(names)
        self.timings: dict[str, float] = {}
        self.returncodes: dict[str, int] = {}
        self.students: dict[str, list[str]] = {name: [] for name in self.names}
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            f"load_subconfig({str(ROOT / 'nbgrader_config.py')!r})\n"
            f"c.CourseDirectory.root = {str(self.root)!r}\n"
            "c.CourseDirectory.source_directory = 'solutions'\n"
            "c.CourseDirectory.release_directory = 'release'\n"
            "c.CourseDirectory.submitted_directory = 'submitted'\n"
            "c.CourseDirectory.autograded_directory = 'autograded'\n"
            "c.CourseDirectory.feedback_directory = 'feedback'\n"
            f"c.CourseDirectory.db_url = 'sqlite:///{self.root / 'unused.db'}'\n"
        )
        for name in self.names:
            shutil.copytree(SOLUTIONS / name, self.root / "solutions" / name)

    def db_url(self, name: str) -> str:
        return f"sqlite:///{self.root / f'gradebook_{name}.db'}"

    def generate(self) -> None:
        """The real ``generate_assignment`` for every assignment, into one gradebook that is
        then copied, one copy per assignment (creating a gradebook costs seconds)."""
        from graders.course_config import load, nbgrader_api
        from graders.authoring.release import generate_with

        shared = self.root / "gradebook.db"
        api = nbgrader_api(load(root=self.root, source_directory="solutions", release_directory="release",
                                submitted_directory="submitted", autograded_directory="autograded",
                                db_url=f"sqlite:///{shared}"))
        for name in self.names:
            generate_with(api, name)
        for name in self.names:
            shutil.copyfile(shared, self.root / f"gradebook_{name}.db")

    def release_notebook(self, name: str, notebook: str):
        return read(self.root / "release" / name / f"{notebook}.ipynb")

    def submit(self, name: str, student: str, notebook: str, nb) -> None:
        folder = self.root / "submitted" / student / name
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(folder / f"{notebook}.ipynb"))
        self.students[name].append(student)

    def autograde(self, max_parallel: int = 4, timeout: float = 1800.0) -> None:
        """One ``nbgrader autograde <assignment>`` process per assignment, several at once
        (each keeps well under one core busy: kernel start-up and polling dominate)."""
        env = dict(os.environ)
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        env.setdefault("MPLBACKEND", "Agg")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        # Largest batches first, so the longest one starts at once.
        pending = sorted(self.names, key=lambda n: -len(self.students[n]))
        running: dict[str, tuple[subprocess.Popen, float, object]] = {}
        deadline = time.monotonic() + timeout
        while pending or running:
            while pending and len(running) < max_parallel:
                name = pending.pop(0)
                log = open(self.root / f"autograde_{name}.log", "w")
                cmd = [str(BIN / "nbgrader"), "autograde", name, f"--CourseDirectory.db_url={self.db_url(name)}"]
                proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT)
                running[name] = (proc, time.monotonic(), log)
            for name, (proc, start, log) in list(running.items()):
                if proc.poll() is not None:
                    self.timings[name] = time.monotonic() - start
                    self.returncodes[name] = proc.returncode
                    log.close()
                    del running[name]
            if time.monotonic() > deadline:
                for proc, _, log in running.values():
                    proc.kill()
                    log.close()
                raise TimeoutError(f"nbgrader autograde did not finish in {timeout:.0f} s: {sorted(running)}")
            time.sleep(0.2)

    def log(self, name: str) -> str:
        return (self.root / f"autograde_{name}.log").read_text(errors="replace")

    def grades(self, name: str) -> dict[str, dict[str, tuple[float, float]]]:
        """student -> grade_id -> (score, max_score), read from the gradebook."""
        from nbgrader.api import Gradebook

        out: dict[str, dict[str, tuple[float, float]]] = {}
        with Gradebook(self.db_url(name)) as gb:
            for submission in gb.assignment_submissions(name):
                per_cell = out.setdefault(submission.student.id, {})
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        per_cell[grade.name] = (float(grade.score), float(grade.max_score))
        return out

    def autograded_notebook(self, name: str, student: str, notebook: str):
        return read(self.root / "autograded" / student / name / f"{notebook}.ipynb")


# --------------------------------------------------------------------------- #
# Running a notebook's checks and visible tests in this process (tests/checks/)
# --------------------------------------------------------------------------- #
_CHECK_RESULTS: dict = {}


def source_notebook(assignment: str):
    """The (single) source notebook of an assignment."""
    (path,) = source_notebooks(assignment)
    return read(path)


def run_all_checks(assignment, namespace) -> dict[str, str | None]:
    """grade_id -> None if every check of the cell passes in-process, else the failure message.

    Results are memoised by the identity of the functions passed, so that a misconception
    that replaces one function does not re-run (re-train) the checks of the others.
    """
    results = {}
    for grade_id, cell in graded_cells(source_notebook(assignment)).items():
        results[grade_id] = None
        for check_id, args in cell["checks"]:
            objects = [namespace[a] for a in args]
            key = ("result", check_id, tuple(id(o) for o in objects))
            if key not in _CHECK_RESULTS:
                try:
                    resolve(check_id)(*objects)
                    _CHECK_RESULTS[key] = (None, objects)
                except CheckFailed as exc:
                    _CHECK_RESULTS[key] = (str(exc), objects)  # keep the objects alive: ids stay unique
            if _CHECK_RESULTS[key][0]:
                results[grade_id] = _CHECK_RESULTS[key][0]
                break
    return results


def visible_failures(assignment, namespace, only_mentioning=None) -> dict[str, str]:
    """grade_id -> error of the cell's visible tests (run in order, in the notebook's namespace).

    ``only_mentioning``: run only the cells whose visible tests mention one of these names
    (the others cannot be affected by a change to those functions; the Keras ones train).
    """
    failures = {}
    ns = dict(namespace)
    for grade_id, cell in graded_cells(source_notebook(assignment)).items():
        if only_mentioning is not None and not any(re.search(rf"\b{n}\b", visible_part(cell["source"]))
                                                   for n in only_mentioning):
            continue
        try:
            exec(compile(visible_part(cell["source"]), f"<{grade_id}>", "exec"), ns)
        except Exception as exc:  # noqa: BLE001 - any failure of a visible test counts
            failures[grade_id] = f"{type(exc).__name__}: {exc}"
    return failures
