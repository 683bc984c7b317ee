"""The grader's verdict rule (graders.pipeline.verdicts), on the real source notebooks.

The end-to-end attacks that this rule defeats are in test_sandbox_attacks.py; here each branch
of the rule is pinned down on its own.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from graders.pipeline.verdicts import ExpectedCheck, expected_checks, judge

ROOT = Path(__file__).resolve().parents[2]


def sources(assignment: str) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in (ROOT / "solutions" / assignment).glob("*.ipynb")}


def test_every_graded_cell_of_every_assignment_has_its_checks_read():
    import nbformat

    from graders.cells import is_graded

    for folder in sorted((ROOT / "solutions").iterdir()):
        expected = expected_checks(sources(folder.name))
        for path in folder.glob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            graded = {c.metadata.nbgrader["grade_id"] for c in nb.cells if c.cell_type == "code" and is_graded(c)}
            assert {gid for (name, gid) in expected if name == path.stem} == graded, folder.name


def test_ps3_cells_expect_their_check_on_early_stopping():
    expected = expected_checks(sources("ps3_early_stopping"))
    assert expected[("early_stopping", "early_stopping_patience")] == [
        ExpectedCheck("ps3_early_stopping:early_stopping_patience", ("early_stopping",))]


CHECK = ExpectedCheck("ps3_early_stopping:early_stopping_patience", ("early_stopping",))


def verdict(passed=True, check_id=CHECK.check_id, received=("early_stopping",), message="ok"):
    return {"check_id": check_id, "passed": passed, "received": list(received), "message": message}


def test_a_passing_verdict_on_the_named_function_scores():
    assert judge([CHECK], [verdict()]).scores_allowed


@pytest.mark.parametrize("verdicts, reason", [
    ([], "checks-missing"),                                            # the hidden test never asked
    ([verdict(check_id="ps3_early_stopping:early_stopping_min_delta")], "checks-missing"),  # another check
    ([verdict(received=("cheat",))], "checks-missing"),                # another function
    ([verdict(passed=False, message="wrong stop epoch")], "verdict-failed"),
    ([verdict(), verdict(passed=False)], "verdict-failed"),            # asked twice, failed once
])
def test_anything_else_scores_zero_and_says_why(verdicts, reason):
    judged = judge([CHECK], verdicts)
    assert not judged.scores_allowed and judged.reason == reason and judged.message


def test_every_check_of_a_cell_must_pass():
    other = ExpectedCheck("ps3_early_stopping:early_stopping_min_delta", ("early_stopping",))
    assert not judge([CHECK, other], [verdict()]).scores_allowed
    assert judge([CHECK, other], [verdict(), verdict(check_id=other.check_id)]).scores_allowed
