"""Similarity flags (graders/pipeline/similarity.py) and their section of report.html.

Real notebooks throughout: the release and the solutions of ps1 and ps2, and the demo cohort's
recipes (tests/cohort.py): ``dana`` solves ps2 her own way, ``erin`` hands in dana's code renamed
and reformatted. copydetect is the real one. A flag must find the copy, leave independent work
alone (short textbook lines are written alike by everyone) and never touch a grade.
"""
from __future__ import annotations

import copy
import doctest
import html
import json
import re
from pathlib import Path

import nbformat
import pytest

from cohort import DANA, ERIN, correct, invalid_json, own_answers, untouched
from graders.cells import is_answer
from graders.pipeline import similarity
from graders.pipeline.model import CellResult, GradeResult, Submission
from graders.pipeline.similarity import DEFAULT_THRESHOLD, MAX_ANSWER_CHARS, answer_code, similar_pairs

ROOT = Path(__file__).resolve().parents[2]
PS1, PS2 = "ps1_penalties", "ps2_dropout"


def notebooks(assignment: str):
    """(notebook name, release, source) of the assignment's one notebook."""
    (release,) = sorted((ROOT / "exercises" / assignment).glob("*.ipynb"))
    source = ROOT / "solutions" / assignment / release.name
    return release.stem, nbformat.read(release, as_version=4), nbformat.read(source, as_version=4)


def releases(*assignments: str) -> dict[str, dict[str, bytes]]:
    return {a: {notebooks(a)[0]: nbformat.writes(notebooks(a)[1]).encode()} for a in assignments}


def submission(student: str, recipe, assignment: str = PS2) -> Submission:
    """What ``student`` hands in when following ``recipe`` (a tests/cohort.py recipe, or raw bytes / None)."""
    name, release, source = notebooks(assignment)
    made = recipe(release, source) if callable(recipe) else recipe
    data = made if made is None or isinstance(made, bytes) else nbformat.writes(made).encode()
    return Submission(student, assignment, {name: data})


def scores(a: Submission, b: Submission) -> tuple[float, float]:
    """The pair's similarities with no threshold to speak of (0.0, 0.0 if nothing matches)."""
    pairs = similar_pairs([a, b], releases(a.assignment), threshold=1e-9, min_overlap=0)
    return pairs[0].similarity if pairs else (0.0, 0.0)


def own_lines(sub: Submission) -> set[str]:
    """The stripped non-empty lines of a submission's answer code that the release did not give."""
    def lines(files):
        return {ln.strip() for ln in similarity.submission_code(files).splitlines() if ln.strip()}

    return lines(sub.files) - lines(releases(sub.assignment)[sub.assignment])


# A more careful copier than erin: dana's code renamed and reformatted, and a token changed on about
# every other line (1.0 for 1, float for np.float64, np.isnan for x != x, a condition chained ...).
FIONA = own_answers({
    "dropout_mask_answer": """
        p_keep = 1.0 - validate_p(rate)
        u = rng.random(shape)
        m = np.zeros(u.shape)
        m[u < p_keep] = 1
        return m
    """,
    "dropout_forward_answer": """
        arr = np.asarray(x)
        if arr.dtype.kind != 'f':
            arr = arr.astype(float)
        validate_p(rate)
        if np.isnan(arr).any(): raise ValueError('input contains NaN')
        if training:
            keep = dropout_mask(arr.shape, rate, rng)
            result = arr * keep / (1 - rate)
            return result.astype(arr.dtype), keep
        return arr, None
    """,
    "dropout_backward_answer": """
        g = np.asarray(dout)
        if g.dtype.kind != 'f': g = g.astype(float)
        p_keep = 1 - validate_p(rate)
        if mask is None: return g
        mask = np.asarray(mask)
        if mask.shape != g.shape:
            raise ValueError(f'shape mismatch: {g.shape} vs {mask.shape}')
        out = np.where(mask > 0, g / p_keep, 0.0)
        return out.astype(g.dtype)
    """,
}, helpers={"dropout_mask_answer": """
def validate_p(p):
    if not 0 <= p < 1:
        raise ValueError(f'bad rate {p}')
    return p
"""})

# Two ps1 students who worked alone but write the textbook lines the same way (the soft-threshold
# formula the docstring gives, the ISTA step, `l1 * np.sign(w) + 2 * l2 * w`, the NaN checks).
_TEXTBOOK = {
    "soft": "return np.sign(w) * np.maximum(np.abs(w) - t, 0)",
    "grad": "return l1 * np.sign(w) + 2 * l2 * w",
    "step": "grad = 2 * X.T @ (X @ w - y) / n",
}
QUINN = own_answers({
    "l1_penalty_answer": ("""
        ws = list(weights) if isinstance(weights, (list, tuple)) else [weights]
        ws = [np.asarray(w, dtype=float) for w in ws]
        if any(np.isnan(w).any() for w in ws):
            raise ValueError("NaN in weights")
        return ws
    """, """
        if lam < 0:
            raise ValueError("lam must be >= 0")
        return float(sum(lam * np.sum(np.abs(w)) for w in _as_arrays(weights)))
    """),
    "l2_penalty_answer": """
        if lam < 0:
            raise ValueError("lam must be >= 0")
        return float(sum(lam * np.sum(w ** 2) for w in _as_arrays(weights)))
    """,
    "penalty_grad_answer": f"""
        w = np.asarray(w) * 1.0  # integers become floats, float32 stays float32
        if l1 < 0 or l2 < 0:
            raise ValueError("negative strength")
        if np.isnan(w).any():
            raise ValueError("NaN in w")
        {_TEXTBOOK["grad"]}
    """,
    "soft_threshold_answer": f"""
        w = np.asarray(w) * 1.0  # integers become floats, float32 stays float32
        if t < 0:
            raise ValueError("negative threshold")
        if np.isnan(w).any():
            raise ValueError("NaN in w")
        {_TEXTBOOK["soft"]}
    """,
    "lasso_ista_answer": f"""
        n, d = X.shape
        L = 2 * np.linalg.norm(X, 2) ** 2 / n
        w = np.zeros(d)
        for _ in range(n_steps):
            {_TEXTBOOK["step"]}
            w = soft_threshold(w - grad / L, lam / L)
        return w
    """,
})
RAFA = own_answers({
    "l1_penalty_answer": ("""
        items = weights if isinstance(weights, (list, tuple)) else [weights]
        out = []
        for item in items:
            a = np.asarray(item, dtype=float)
            if np.any(np.isnan(a)):
                raise ValueError("weights contain NaN")
            out.append(a)
        return out
    """, """
        if lam < 0:
            raise ValueError(f"lam={lam} is negative")
        total = 0.0
        for w in _as_arrays(weights):
            total += np.sum(np.abs(w))
        return float(lam * total)
    """),
    "l2_penalty_answer": """
        if lam < 0:
            raise ValueError(f"lam={lam} is negative")
        total = 0.0
        for w in _as_arrays(weights):
            total += np.sum(w ** 2)
        return float(lam * total)
    """,
    "penalty_grad_answer": f"""
        if l1 < 0 or l2 < 0:
            raise ValueError(f"l1={{l1}}, l2={{l2}}: must be >= 0")
        w = np.asarray(w)
        if w.dtype.kind in "biu":  # bools and integers
            w = w.astype(np.float64)
        if np.any(np.isnan(w)):
            raise ValueError("w contains NaN")
        {_TEXTBOOK["grad"]}
    """,
    "soft_threshold_answer": f"""
        if t < 0:
            raise ValueError(f"t={{t}} is negative")
        w = np.asarray(w)
        if w.dtype.kind in "biu":  # bools and integers
            w = w.astype(np.float64)
        if np.any(np.isnan(w)):
            raise ValueError("w contains NaN")
        {_TEXTBOOK["soft"]}
    """,
    "lasso_ista_answer": f"""
        n = X.shape[0]
        step = n / (2 * np.linalg.norm(X, 2) ** 2)
        w = np.zeros(X.shape[1])
        for _ in range(n_steps):
            {_TEXTBOOK["step"]}
            w = soft_threshold(w - step * grad, step * lam)
        return w
    """,
})


# --------------------------------------------------------------------------- the cohort's students
@pytest.mark.parametrize("recipe", [DANA, ERIN, FIONA, QUINN, RAFA], ids=["dana", "erin", "fiona", "quinn", "rafa"])
def test_the_students_written_here_are_correct(recipe):
    """Their answers pass every hidden check (in process, against graders.reference): a flag on them
    could not come from a wrong answer."""
    from nbgrader_course import run_all_checks, solution_namespace

    assignment = PS1 if recipe in (QUINN, RAFA) else PS2
    _, release, source = notebooks(assignment)
    failed = {k: v for k, v in run_all_checks(assignment, solution_namespace(recipe(release, source))).items() if v}
    assert not failed, failed


# --------------------------------------------------------------------------- what is flagged
def test_a_copy_with_every_name_renamed_and_the_code_reformatted_is_flagged_with_its_lines():
    dana, erin = submission("dana", DANA), submission("erin", ERIN)
    assert len(own_lines(dana) & own_lines(erin)) <= 2, "erin's copy should differ from dana's line by line"
    (pair,) = similar_pairs([erin, dana], releases(PS2))
    assert pair.assignment == PS2 and pair.students == ("dana", "erin")
    assert min(pair.similarity) >= 0.9, pair.similarity  # measured: 1.00 / 1.00
    dana_matched, erin_matched = "\n".join(pair.matched(0)), "\n".join(pair.matched(1))
    assert "mask[draws < keep_prob] = 1.0" in dana_matched and "m[u < p_keep] = 1.0" in erin_matched
    assert "np.where(mask > 0, grad / keep_prob, 0.0)" in dana_matched and "g / p_keep" in erin_matched
    assert pair.code[0].count("checked_rate") and pair.code[1].count("validate_p")


def test_a_copy_that_also_changes_tokens_is_still_flagged():
    (pair,) = similar_pairs([submission("dana", DANA), submission("fiona", FIONA)], releases(PS2))
    assert DEFAULT_THRESHOLD <= pair.score < 0.9, pair.similarity  # measured: 0.73 / 0.71


def test_an_independent_correct_solution_is_not_flagged_against_the_course_solution():
    """dana against alice (who hands in the course's solution) shares the lines the contract dictates."""
    alice, dana = submission("alice", correct), submission("dana", DANA)
    assert similar_pairs([alice, dana], releases(PS2)) == []
    assert max(scores(alice, dana)) < DEFAULT_THRESHOLD - 0.3  # measured: 0.17 / 0.19


def test_independent_solutions_that_write_the_textbook_lines_alike_are_not_flagged():
    quinn, rafa = submission("quinn", QUINN, PS1), submission("rafa", RAFA, PS1)
    assert {_TEXTBOOK[k] for k in _TEXTBOOK} <= own_lines(quinn) & own_lines(rafa)
    assert similar_pairs([quinn, rafa], releases(PS1)) == []
    assert 0.2 < max(scores(quinn, rafa)) < DEFAULT_THRESHOLD - 0.15  # measured: 0.39 / 0.36: alike, not copied


def test_one_textbook_function_alone_is_too_little_to_flag():
    """A student who wrote only soft_threshold, as the docstring spells it, shares most of their code
    with quinn: the pair is below the minimum overlap, not above the threshold by chance."""
    only = own_answers({"soft_threshold_answer": f"""
        if t < 0:
            raise ValueError("t must be >= 0")
        w = np.asarray(w, dtype=float)
        if np.isnan(w).any():
            raise ValueError("NaN in w")
        {_TEXTBOOK["soft"]}
    """})
    quinn, sole = submission("quinn", QUINN, PS1), submission("sole", only, PS1)
    assert similar_pairs([quinn, sole], releases(PS1)) == []
    (pair,) = similar_pairs([quinn, sole], releases(PS1), min_overlap=0)
    assert pair.score >= DEFAULT_THRESHOLD and pair.overlap < similarity.MIN_OVERLAP


def test_every_pair_of_identical_hand_ins_is_listed():
    """Identical code is fingerprinted and compared once: each of the pairs is still there."""
    same = [submission(sid, correct) for sid in ("ann", "ava", "amy")]
    pairs = similar_pairs(same + [submission("dana", DANA)], releases(PS2))
    assert [p.students for p in pairs] == [("amy", "ann"), ("amy", "ava"), ("ann", "ava")]
    assert all(p.similarity == (1.0, 1.0) and p.code[0] == p.code[1] for p in pairs)


def test_the_untouched_release_is_boilerplate_and_never_similar_to_itself():
    bob, ben = submission("bob", untouched), submission("ben", untouched)
    assert similar_pairs([bob, ben], releases(PS2), threshold=1e-9, min_overlap=0) == []
    # Without the release's code to subtract, the two stubs are one and the same.
    no_boilerplate = {PS2: {notebooks(PS2)[0]: b'{"cells": []}'}}
    (pair,) = similar_pairs([bob, ben], no_boilerplate, min_overlap=0)
    assert pair.similarity == (1.0, 1.0)


def test_the_course_solution_and_its_misconceptions_are_alike_as_they_should_be():
    """alice and m01 both start from solutions/: an honest flag (the demo cohort's report lists them)."""
    from cohort import _load_misconceptions, misconception

    m01 = misconception(_load_misconceptions()[PS2][0]["code"])
    (pair,) = similar_pairs([submission("alice", correct), submission("m01", m01)], releases(PS2))
    assert pair.score == pytest.approx(1.0)


# --------------------------------------------------------------------------- hostile submissions
def _cell(source, metadata=None, cell_type="code"):
    return {"cell_type": cell_type, "metadata": metadata if metadata is not None else {"nbgrader": {"solution": True}},
            "source": source, "outputs": [], "execution_count": None}


def _notebook(*cells) -> bytes:
    return json.dumps({"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


BROKEN = {
    "invalid-json": invalid_json,
    "missing": None,
    "not-utf8": b"\xff\xfe{",
    "json-list": b"[1, 2, 3]",
    "cells-not-a-list": b'{"cells": 5}',
    "deep-json": b"[" * 100_000 + b"]" * 100_000,
    "odd-cells": _notebook(5, "text", _cell(["x = 1\n", 7]), _cell("y = 2", metadata=[1]),
                           _cell("z = 3", metadata={"nbgrader": [1]}), _cell(None), _cell("# md", cell_type=None)),
}


@pytest.mark.parametrize("raw", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_submission_neither_raises_nor_is_flagged(raw):
    broken = submission("h_broken", raw)
    assert isinstance(answer_code(broken.files[notebooks(PS2)[0]]), str)
    pairs = similar_pairs([broken, submission("alice", correct), submission("dana", DANA)], releases(PS2),
                          threshold=1e-9, min_overlap=0)
    assert pairs and all("h_broken" not in p.students for p in pairs)  # alice and dana were compared


def test_a_huge_answer_cell_is_read_only_up_to_the_cap():
    def huge(release, source):
        nb = correct(release, source)
        next(c for c in nb.cells if is_answer(c)).source += "\n" + "total = total + 1\n" * 1_000_000  # 18 MB
        return nb

    big = submission("h_huge", huge)
    assert len(answer_code(next(iter(big.files.values())))) == MAX_ANSWER_CHARS
    assert similar_pairs([big, submission("dana", DANA)], releases(PS2)) == []


def test_code_that_cannot_be_written_as_utf8_still_makes_a_report(tmp_path):
    from graders.pipeline.report import write_report_html

    name, release, source = notebooks(PS2)
    nb = DANA(release, source)
    next(c for c in nb.cells if is_answer(c)).source += '\nLABEL = "\ud800"\n'  # a lone surrogate
    raw = json.dumps(nb).encode()  # as JSON may spell it: "\\ud800"
    pairs = similar_pairs([Submission("sam", PS2, {name: raw}), Submission("sue", PS2, {name: raw})], releases(PS2))
    assert pairs and "\ud800" not in pairs[0].code[0] and "LABEL" in pairs[0].code[0]
    write_report_html(tmp_path / "report.html", [], [], 1.0, similar=pairs, similarity_threshold=DEFAULT_THRESHOLD)
    assert "sam" in (tmp_path / "report.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- report.html
def _results() -> list[GradeResult]:
    cells = [CellResult("dropout", "dropout_mask_values", 2.0, 2.0), CellResult("dropout", "dropout_forward_scaling",
                                                                                 1.0, 2.0, "not rescaled")]
    return [GradeResult(s, PS2, None, cells=copy.deepcopy(cells)) for s in ("alice", "dana", "erin")]


def _section(page: str) -> str:
    start = page.index("<h2>Similar submissions</h2>")
    end = min(i for i in (page.find("<h2>", start + 1), page.find("</body>")) if i >= 0)
    return page[start:end]


def _report(tmp_path: Path, name: str, **similar) -> str:
    from graders.pipeline.report import write_report_html

    write_report_html(tmp_path / name, _results(), ["'x': rejected"], 3.0, [("bob", PS2)], sandbox="test", **similar)
    return (tmp_path / name).read_text(encoding="utf-8")


def test_the_report_lists_each_pair_side_by_side_and_changes_nothing_else(tmp_path):
    results, before = _results(), _results()
    pairs = similar_pairs([submission("dana", DANA), submission("erin", ERIN), submission("alice", correct)],
                          releases(PS2))
    assert [p.students for p in pairs] == [("dana", "erin")]
    from graders.pipeline.report import write_report_html

    write_report_html(tmp_path / "with.html", results, ["'x': rejected"], 3.0, [("bob", PS2)], sandbox="test",
                      similar=pairs, similarity_threshold=DEFAULT_THRESHOLD)
    page = (tmp_path / "with.html").read_text(encoding="utf-8")
    assert results == before and [r.score for r in results] == [3.0, 3.0, 3.0]  # the grades are not touched
    section = _section(page)
    assert f"threshold, {DEFAULT_THRESHOLD:g}" in section and "changes no grade" in section
    assert "<td>dana and erin</td><td>dana 100%, erin 100%</td>" in section
    columns = re.findall(r"<div><p>(\w+)</p><pre>(.*?)</pre></div>", section, re.S)
    assert [sid for sid, _ in columns] == ["dana", "erin"]
    assert "<mark>" in columns[0][1] and "validate_p" in columns[1][1] and "checked_rate" not in columns[1][1]
    assert "alice" not in section
    # Without the section, the page is what it was without similarity flags.
    assert page.replace(section, "") == _report(tmp_path, "without.html")


def test_the_report_says_when_no_pair_reaches_the_threshold_or_nothing_was_compared(tmp_path):
    assert "None above the threshold (0.6)" in _section(_report(tmp_path, "a.html", similarity_threshold=0.6))
    assert "Not checked" in _section(_report(tmp_path, "b.html", similarity_threshold=0.0))
    assert "Similar submissions" not in _report(tmp_path, "c.html")


def test_student_code_is_escaped_in_the_report(tmp_path):
    attack = '"</td><script>alert(1)</script><mark>"'

    def with_attack(recipe):
        def made(release, source):
            nb = recipe(release, source)
            next(c for c in nb.cells if is_answer(c)).source += f"\n\nNOTE = {attack}\n"
            return nb
        return made

    dana, erin = submission("dana", with_attack(DANA)), submission("erin", with_attack(ERIN))
    (pair,) = similar_pairs([dana, erin], releases(PS2))
    assert all(attack in code for code in pair.code)
    page = _report(tmp_path, "report.html", similar=[pair], similarity_threshold=DEFAULT_THRESHOLD)
    assert "<script>" not in page and page.count("<mark>") == page.count("</mark>") > 0
    text = page.replace("<mark>", "").replace("</mark>", "")  # our highlighting may split the string
    assert text.count("&quot;&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;mark&gt;&quot;") == 2


def test_long_reports_are_capped(tmp_path, monkeypatch):
    from graders.pipeline import report

    monkeypatch.setattr(report, "MAX_PAIRS_SHOWN", 1)
    monkeypatch.setattr(report, "MAX_LINES_SHOWN", 5)
    subs = [submission(s, r) for s, r in (("alice", correct), ("dana", DANA), ("erin", ERIN), ("fiona", FIONA))]
    pairs = similar_pairs(subs, releases(PS2))
    assert len(pairs) >= 3
    section = _section(_report(tmp_path, "report.html", similar=pairs, similarity_threshold=DEFAULT_THRESHOLD))
    assert section.count("<details>") == 1 and section.count("<tr><td>") == len(pairs)
    for pre in re.findall(r"<pre>(.*?)</pre>", section, re.S):
        assert len([ln for ln in pre.split("\n") if "class='gap'" not in ln]) <= 5


# --------------------------------------------------------------------------- settings
@pytest.mark.parametrize("kwargs, words", [
    (dict(threshold=0), "`threshold` to be a number in (0, 1]"),
    (dict(threshold=1.5), "`threshold` to be a number in (0, 1]"),
    (dict(threshold="0.5"), "Received: threshold='0.5'"),
    (dict(noise=0), "`noise` to be a positive integer"),
    (dict(guarantee=10), "`guarantee` to be an integer >= noise"),
    (dict(min_overlap=-1), "`min_overlap` to be a non-negative integer"),
])
def test_settings_are_checked(kwargs, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        similar_pairs([submission("alice", correct)], releases(PS2), **kwargs)


def test_every_assignment_needs_its_release():
    with pytest.raises(ValueError, match="Received none for: ps2_dropout"):
        similar_pairs([submission("alice", correct), submission("dana", DANA)], releases(PS1))


def test_the_cli_option_takes_zero_to_one():
    import argparse

    assert similarity.threshold_arg("0") == 0.0 and similarity.threshold_arg("1") == 1.0
    for bad in ("1.5", "-0.1", "nan", "half"):
        with pytest.raises(argparse.ArgumentTypeError, match="Expected a number in"):
            similarity.threshold_arg(bad)


def test_the_docstring_examples():
    assert doctest.testmod(similarity).failed == 0


# --------------------------------------------------------------------------- the command line
@pytest.mark.grading
def test_autograde_lists_the_copied_pair_and_grades_it_as_usual(tmp_path):
    """`python -m graders autograde` on alice, dana and erin: all three get full marks, the report and
    the summary name dana and erin (and not alice, who worked alone)."""
    from pipeline_helpers import build_cohort, run_cli, totals

    subs = build_cohort(tmp_path / "subs", ["alice", "dana", "erin"])
    proc = run_cli(subs, tmp_path / "out", f"sqlite:///{tmp_path / 'g.db'}", "--assignment", PS2, "--jobs", "3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    scores = totals(tmp_path / "out")
    assert len(scores) == 3 and len(set(scores.values())) == 1 and min(scores.values()) > 0, scores
    assert "Similar pairs: 1 (see report)" in proc.stdout
    section = _section((tmp_path / "out" / "report.html").read_text(encoding="utf-8"))
    assert "<td>dana and erin</td>" in section and "alice" not in section


def test_students_with_the_same_code_are_one_group_in_the_report(tmp_path):
    """Four students with one solution make six pairs: the report shows one group of four, and keeps
    the pairs that are alike but not the same."""
    from graders.pipeline.similarity import SimilarPair

    def pair(a, b, s=1.0):
        return SimilarPair(PS2, (a, b), (s, s), ("x = 1\ny = 2", "x = 1\ny = 2"), (((0, 5),), ((0, 5),)))

    same = ["ann", "ben", "cat", "dan"]
    pairs = [pair(a, b) for i, a in enumerate(same) for b in same[i + 1:]] + [pair("dan", "eve", 0.8),
                                                                              pair("fay", "gus", 0.9)]
    page = html.unescape(_report(tmp_path, "grouped.html", similar=pairs, similarity_threshold=DEFAULT_THRESHOLD))
    assert "4 students handed in the same answer code (100 % both ways for every pair): ann, ben, cat, dan" in page
    assert "dan and eve" in page and "fay and gus" in page and "ann and ben" not in page
    # The overview: who is linked to whom, one row per cluster (an unrelated pair is a cluster of its own).
    assert f"<td>5: ann, ben, cat, dan, eve</td><td>7</td>" in page and "<td>2: fay, gus</td><td>1</td>" in page
