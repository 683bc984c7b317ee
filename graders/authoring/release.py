"""Generate the student release ``exercises/`` from ``solutions/`` with nbgrader.

    python -m graders.authoring.release            regenerate exercises/<assignment>/ for every assignment
    python -m graders.authoring.release --check    regenerate into a temporary folder and compare: exits 1
                                         and names every stale, missing or extra file
    python -m graders.authoring.release ps2_dropout [--check]     only the named assignment(s)

Both run the real nbgrader ``generate_assignment`` (through its Python API, one
process for all assignments) with the course's ``nbgrader_config.py``
(repository root), but with a throwaway gradebook in a temporary folder, so that releasing never touches the grading gradebook in
``graders/work/``. ``make exercises`` runs the first form.

Notebooks are compared cell by cell (cell type, id, source, nbgrader metadata,
no outputs) and by kernelspec, so that a release opened and saved in Jupyter,
which adds volatile metadata, is not reported as stale; other files are
compared byte by byte.

The assignments' data files (``graders.teaching.assignment_data``: the release imports
nothing from ``graders``) are written into ``solutions/<assignment>/`` first, where
``generate_assignment`` finds and copies them; ``--check`` reports them when stale.
"""
from __future__ import annotations

import argparse
import filecmp
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "solutions"
RELEASE = ROOT / "exercises"
IGNORED_NAMES = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}


def generate_with(api, name: str) -> None:
    """``nbgrader generate_assignment <name> --force`` through ``api``; exits on failure."""
    result = api.generate_assignment(name, force=True, create=True)
    if not result.get("success"):
        sys.stderr.write(result.get("log", "") + result.get("error", ""))
        raise SystemExit(f"nbgrader generate_assignment {name} failed.")


def generate(names: list[str], release_dir: Path, workdir: Path) -> None:
    """Run nbgrader's ``generate_assignment --force`` for each assignment, into ``release_dir``.

    One process for all assignments (importing nbgrader costs seconds) and a
    throwaway gradebook in ``workdir``.
    """
    if not names:
        return
    from graders.course_config import load, nbgrader_api

    api = nbgrader_api(load(root=ROOT, release_directory=release_dir, db_url=f"sqlite:///{workdir / 'gradebook.db'}"))
    for name in names:
        generate_with(api, name)


def _files(folder: Path) -> set[str]:
    if not folder.is_dir():
        return set()
    out = set()
    for path in folder.rglob("*"):
        if path.is_file() and not (IGNORED_NAMES & set(path.relative_to(folder).parts)):
            out.add(path.relative_to(folder).as_posix())
    return out


def _notebook_view(path: Path):
    """What matters in a release notebook (volatile fields left out)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = []
    for cell in nb.get("cells", []):
        source = cell.get("source", "")
        cells.append({
            "cell_type": cell.get("cell_type"),
            "id": cell.get("id"),
            "source": "".join(source) if isinstance(source, list) else source,
            "nbgrader": cell.get("metadata", {}).get("nbgrader"),
            "outputs": len(cell.get("outputs", [])),
        })
    return {"kernelspec": nb.get("metadata", {}).get("kernelspec"), "cells": cells}


def _describe_notebook_difference(fresh: Path, committed: Path) -> str:
    a, b = _notebook_view(fresh), _notebook_view(committed)
    if a["kernelspec"] != b["kernelspec"]:
        return "kernelspec differs"
    if len(a["cells"]) != len(b["cells"]):
        return f"{len(b['cells'])} cells, expected {len(a['cells'])}"
    for i, (x, y) in enumerate(zip(a["cells"], b["cells"])):
        for key in ("cell_type", "id", "source", "nbgrader", "outputs"):
            if x[key] != y[key]:
                what = "has outputs" if key == "outputs" else f"{key} differs"
                return f"cell {i} (id {y['id'] or x['id']}): {what}"
    return ""


def compare(fresh: Path, committed: Path) -> list[str]:
    """Problems of ``committed`` (exercises/<a>) against a ``fresh`` release; [] if up to date."""
    problems = []
    want, have = _files(fresh), _files(committed)
    for rel in sorted(want - have):
        problems.append(f"missing: {rel}")
    for rel in sorted(have - want):
        problems.append(f"extra (not in the generated release): {rel}")
    for rel in sorted(want & have):
        if rel.endswith(".ipynb"):
            diff = _describe_notebook_difference(fresh / rel, committed / rel)
            if diff:
                problems.append(f"stale: {rel}: {diff}")
        elif not filecmp.cmp(fresh / rel, committed / rel, shallow=False):
            problems.append(f"stale: {rel}: contents differ")
    return problems


def release(names: list[str]) -> None:
    from graders.teaching import assignment_data

    for name in names:
        for written in assignment_data.write(name, SOURCE / name):
            print(f"solutions/{name}/{written}: written")
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        generate(names, RELEASE, Path(tmp))
    for name in names:
        print(f"exercises/{name}/: regenerated")


def check(names: list[str], all_assignments: bool, fresh: Path | None = None) -> int:
    """Compare exercises/ with a fresh release; print every problem; 1 if there is any.

    ``fresh`` is a folder that already holds a fresh release of ``names`` (the
    tests pass the one they generated); by default one is generated here.
    """
    from graders.teaching import assignment_data

    problems = [f"solutions/{name}/{file}: stale or missing data file" for name in names
                for file in assignment_data.stale(name, SOURCE / name)]
    with tempfile.TemporaryDirectory(prefix="release-check-") as tmp:
        if fresh is None:
            fresh = Path(tmp) / "release"
            generate(names, fresh, Path(tmp))
        for name in names:
            problems += [f"exercises/{name}: {p}" for p in compare(fresh / name, RELEASE / name)]
    if all_assignments and RELEASE.is_dir():
        for folder in sorted(p for p in RELEASE.iterdir() if p.is_dir()):
            if folder.name not in names and _files(folder):
                problems.append(f"exercises/{folder.name}: has no source in solutions/{folder.name}/")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s): run `make exercises` (python -m graders.authoring.release) and commit "
              "exercises/.", file=sys.stderr)
        return 1
    print(f"exercises/ is up to date for {', '.join(names) or 'no assignment'}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graders.authoring.release", description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", help="assignment folders of solutions/ (default: all)")
    parser.add_argument("--check", action="store_true",
                        help="do not write: compare exercises/ with a fresh release, exit 1 if stale")
    args = parser.parse_args(argv)
    from graders.course_config import assignments

    known = assignments()
    unknown = [a for a in args.assignments if a not in known]
    if unknown:
        parser.error(f"no notebooks in solutions/{unknown[0]}/ (known: {', '.join(known)})")
    names = args.assignments or known
    if args.check:
        return check(names, all_assignments=not args.assignments)
    release(names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
