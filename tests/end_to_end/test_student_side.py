"""The student side holds no answers: the release runs where ``graders`` cannot be imported.

``graders`` is the set of reference answers, so a student's environment must not install it.
Each release notebook, with a solution filled in, is validated by nbgrader's own ``validate``
in a Python environment that has the course's dependencies but not ``graders`` (a venv whose
site-packages line points at ``.venv``'s packages without running its ``.pth`` hooks, which
is where the editable ``graders`` install lives). Negative controls show the check is real:
``import graders`` fails there, and the untouched release does not validate.
"""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

from graders.authoring.notebooks import filled_release
from graders.cells import is_answer

from nbgrader_course import EXERCISES, SOLUTIONS, assignments

pytestmark = pytest.mark.grading
SUCCESS = "Success! Your notebook passes all the tests."


@pytest.fixture(scope="module")
def student_python(tmp_path_factory) -> Path:
    """A Python with the course's third-party packages and without ``graders``."""
    env_dir = tmp_path_factory.mktemp("student-env") / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    site = Path(sysconfig.get_paths(vars={"base": str(env_dir), "platbase": str(env_dir)})["purelib"])
    # A plain path line: the directory joins sys.path, but its own .pth files (graders') do not run.
    (site / "course-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env_dir / "bin" / "python"


def _validate(python: Path, folder: Path, notebook: Path) -> str:
    env = {"PATH": f"{python.parent}{os.pathsep}/usr/bin:/bin", "HOME": str(folder), "LANG": "C.UTF-8",
           "JUPYTER_CONFIG_DIR": str(folder / ".jupyter"), "JUPYTER_DATA_DIR": str(folder / ".jupyter-data"),
           "MPLBACKEND": "Agg"}
    done = subprocess.run([str(python), "-m", "nbgrader", "validate", notebook.name], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=900)
    return done.stdout + done.stderr


def _release_copy(assignment: str, tmp_path: Path) -> Path:
    folder = tmp_path / assignment
    shutil.copytree(EXERCISES / assignment, folder)
    return folder


def test_graders_is_not_importable_there(student_python, tmp_path):
    done = subprocess.run([str(student_python), "-c", "import numpy, matplotlib, nbgrader; import graders"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode != 0 and "No module named 'graders'" in done.stderr, done.stderr


@pytest.mark.parametrize("assignment", assignments())
def test_release_code_imports_nothing_from_graders(assignment):
    for path in sorted((EXERCISES / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            for node in ast.walk(ast.parse(cell.source)):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                assert not [n for n in names if n.split(".")[0] == "graders"], f"{path.name}: {cell.source[:200]}"


@pytest.mark.parametrize("assignment", assignments())
def test_solved_release_validates_without_graders(student_python, tmp_path, assignment):
    folder = _release_copy(assignment, tmp_path)
    for path in sorted(folder.glob("*.ipynb")):
        release = nbformat.read(path, as_version=4)
        source = nbformat.read(SOLUTIONS / assignment / path.name, as_version=4)
        nbformat.write(filled_release(release, source), path)
        output = _validate(student_python, folder, path)
        assert SUCCESS in output, f"{assignment}/{path.name} does not validate without graders:\n{output[-3000:]}"


def test_untouched_release_and_a_graders_import_do_not_validate(student_python, tmp_path):
    """Controls: ``validate`` really runs the tests, in the environment without ``graders``. A solved
    notebook whose first answer cell starts with ``import graders`` validates with the course's own
    Python, and fails in the student's (the import fails, so the cell defines nothing)."""
    folder = _release_copy("ps2_dropout", tmp_path)
    path = next(folder.glob("*.ipynb"))
    untouched = _validate(student_python, folder, path)
    assert SUCCESS not in untouched and "NotImplementedError" in untouched, untouched[-2000:]
    nb = filled_release(nbformat.read(path, as_version=4), nbformat.read(SOLUTIONS / "ps2_dropout" / path.name,
                                                                          as_version=4))
    answer = next(c for c in nb.cells if c.cell_type == "code" and is_answer(c))
    answer.source = "import graders  # installed with the course, not for students\n" + answer.source
    nbformat.write(nb, path)
    assert SUCCESS in _validate(Path(sys.executable), folder, path)
    importing = _validate(student_python, folder, path)
    assert SUCCESS not in importing and "is not defined" in importing, importing[-2000:]
