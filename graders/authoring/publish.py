"""Write the public student repository: the release, the student environment and the built book.

    python -m graders publish DIR            (make book and make exercises first)

The course repository is private: ``solutions/`` holds the solutions and hidden tests, and
``graders/`` the reference answers. What students need goes into a second, public repository,
which this command writes into ``DIR`` (a clone of it, say; its ``.git`` is kept and every other
file replaced):

    README.md            how to open the exercises (Binder, JupyterHub, locally) and read the book
    environment.yml      the student environment: environment.yml's packages marked ``[student]``
    exercises/<a>/       the release (notebooks and their data files), as nbgrader generated it
    docs/                the book, built (GitHub Pages serves docs/; .nojekyll keeps its _static/)
    chapters/NN_*.ipynb  the chapters as the build executed them, with their outputs (jupyter-cache)

The chapters' sources are not published: they import the reference answers to draw their
figures, so the public repository carries them executed (HTML and ``.ipynb`` with outputs),
and its Binder runs only what runs there, the exercises (which import nothing from
``graders``). Publishing refuses a stale release or an unbuilt book, and checks what it wrote:
no folder of the private repository, no solution or hidden-test region, no ``graders`` import
in an exercise.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "_build"
STUDENT_MARK = "[student]"
PRIVATE_PARTS = {"solutions", "graders", "benchmarks", "source_with_tests", "autograded", "submitted"}
SECRET_MARKERS = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS", "run_check(")


class PublishError(RuntimeError):
    """Publishing cannot go on; the message says what to do."""


def student_environment(environment_yml: Path = ROOT / "environment.yml") -> str:
    """The student ``environment.yml``: the course's, with only the pip packages marked ``[student]``.

    ``environment.yml`` stays the single list of dependencies; the mark says which of them a
    student needs to run the exercises (and nbgrader's Validate).
    """
    lines, out, in_pip, packages = environment_yml.read_text(encoding="utf-8").splitlines(), [], False, []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("name:"):
            out.append("name: regularization-course-student")
        elif stripped.startswith("- pip:"):
            in_pip = True
            out.append(line)
        elif in_pip and stripped.startswith("- "):
            if STUDENT_MARK in line:
                out.append(line.split("#")[0].rstrip())
                packages.append(out[-1].strip()[2:])
        elif not (in_pip and stripped.startswith("#")) and not (stripped.startswith("#") and not out):
            out.append(line)
    header = ["# The student environment of the regularization course (written by `python -m graders publish`).",
              "#   conda / mamba / Binder:  conda env create -f environment.yml",
              "#   pip:                     pip install " + " ".join(f"'{p}'" for p in packages)]
    if not any(STUDENT_MARK in ln for ln in lines):
        raise PublishError(f"Expected pip packages marked '# {STUDENT_MARK}' in {environment_yml}. Received: none.")
    return "\n".join(header + out) + "\n"


def _readme(repository_url: str, assignments: list[str]) -> str:
    from .links import binder_url

    rows = []
    for a in assignments:
        for nb in sorted((ROOT / "exercises" / a).glob("*.ipynb")):
            path = f"exercises/{a}/{nb.name}"
            rows.append(f"| `{a}` | [{nb.name}]({path}) | [Binder]({binder_url(repository_url, 'main', path)}) |")
    rows = "\n".join(rows)
    return f"""# Regularization for Neural Networks: the student repository

The book and the exercises of the course. Read the book in `docs/` (open `docs/index.html`, or the
course's published copy of it); `chapters/` has each chapter as a notebook with its outputs.

## The exercises

| assignment | notebook | run it online |
|---|---|---|
{rows}

Each notebook states what to write and has visible tests you can run. Your instructor grades it
with hidden tests. Keep the data files (`*.npz`) in the same folder as the notebook.

- **Binder**: the links above start this repository's `environment.yml` online.
- **JupyterHub**: your instructor releases the exercises there, or pulls this repository in
  (for example with nbgitpuller).
- **On your computer**: `conda env create -f environment.yml`, `conda activate
  regularization-course-student`, `jupyter lab`. Before you submit, *Validate* the notebook (or
  run `nbgrader validate NOTEBOOK.ipynb`).

The chapters' notebooks are for reading: their code uses the course's own implementations, which
are the answers to the exercises and so are not part of this repository.
"""


def _repository_url() -> str:
    import yaml

    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]


def _clear(dest: Path) -> None:
    """Empty ``dest`` except its ``.git`` (a clone of the public repository stays one)."""
    dest.mkdir(parents=True, exist_ok=True)
    for child in dest.iterdir():
        if child.name == ".git":
            continue
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()


def _check_inputs(assignments: list[str]) -> None:
    from . import release

    if release.check(assignments, all_assignments=True) != 0:
        raise PublishError("exercises/ is not what solutions/ generates: run `make exercises` and commit it.")
    if not (BUILD / "html" / "index.html").is_file():
        raise PublishError(f"Expected the built book in {BUILD / 'html'}. Received: no index.html (run `make book`).")


def executed_chapters() -> dict[str, object]:
    """Each chapter (``book/NN_*.md``) as the notebook the book build executed, outputs included.

    Taken from the build's jupyter-cache, matched to the chapter's current source the way the
    build matches it; a chapter changed since the last ``make book`` is refused.
    """
    from jupyter_cache import get_cache
    from myst_nb.core.read import read_myst_markdown_notebook

    cache = get_cache(str(BUILD / ".jupyter_cache"))
    out = {}
    for chapter in sorted((ROOT / "book").glob("[0-9][0-9]_*.md")):
        nb = read_myst_markdown_notebook(chapter.read_text(encoding="utf-8"))
        try:
            _, out[chapter.stem] = cache.merge_match_into_notebook(nb)
        except KeyError:
            raise PublishError(f"Expected book/{chapter.name} executed by the last book build. Received: a "
                               "chapter changed since (run `make book`).") from None
    return out


def verify(dest: Path) -> list[str]:
    """What in ``dest`` should not be published: private folders, solution or hidden-test regions,
    exercise code that imports ``graders``."""
    import nbformat

    problems = []
    for path in sorted(p for p in dest.rglob("*") if p.is_file() and ".git" not in p.relative_to(dest).parts):
        rel = path.relative_to(dest)
        if PRIVATE_PARTS & set(rel.parts[:-1]):
            problems.append(f"{rel}: a private folder")
        if path.suffix == ".ipynb":
            for cell in nbformat.read(path, as_version=4).cells:
                if any(m in cell.source for m in SECRET_MARKERS):
                    problems.append(f"{rel}: a solution or hidden-test region")
                if rel.parts[0] == "exercises" and re.search(r"^\s*(from|import)\s+graders\b", cell.source, re.M):
                    problems.append(f"{rel}: imports graders")
    return problems


def publish(dest: Path) -> list[Path]:
    """Write the student repository into ``dest``; return the files written."""
    import nbformat

    from graders.course_config import assignments as course_assignments

    dest = Path(dest).resolve()
    scratch = ROOT / "graders" / "work"  # git-ignored: the demo term publishes there
    if (dest == ROOT or ROOT in dest.parents) and scratch not in dest.parents:
        raise PublishError(f"Expected a folder outside the course repository (or under {scratch}). Received: {dest}")
    assignments = course_assignments()
    _check_inputs(assignments)
    chapters = executed_chapters()
    _clear(dest)
    shutil.copytree(ROOT / "exercises", dest / "exercises",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", ".DS_Store"))
    shutil.copytree(BUILD / "html", dest / "docs")
    (dest / "docs" / ".nojekyll").write_text("")
    (dest / "chapters").mkdir()
    for name, nb in chapters.items():
        nbformat.write(nb, dest / "chapters" / f"{name}.ipynb")
    (dest / "environment.yml").write_text(student_environment(), encoding="utf-8")
    (dest / "README.md").write_text(_readme(_repository_url(), assignments), encoding="utf-8")
    problems = verify(dest)
    if problems:
        _clear(dest)
        raise PublishError("Refusing to publish (the folder was emptied again):\n  " + "\n  ".join(problems))
    return sorted(p for p in dest.rglob("*") if p.is_file() and ".git" not in p.relative_to(dest).parts)
