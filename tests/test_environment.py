"""environment.yml is the single list of dependencies, and the venv honours it."""
import re
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def env():
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def pip_requirements(env):
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    return [r for r in pip if not r.startswith("-e")]


def test_conda_environment_is_python_311_with_pip(env):
    assert "python=3.11" in env["dependencies"]
    assert "pip" in env["dependencies"]


def test_jupyter_book_is_pinned_below_2(env):
    (jb,) = [Requirement(r) for r in pip_requirements(env) if r.startswith("jupyter-book")]
    assert not jb.specifier.contains("2.0.0") and jb.specifier.contains("1.0.4")


def test_every_requirement_is_installed_in_a_matching_version(env):
    missing = []
    for line in pip_requirements(env):
        req = Requirement(line)
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            missing.append(f"{req.name}: not installed")
            continue
        if not req.specifier.contains(version, prereleases=True):
            missing.append(f"{req.name}: {version} does not satisfy {req.specifier}")
    assert not missing, missing


def test_makefile_derives_exactly_the_pip_list(env, tmp_path):
    # The Makefile's awk rule is what turns environment.yml into the venv's requirements.
    rule = re.search(r"^\t(awk .*)\$< > \$@$", (ROOT / "Makefile").read_text(), re.M).group(1)
    rule = rule.replace("$$", "$")
    out = subprocess.run(f"{rule} environment.yml", shell=True, cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert [o for o in out if o != "-e"] == [p for p in " ".join(pip).split() if p != "-e"]


def test_graders_imports_without_tensorflow():
    code = "import sys, graders, graders.teaching.data, graders.checks; print('tensorflow' in sys.modules)"
    out = subprocess.run([__import__("sys").executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
