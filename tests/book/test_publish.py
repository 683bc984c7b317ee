"""``python -m graders publish DIR``: the public student repository holds no answers.

It is written from the built book and the committed release (``make test`` builds the book first),
through the real CLI, into a folder that plays a clone of the public repository.
"""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
import yaml

from book_site import ROOT, leaks, reference_snippets, secret_snippets

PUBLIC = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def _publish(dest):
    return subprocess.run([sys.executable, "-m", "graders", "publish", str(dest)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    dest = tmp_path_factory.mktemp("public") / "student-repo"
    (dest / ".git").mkdir(parents=True)
    (dest / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (dest / "old-file.txt").write_text("from the previous publication")
    proc = _publish(dest)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dest


def _files(dest):
    return [p for p in dest.rglob("*") if p.is_file() and ".git" not in p.relative_to(dest).parts]


def test_layout_keeps_git_and_replaces_the_rest(published):
    assert (published / ".git" / "HEAD").is_file() and not (published / "old-file.txt").exists()
    assert {p.name for p in published.iterdir()} == {".git", "README.md", "environment.yml", "exercises", "docs",
                                                     "chapters"}
    assert (published / "docs" / "index.html").is_file() and (published / "docs" / ".nojekyll").is_file()
    assert sorted(p.name for p in (published / "chapters").glob("*.ipynb")) == \
        sorted(f"{p.stem}.ipynb" for p in (ROOT / "book").glob("[0-9][0-9]_*.md"))
    for chapter in (published / "chapters").glob("*.ipynb"):
        nb = nbformat.read(chapter, as_version=4)
        assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{chapter.name} has no outputs"
    released = {p.relative_to(ROOT / "exercises") for p in (ROOT / "exercises").rglob("*") if p.is_file()}
    assert {p.relative_to(published / "exercises") for p in (published / "exercises").rglob("*") if p.is_file()} \
        == released
    assert any(p.suffix == ".npz" for p in released), "the release ships its data files"


def test_nothing_private_is_published(published):
    files = _files(published)
    assert not [p for p in files if {"solutions", "graders", "tests"} & set(p.relative_to(published).parts)]
    assert not [p for p in files if p.suffix == ".py" and "_static" not in p.parts]
    for snippets in (secret_snippets(), reference_snippets()):
        found = leaks(snippets, files, site=published)
        assert not found, "\n".join(found[:20])


def test_student_environment_has_what_the_release_imports_and_no_graders(published):
    env = yaml.safe_load((published / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    names = {re.split(r"[<>=\[ ]", p)[0].lower() for p in pip}
    assert "-e ." not in pip and not any("graders" in p for p in pip), pip
    imported = set()
    for path in (published / "exercises").rglob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                for node in ast.walk(ast.parse(cell.source)):
                    if isinstance(node, ast.Import):
                        imported |= {a.name.split(".")[0] for a in node.names}
                    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                        imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names)
    assert third_party and third_party <= names, (third_party, names)
    assert {"jupyterlab", "nbgrader", "ipykernel"} <= names  # to open, run and validate the notebooks


def test_readme_links_each_exercise_on_binder_in_the_public_repository(published):
    readme = (published / "README.md").read_text()
    links = re.findall(r"\(https://mybinder\.org/v2/gh/([^/]+/[^/]+)/main\?urlpath=lab/tree/([^)]+)\)", readme)
    assert sorted(path for _, path in links) == sorted(
        p.relative_to(published).as_posix() for p in (published / "exercises").rglob("*.ipynb"))
    assert {repo for repo, _ in links} == {PUBLIC.removeprefix("https://github.com/")}


def test_verify_finds_what_must_not_be_published(published, tmp_path):
    """The command's own check can fail: planted leaks are named."""
    from graders.authoring.publish import verify

    copy = tmp_path / "copy"
    shutil.copytree(published / "exercises", copy / "exercises")
    assert verify(copy) == []
    nb_path = next((copy / "exercises").rglob("*.ipynb"))
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"))
    nb.cells.append(nbformat.v4.new_code_cell("from graders import dropout_forward"))
    nbformat.write(nb, nb_path)
    (copy / "graders" / "reference").mkdir(parents=True)
    (copy / "graders" / "reference" / "dropout.py").write_text("def dropout_forward(): ...")
    problems = verify(copy)
    assert any("a solution or hidden-test region" in p for p in problems)
    assert any("imports graders" in p for p in problems)
    assert any(p.startswith("graders/reference/dropout.py: a private folder") for p in problems)


def test_publishing_into_the_course_repository_is_refused():
    for inside in (ROOT, ROOT / "exercises", ROOT / "graders" / "work"):
        proc = _publish(inside)
        assert proc.returncode == 2 and "Expected a folder outside the course repository" in proc.stderr, proc.stderr
    assert (ROOT / "exercises").is_dir() and (ROOT / "README.md").is_file()
