"""The course's nbgrader configuration, for everyone who runs nbgrader.

``nbgrader_config.py`` (repository root) is the one place where nbgrader settings live: the
release (``graders.authoring.release``), the plain ``nbgrader`` commands and the Formgrader
read it directly, and the grading pipeline loads it here and overrides only what a private
folder must (:func:`private_course`: the course-directory paths and the gradebook). So an
instructor who changes, say, ``c.Execute.timeout`` there changes it for every way of grading.

Example::

    from graders.course_config import load, nbgrader_api
    api = nbgrader_api(load(release_directory="/tmp/release"))
    api.generate_assignment("ps1_penalties", force=True, create=True)
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG_FILE = ROOT / "nbgrader_config.py"
# The folders of a private course folder (a grading task, a throwaway release), relative to its root.
PRIVATE_FOLDERS = {"source_directory": "source", "release_directory": "release", "submitted_directory": "submitted",
                   "autograded_directory": "autograded", "feedback_directory": "feedback",
                   "solution_directory": "solution", "source_with_tests_directory": "source_with_tests"}


def assignments(source_root: Path | str = ROOT / "solutions") -> list[str]:
    """The course's assignments: every folder of the nbgrader source folder that holds a notebook."""
    source_root = Path(source_root)
    if not source_root.is_dir():
        return []
    return sorted(p.name for p in source_root.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def ensure_alembic_on_path() -> None:
    """nbgrader runs the ``alembic`` program (every command, every new gradebook); it lives next to
    this Python in the venv, which need not be activated."""
    here = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if here not in path.split(os.pathsep):
        os.environ["PATH"] = here + os.pathsep + path


def load(config_file: Path | str = CONFIG_FILE, **course_directory):
    """``nbgrader_config.py`` as a traitlets ``Config``, with ``CourseDirectory`` overrides.

    Raises ``FileNotFoundError`` naming the file if it does not exist.
    """
    from traitlets.config.loader import PyFileConfigLoader

    config_file = Path(config_file).resolve()
    if not config_file.is_file():
        raise FileNotFoundError(f"Expected an nbgrader configuration file. Received: {config_file} (no such file)")
    config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    for key, value in course_directory.items():
        setattr(config.CourseDirectory, key, str(value))
    return config


def private_course(config, root: Path, db_url: str, course_id: str | None = None):
    """A copy of ``config`` for a private course folder at ``root`` with its own gradebook.

    Every path nbgrader reads or writes is moved under ``root``; every other setting (time
    limits, output limits, preprocessors, feedback) stays as the course configured it.
    """
    import copy

    private = copy.deepcopy(config)
    private.CourseDirectory.root = str(root)
    private.CourseDirectory.db_url = db_url
    for key, folder in PRIVATE_FOLDERS.items():
        setattr(private.CourseDirectory, key, folder)
    if course_id:
        private.CourseDirectory.course_id = course_id
    return private


def nbgrader_api(config):
    """``nbgrader.apps.NbGraderAPI`` on ``config`` (quiet: warnings and errors only)."""
    ensure_alembic_on_path()
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config.Application.log_level = "WARN"
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
