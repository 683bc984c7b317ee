"""Find the submissions to grade.

Two layouts are accepted:

* nbgrader's: ``DIR/<student_id>/<assignment>/<notebook>.ipynb`` (what ``nbgrader collect``
  produces); an optional ``timestamp.txt`` next to the notebooks is kept;
* a flat download from a learning-management system (``DIR/*.ipynb``, ``*.zip``), read
  with nbgrader's zip-collect conventions: nbgrader's ``ExtractorPlugin`` unpacks archives
  and its ``FileNameCollectorPlugin`` takes ``student_id``, ``file_id`` (the notebook)
  and ``timestamp`` from each file name with a named regular expression.

An assignment folder without one of the assignment's notebooks is graded (0 points for
that notebook) and flagged *missing*; a student with no folder for an assignment is
listed as "no submission". Ids that are not safe folder names are rejected, with a
message, and not graded.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .model import Submission, check_student_id

# nbgrader's documented example: ps1_bitdiddle_attempt_2016-01-30-15-00-00_problem1.ipynb
DEFAULT_FLAT_REGEX = r".*_(?P<student_id>\w+)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>\w+)"


@dataclass
class Collected:
    submissions: list[Submission] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)     # messages: unsafe ids, unmatched files
    absent: list[tuple[str, str]] = field(default_factory=list)  # (student, assignment) with no folder


def is_flat(folder: Path) -> bool:
    return any(p.suffix in (".ipynb", ".zip") for p in folder.iterdir() if p.is_file())


def collect_nbgrader_layout(folder: Path, notebooks: dict[str, list[str]]) -> Collected:
    """``notebooks`` maps each assignment to its notebook names (from the release)."""
    out = Collected()
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        try:
            sid = check_student_id(student_dir.name)
        except ValueError as exc:
            out.rejected.append(f"{student_dir.name!r}: {exc}")
            continue
        for aid, names in notebooks.items():
            adir = student_dir / aid
            if not adir.is_dir():
                out.absent.append((sid, aid))
                continue
            stamp = adir / "timestamp.txt"
            files = {n: (adir / f"{n}.ipynb").read_bytes() if (adir / f"{n}.ipynb").is_file() else None
                     for n in names}
            out.submissions.append(Submission(sid, aid, files,
                                              stamp.read_text().strip() if stamp.is_file() else None))
    return out


def collect_flat(folder: Path, assignment: str, names: list[str], regex: str = DEFAULT_FLAT_REGEX) -> Collected:
    """A flat LMS download of one assignment, read with nbgrader's zip-collect plugins."""
    from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin

    out = Collected()
    by_student: dict[str, Submission] = {}
    with tempfile.TemporaryDirectory(prefix="graders-flat-") as tmp:
        archive, extracted = Path(tmp) / "archive", Path(tmp) / "extracted"
        archive.mkdir()
        for p in folder.iterdir():
            if p.is_file():
                shutil.copy2(p, archive / p.name)
        ExtractorPlugin().extract(str(archive), str(extracted))
        collector = FileNameCollectorPlugin(named_regexp=regex)
        for path in sorted(extracted.rglob("*.ipynb")):
            info = collector.collect(str(path))
            if not info:
                out.rejected.append(f"{path.name!r}: the file name does not match {regex!r}")
                continue
            notebook = Path(info["file_id"]).stem
            try:
                sid = check_student_id(info["student_id"])
            except ValueError as exc:
                out.rejected.append(f"{path.name!r}: {exc}")
                continue
            if notebook not in names:
                out.rejected.append(f"{path.name!r}: {assignment} has no notebook {notebook!r}")
                continue
            sub = by_student.setdefault(sid, Submission(sid, assignment, {n: None for n in names},
                                                        info.get("timestamp")))
            sub.files[notebook] = path.read_bytes()
    out.submissions = [by_student[s] for s in sorted(by_student)]
    return out
