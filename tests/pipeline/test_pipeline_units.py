"""Unit tests for the pipeline's pieces, in process: sanitize, collect, record, report, the
preprocessors and the configuration. The same behaviour is also exercised end to end through the
CLI (test_pipeline_cli.py); here each piece is pinned down on its own, with the real nbgrader
where it is involved (the gradebook, the export plugin).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import numpy as np
import pytest

from graders.cells import BEGIN_HIDDEN, END_HIDDEN, grade_id, is_locked
from graders.pipeline.model import CellResult, Flag, GradeResult, Submission

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "exercises" / "ps3_early_stopping" / "early_stopping.ipynb"


def release():
    return nbformat.read(RELEASE, as_version=4)


# --------------------------------------------------------------------------- sanitize
def test_sanitize_accepts_an_untouched_release_without_flags():
    from graders.pipeline.sanitize import sanitize

    clean = sanitize(RELEASE.read_bytes(), "early_stopping", release())
    assert clean.notebook is not None and clean.flags == []


@pytest.mark.parametrize("raw, reason, words", [
    (None, "missing", "was not submitted"),
    (b"{not json", "invalid", "not a readable notebook"),
    (b'{"metadata": {}}', "invalid", "not a readable notebook"),
])
def test_sanitize_reports_what_cannot_be_graded(raw, reason, words):
    from graders.pipeline.sanitize import sanitize

    clean = sanitize(raw, "early_stopping", release())
    assert clean.notebook is None and clean.flags[0].reason == reason and words in clean.flags[0].detail


def test_sanitize_keeps_one_copy_of_a_duplicated_test_cell_and_flags_edits_and_deletions():
    from graders.pipeline.sanitize import sanitize

    nb = release()
    tests = [i for i, c in enumerate(nb.cells) if is_locked(c) and grade_id(c)]
    first, second = tests[0], tests[1]
    nb.cells.insert(first + 1, nbformat.from_dict(json.loads(json.dumps(nb.cells[first]))))  # pasted twice
    nb.cells[second + 1].source = "pass"                                                       # edited
    deleted = grade_id(nb.cells[tests[2] + 1])
    del nb.cells[tests[2] + 1]                                                                  # deleted
    clean = sanitize(nbformat.writes(nb).encode(), "early_stopping", release())
    details = [f.detail for f in clean.flags]
    assert all(f.reason == "tampering" for f in clean.flags)
    assert any("appears 2 times" in d for d in details)
    assert any("was edited" in d for d in details) and any(f"'{deleted}' was deleted" in d for d in details)
    ids = [grade_id(c) for c in clean.notebook.cells if grade_id(c)]
    assert len(ids) == len(set(ids)), "a graded cell is still there twice"


# --------------------------------------------------------------------------- collect
def test_collect_reads_the_nbgrader_layout_and_rejects_unsafe_ids(tmp_path):
    from graders.pipeline.collect import collect_nbgrader_layout

    (tmp_path / "ann" / "ps3_early_stopping").mkdir(parents=True)
    (tmp_path / "ann" / "ps3_early_stopping" / "early_stopping.ipynb").write_bytes(RELEASE.read_bytes())
    (tmp_path / "ann" / "ps3_early_stopping" / "timestamp.txt").write_text("2026-11-30 10:00:00\n")
    (tmp_path / "ben").mkdir()
    (tmp_path / "../etc").mkdir(exist_ok=True)
    (tmp_path / "x'; drop").mkdir()
    got = collect_nbgrader_layout(tmp_path, {"ps3_early_stopping": ["early_stopping"]})
    assert [(s.student_id, s.timestamp) for s in got.submissions] == [("ann", "2026-11-30 10:00:00")]
    assert got.absent == [("ben", "ps3_early_stopping")]
    assert len(got.rejected) == 1 and "x'; drop" in got.rejected[0] and "Expected a student id" in got.rejected[0]


def test_collect_reads_a_flat_lms_download(tmp_path):
    from graders.pipeline.collect import collect_flat

    (tmp_path / "ps3_early_stopping_ann_attempt_2026-11-20-10-00-00_early_stopping.ipynb").write_bytes(
        RELEASE.read_bytes())
    (tmp_path / "ps3_early_stopping_bob_attempt_2026-11-20-10-00-00_other.ipynb").write_text("{}")
    (tmp_path / "readme.ipynb").write_text("{}")
    got = collect_flat(tmp_path, "ps3_early_stopping", ["early_stopping"])
    assert [s.student_id for s in got.submissions] == ["ann"]
    assert got.submissions[0].files["early_stopping"] == RELEASE.read_bytes()
    assert any("readme.ipynb" in r and "does not match" in r for r in got.rejected)
    assert any("has no notebook 'other'" in r for r in got.rejected)


# --------------------------------------------------------------------------- record and report
def _result(sid: str, scores: list[float], flags=()) -> GradeResult:
    cells = [CellResult("early_stopping", f"q{i}", s, 2.0, "" if s else "wrong") for i, s in enumerate(scores)]
    return GradeResult(sid, "ps3_early_stopping", None, cells=cells, flags=list(flags))


@pytest.fixture()
def gradebook(tmp_path):
    """A real nbgrader gradebook holding ps3, as the pipeline's preparation makes it."""
    from nbgrader.api import Gradebook

    from graders.pipeline.prepare import prepare_assignments

    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    prepare_assignments(["ps3_early_stopping"], master_db_url=db)
    with Gradebook(db, course_id="regularization") as gb:
        yield gb, db


def test_record_stores_scores_once_and_keeps_manual_grades(gradebook, tmp_path):
    from graders.pipeline.record import record

    gb, _ = gradebook
    nb = gb.find_assignment("ps3_early_stopping").notebooks[0]
    names = [c.name for c in nb.grade_cells]
    result = _result("ann", [0.0] * len(names))
    result.grades = [dict(notebook="early_stopping", name=n, auto_score=float(i % 2), needs_manual_grade=False)
                     for i, n in enumerate(names)]
    result.autograded = {"early_stopping": b"{}"}
    record(gb, result, tmp_path / "autograded", tmp_path / "feedback")
    record(gb, result, tmp_path / "autograded", tmp_path / "feedback")  # idempotent
    sub = gb.find_submission("ps3_early_stopping", "ann")
    assert sub.score == sum(i % 2 for i in range(len(names)))
    grade = sub.notebooks[0].grades[0]
    grade.manual_score = 1.5
    gb.db.commit()
    record(gb, result)
    assert gb.find_grade(grade.name, "early_stopping", "ps3_early_stopping", "ann").manual_score == 1.5
    assert len(gb.assignment_submissions("ps3_early_stopping")) == 1
    assert (tmp_path / "autograded" / "ann" / "ps3_early_stopping" / "early_stopping.ipynb").read_bytes() == b"{}"


def test_a_result_without_grades_records_zero_and_is_flagged(gradebook):
    from graders.pipeline.record import record

    gb, _ = gradebook
    record(gb, _result("bob", [], flags=[Flag("invalid", "not a notebook")]))
    sub = gb.find_submission("ps3_early_stopping", "bob")
    assert sub.score == 0 and all(nb.flagged for nb in sub.notebooks)


def test_report_files(gradebook, tmp_path):
    from graders.pipeline.record import record
    from graders.pipeline.report import item_statistics, write_cells_csv, write_grades_csv, write_report_html

    gb, db = gradebook
    results = [_result("ann", [2.0, 2.0]), _result("bob", [0.0, 2.0]), _result("cid", [0.0, 0.0],
                                                                              [Flag("timeout", "slow")])]
    for r in results:
        record(gb, r)
    write_cells_csv(tmp_path / "cells.csv", results)
    rows = list(csv.DictReader(open(tmp_path / "cells.csv", encoding="utf-8")))
    assert len(rows) == 6 and rows[0]["student_id"] == "ann" and rows[2]["message"] == "wrong"
    write_grades_csv(tmp_path / "grades.csv", db, "regularization", ["ps3_early_stopping"], ["ann", "bob", "cid"])
    grades = list(csv.DictReader(open(tmp_path / "grades.csv", encoding="utf-8")))
    assert [g["student_id"] for g in grades] == ["ann", "bob", "cid"]
    stats = item_statistics(results)
    assert [round(s["mean"], 3) for s in stats] == [round(2 / 6, 3), round(4 / 6, 3)]
    assert stats[0]["discrimination"] == pytest.approx(np.corrcoef([1, 0, 0], [2, 2, 0])[0, 1])
    write_report_html(tmp_path / "report.html", results, ["'x': rejected"], 12.0, [("dan", "ps3_early_stopping")],
                      sandbox="bubblewrap (test)")
    html = (tmp_path / "report.html").read_text()
    assert "<td>cid</td><td>ps3_early_stopping</td><td>timeout</td>" in html
    assert "Sandbox: bubblewrap (test)" in html and "dan" in html and "<svg" in html


# --------------------------------------------------------------------------- preprocessors
def test_strip_hidden_tests_keeps_the_result_and_drops_the_code():
    from graders.pipeline.preprocessors import HIDDEN_PLACEHOLDER, StripHiddenTests

    cell = nbformat.v4.new_code_cell(f"{BEGIN_HIDDEN}\nrun_check('secret')\n{END_HIDDEN}\nassert f(1) == 2\n")
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="wrong stop epoch",
                                           traceback=["  run_check('secret')", "AssertionError: wrong stop epoch"])]
    StripHiddenTests().preprocess_cell(cell, {}, 0)
    assert "secret" not in cell.source and HIDDEN_PLACEHOLDER in cell.source and "assert f(1) == 2" in cell.source
    assert cell.outputs[0].traceback == ["AssertionError: wrong stop epoch"]


def test_limit_output_size_caps_text_and_drops_huge_images():
    from graders.pipeline.preprocessors import LimitOutputSize

    cell = nbformat.v4.new_code_cell("print('x' * 10**6)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "A" * 3_000_000, "text/plain": "<Figure>"}),
                    nbformat.v4.new_output("stream", name="stdout", text="x" * 50_000)]
    LimitOutputSize(max_chars=1000).preprocess_cell(cell, {}, 0)
    assert dict(cell.outputs[0].data) == {"text/plain": "<Figure>"}  # the 3 MB image is gone, its text stays
    assert len(cell.outputs[1].text) == 1000 - len("<Figure>")     # one budget for all of a cell's text
    assert "characters dropped" in cell.outputs[-1].text


def test_sandboxed_preprocessors_replace_only_execute():
    from traitlets.config import Config

    from graders.course_config import load
    from graders.pipeline.preprocessors import SandboxedExecute
    from graders.pipeline.task import sandboxed_preprocessors

    configured = sandboxed_preprocessors(load())
    assert configured[0] is SandboxedExecute and len(configured) == 8
    assert [p.__name__ for p in configured[1:]] == ["IgnorePattern", "ClearMetadataPreprocessor", "LimitOutput",
                                                     "LimitOutputSize", "SaveAutoGrades", "AssignLatePenalties",
                                                     "CheckCellMetadata"]
    without = Config()
    without.Autograde.autograde_preprocessors = ["nbgrader.preprocessors.LimitOutput"]
    with pytest.raises(ValueError, match="Expected nbgrader's Execute"):
        sandboxed_preprocessors(without)


# --------------------------------------------------------------------------- configuration
def test_loading_the_course_configuration_has_no_side_effects(tmp_path):
    import subprocess
    import sys

    clone = tmp_path / "course"
    clone.mkdir()
    (clone / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    code = ("from graders.course_config import load; c = load(%r); print(c.Execute.timeout, c.CourseDirectory.root)"
            % str(clone / "nbgrader_config.py"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["120", str(clone)]
    assert sorted(p.name for p in clone.iterdir()) == ["nbgrader_config.py"], "loading created files"


def test_a_private_course_moves_every_path_and_keeps_every_setting(tmp_path):
    from graders.course_config import PRIVATE_FOLDERS, load, private_course

    config = load()
    private = private_course(config, tmp_path, "sqlite:///x.db")
    assert private.CourseDirectory.root == str(tmp_path) and private.CourseDirectory.db_url == "sqlite:///x.db"
    assert all(getattr(private.CourseDirectory, k) == v for k, v in PRIVATE_FOLDERS.items())
    assert private.Execute == config.Execute and private.GenerateFeedback == config.GenerateFeedback
    assert config.CourseDirectory.root == str(ROOT), "the course's own configuration was changed"


def test_submission_ids_are_checked():
    from graders.pipeline.model import check_student_id

    assert check_student_id("ann.lee@uni+1") == "ann.lee@uni+1"
    for bad in ("", "../x", "a/b", "-x", "x" * 101, "robert'); drop"):
        with pytest.raises(ValueError, match="Expected a student id"):
            check_student_id(bad)
    assert Submission("ann", "ps3", {}).timestamp is None
