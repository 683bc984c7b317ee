"""Prepare what workers need to grade an assignment: its gradebook, source and release notebooks."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .task import Course

ROOT = Path(__file__).resolve().parents[2]


def nbgrader_env() -> dict:
    """The environment for an nbgrader subprocess: the venv's bin/ (alembic) on PATH."""
    from . import ensure_alembic_on_path

    ensure_alembic_on_path()
    return dict(os.environ)


def _generate(assignment: str, source_root: Path, course_id: str, db_url: str, workdir: Path) -> Path:
    """``nbgrader generate_assignment`` from ``source_root`` into ``workdir/release`` and ``db_url``."""
    (workdir / "source").symlink_to(source_root.resolve(), target_is_directory=True)
    cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force",
           f"--CourseDirectory.root={workdir}", "--CourseDirectory.source_directory=source",
           "--CourseDirectory.release_directory=release", f"--CourseDirectory.course_id={course_id}",
           f"--CourseDirectory.db_url={db_url}", "--log-level=WARN"]
    proc = subprocess.run(cmd, cwd=workdir, env=nbgrader_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{proc.stdout}{proc.stderr}")
    return workdir / "release" / assignment


def prepare_course(assignment: str, source_root: Path = ROOT / "solutions", course_id: str = "regularization",
                   master_db_url: str | None = None) -> Course:
    """Capture what workers need to grade ``assignment``, made by the real ``nbgrader generate_assignment``.

    With ``master_db_url`` the assignment (its notebooks and graded cells) is also
    registered in the course gradebook, where the results will be recorded.
    """
    src = source_root / assignment
    notebooks = sorted(src.glob("*.ipynb"))
    if not notebooks:
        raise ValueError(f"Expected notebooks in {src}. Received: an empty or missing folder.")
    with tempfile.TemporaryDirectory(prefix="graders-course-") as tmp:
        tmp = Path(tmp)
        (tmp / "template").mkdir()
        db = tmp / "template" / "gradebook.db"
        release_dir = _generate(assignment, source_root, course_id, f"sqlite:///{db}", tmp / "template")
        release = {p.stem: p.read_bytes() for p in sorted(release_dir.glob("*.ipynb"))}
        if master_db_url:
            (tmp / "master").mkdir()
            _generate(assignment, source_root, course_id, master_db_url, tmp / "master")
        return Course(assignment=assignment, course_id=course_id, gradebook=db.read_bytes(),
                      source={p.stem: p.read_bytes() for p in notebooks}, release=release)
