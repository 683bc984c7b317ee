"""The package's layout is its architecture: dependencies point one way, and nothing loads tests/.

    pipeline -> checks -> reference        (and each may use runtime, cells, course_config)
    runtime  -> nothing else of graders    (it runs first, inside the sandbox)
    reference, teaching -> reference only  (the book and the checks import them)
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "graders"
# subpackage -> the subpackages of graders it may import
ALLOWED = {
    "reference": {"reference"},
    "teaching": {"reference", "teaching"},
    "runtime": {"runtime"},
    "checks": {"checks", "reference", "teaching", "runtime"},
    "authoring": {"authoring", "cells", "course_config", "reference", "teaching"},
    "pipeline": {"pipeline", "checks", "reference", "runtime", "cells", "course_config", "authoring"},
}


def imported_graders_modules(path: Path) -> set[str]:
    """The first component after ``graders.`` of every import in ``path`` (relative ones resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                names = [".".join(base + ([node.module] if node.module else []))]
            else:
                names = [node.module or ""]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "graders" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("sub", sorted(ALLOWED))
def test_dependencies_point_one_way(sub):
    for path in sorted((PACKAGE / sub).rglob("*.py")):
        bad = imported_graders_modules(path) - ALLOWED[sub]
        assert not bad, f"{path.relative_to(PACKAGE.parent)} imports graders.{', graders.'.join(sorted(bad))}"


def test_the_package_never_loads_tests():
    """No import of a test module, and no path built from a ``"tests"`` component."""
    test_modules = {p.stem for p in (PACKAGE.parent / "tests").glob("*.py")} | {"tests"}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not {a.name.split(".")[0] for a in node.names} & test_modules, path
            elif isinstance(node, ast.ImportFrom) and not node.level:
                assert (node.module or "").split(".")[0] not in test_modules, path
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value != "tests" and not node.value.startswith("tests/"), path


def test_every_subpackage_is_listed_in_the_package_docstring():
    import graders

    subs = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert subs == set(ALLOWED)
    for sub in subs:
        assert f"graders.{sub}" in graders.__doc__
