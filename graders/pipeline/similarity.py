"""Similarity flags: pairs of submissions of one assignment whose answer code is suspiciously alike.

Two students who hand in the same code, with the variables renamed and the layout changed, get
the same grade as two who worked alone; only a human can tell which is which. This module points a
human at the pairs worth a look, in report.html. It never changes a grade, and a flag is not a
verdict: the instructor reads the two columns and decides.

The comparison is ``copydetect``'s (the winnowing of MOSS, Schleimer et al. 2003): the answer code
is tokenised with pygments, every name becomes ``V`` (``F`` where a function is defined), every
string ``S``, comments and whitespace go (so renaming and reformatting hide nothing), and the
k-grams of what is left are fingerprinted.
What the release already put in the answer cells (signatures, docstrings, scaffold code, the
``# YOUR CODE HERE`` stub) is subtracted as boilerplate: everyone hands that in.

>>> pairs = similar_pairs(submissions, {"ps2_dropout": prepared["ps2_dropout"].release})  # doctest: +SKIP
>>> [(p.students, f"{p.score:.0%}") for p in pairs]                                      # doctest: +SKIP
[(('dana', 'erin'), '100%')]
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from graders.cells import is_answer

from .model import Submission

# Only light imports here: the command line reads DEFAULT_THRESHOLD and threshold_arg when it parses
# its arguments. nbformat (by way of sanitize) and copydetect come when there is something to read.

# The defaults, measured on the course's assignments (copydetect's similarities: the share of each
# student's code found in the other's; the students are in tests/cohort.py and test_similarity.py):
#   dana's ps2 and erin's copy of it (every name renamed, other comments, another layout)  1.00 / 1.00
#   dana's and fiona's copy (renamed, and a token changed on about every other line)       0.73 / 0.71
#   dana's independent ps2 and the course's solution (alice)                               0.17 / 0.19
#   two independent ps1 solutions that write the textbook lines alike (quinn, rafa)         0.39 / 0.36
# Most of what independent students share is the code next to the given signatures and docstrings:
# copydetect subtracts the k-grams that lie wholly inside the release's code, not those that straddle
# it, so `return ws` + `def l1_penalty(...): """..."""` + `if lam < 0: raise ValueError(` matches.
#
# k: a k-gram is k characters of *filtered* code, in which `return lam * np.sum(np.abs(w))` is the
# 19 characters `returnV*V.V(V.V(V))`. With k = 35, a match is one and a half statements or more in
# a row. copydetect's default, 25, puts the independent ps1 pair at 0.49 / 0.47, too close to a
# disguised copy; with 50, fiona's copy falls to 0.37 / 0.36.
NOISE_THRESHOLD = 35
# Every k-gram is kept (winnowing window 1): answers are a few kilobytes, there is no need to thin
# the fingerprints out, and no match of k characters or more can slip through.
GUARANTEE_THRESHOLD = NOISE_THRESHOLD
# A pair is flagged when the larger of its two similarities reaches this (the 0.39 of the independent
# pair and the 0.73 of the disguised copy are on either side) ...
DEFAULT_THRESHOLD = 0.6
# ... and the two share at least this many filtered characters, about seven statements: one function
# written the textbook way shares up to 119 with another student's (ps1's soft_threshold), and is
# then most of the code of a student who wrote nothing else (0.70).
MIN_OVERLAP = 150
# Submissions are hostile: a 100 MB answer cell must not stall the report.
MAX_ANSWER_CHARS = 200_000


@dataclass(frozen=True)
class SimilarPair:
    """Two submissions of one assignment whose answer code is alike (a flag for a human, no verdict).

    ``similarity[i]`` is copydetect's score for student ``i``: the share of that student's own
    answer code (boilerplate subtracted) that is also in the other's. ``spans[i]`` are the
    ``(start, end)`` character ranges of ``code[i]`` that match, for showing side by side.
    """

    assignment: str
    students: tuple[str, str]
    similarity: tuple[float, float]
    code: tuple[str, str]
    spans: tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]
    overlap: int = 0  # filtered characters in common

    @property
    def score(self) -> float:
        return max(self.similarity)

    def matched(self, side: int) -> list[str]:
        """The matching pieces of ``code[side]``, in order."""
        return [self.code[side][start:end] for start, end in self.spans[side]]


def answer_code(notebook: bytes | None, limit: int = MAX_ANSWER_CHARS) -> str:
    """The code of a submitted notebook's answer cells, joined; "" for anything that is not a notebook.

    Never raises: the bytes come from a student. At most ``limit`` characters are kept, of a notebook
    no larger than the pipeline grades.

    >>> nb = {"cells": [{"cell_type": "code", "metadata": {"nbgrader": {"solution": True}}, "source": ["x = 1\\n"]},
    ...                 {"cell_type": "code", "metadata": {}, "source": "import numpy"}]}
    >>> answer_code(json.dumps(nb).encode()), answer_code(b"{not json"), answer_code(None)
    ('x = 1\\n', '', '')
    """
    from .sanitize import MAX_NOTEBOOK_BYTES

    if not notebook or len(notebook) > MAX_NOTEBOOK_BYTES:  # too big to be graded (sanitize flags it) or read
        return ""
    try:
        nb = json.loads(notebook)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested deep enough to overflow the parser
        return ""
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        return ""
    parts, size = [], 0
    for cell in cells:
        source = _answer_source(cell)
        if source:
            parts.append(source)
            size += len(source) + 1
            if size >= limit:
                break
    # A lone surrogate (JSON may spell one, "\ud800") cannot be written out as UTF-8: it becomes "?".
    return "\n".join(parts)[:limit].encode("utf-8", "replace").decode("utf-8")


def _answer_source(cell) -> str:
    """The source of an answer code cell, or "" (for any other cell, or a cell not shaped like one)."""
    if not isinstance(cell, dict) or cell.get("cell_type") != "code":
        return ""
    try:
        if not is_answer(cell):
            return ""
    except (AttributeError, TypeError):  # metadata that is not a mapping
        return ""
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def submission_code(files: dict[str, bytes | None], limit: int = MAX_ANSWER_CHARS) -> str:
    """The answer code of all of a submission's (or a release's) notebooks, in notebook-name order."""
    parts = [answer_code(files[name], limit) for name in sorted(files)]
    return "\n".join(p for p in parts if p)[:limit]


def similar_pairs(submissions: list[Submission], release_by_assignment: dict[str, dict[str, bytes]],
                  threshold: float = DEFAULT_THRESHOLD, *, noise: int = NOISE_THRESHOLD,
                  guarantee: int = GUARANTEE_THRESHOLD, min_overlap: int = MIN_OVERLAP) -> list[SimilarPair]:
    """Every pair of submissions of one assignment whose similarity reaches ``threshold``.

    ``release_by_assignment`` maps each assignment to its release notebooks (name -> bytes, what
    ``PreparedAssignment.release`` holds): their answer-cell code is boilerplate. Pairs come
    sorted by assignment, then the most similar first.
    """
    _check_settings(threshold, noise, guarantee, min_overlap)
    by_assignment: dict[str, list[Submission]] = {}
    for sub in submissions:
        by_assignment.setdefault(sub.assignment, []).append(sub)
    missing = sorted(set(by_assignment) - set(release_by_assignment))
    if missing:
        raise ValueError(f"Expected a release for every assignment submitted. Received none for: {', '.join(missing)}")
    pairs = []
    for aid, subs in sorted(by_assignment.items()):
        if len(subs) < 2:
            continue
        found = _compare_all(aid, subs, release_by_assignment[aid], noise, guarantee)
        # Most similar first, and of two pairs with one score the one that is alike both ways.
        pairs += sorted((p for p in found if p.score >= threshold and p.overlap >= min_overlap),
                        key=lambda p: (-p.score, -min(p.similarity), p.students))
    return pairs


def threshold_arg(text: str) -> float:
    """``--similarity-threshold``: a number in [0, 1], 0 meaning "do not compare".

    >>> threshold_arg("0.6"), threshold_arg("0")
    (0.6, 0.0)
    """
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"Expected a number in [0, 1] (0: do not compare). Received: {text!r}")
    return value


def _check_settings(threshold, noise, guarantee, min_overlap) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        raise ValueError(f"Expected `threshold` to be a number in (0, 1]. Received: threshold={threshold!r}")
    if isinstance(noise, bool) or not isinstance(noise, int) or noise < 1:
        raise ValueError(f"Expected `noise` to be a positive integer. Received: noise={noise!r}")
    if isinstance(guarantee, bool) or not isinstance(guarantee, int) or guarantee < noise:
        raise ValueError(f"Expected `guarantee` to be an integer >= noise ({noise}). Received: guarantee={guarantee!r}")
    if isinstance(min_overlap, bool) or not isinstance(min_overlap, int) or min_overlap < 0:
        raise ValueError(f"Expected `min_overlap` to be a non-negative integer. Received: min_overlap={min_overlap!r}")


def _compare_all(aid: str, subs: list[Submission], release: dict[str, bytes], noise: int,
                 guarantee: int) -> list[SimilarPair]:
    """All pairs of ``subs``: each distinct answer code fingerprinted once, each pair of them compared once
    (a class in which many hand in one and the same code costs what its distinct codes cost)."""
    from copydetect import compare_files

    # As copydetect's CopyDetector does: every k-gram of the boilerplate (window 1) is subtracted.
    given = np.array(sorted(_fingerprint(f"{aid}/release", submission_code(release), noise, 1).hashes))
    window = guarantee - noise + 1
    code = {sub.student_id: submission_code(sub.files) for sub in subs}
    prints = {text: _fingerprint(f"{aid}/{sid}", text, noise, window, given)
              for text, sid in {text: sid for sid, text in code.items()}.items()}
    compared, out = {}, []
    for a, b in combinations(sorted(code), 2):
        key = (code[a], code[b])
        if key not in compared:
            compared[key] = compare_files(prints[code[a]], prints[code[b]])
        overlap, (sim_a, sim_b), (slices_a, slices_b) = compared[key]
        if overlap:
            out.append(SimilarPair(aid, (a, b), (float(sim_a), float(sim_b)), key,
                                   (_spans(slices_a), _spans(slices_b)), int(overlap)))
    return out


def _fingerprint(label: str, code: str, noise: int, window: int, boilerplate=None):
    """copydetect's fingerprint of ``code`` (Python tokens, names normalised), read from memory."""
    # Imported here: copydetect's detector imports matplotlib.pyplot (for a report of its own that
    # is not used), about half a second that a grading run pays only when there is something to compare.
    from copydetect import CodeFingerprint

    return CodeFingerprint(label, noise, window, boilerplate=boilerplate, filter=True, language="python",
                           fp=io.StringIO(code))


def _spans(slices) -> tuple[tuple[int, int], ...]:
    """copydetect's 2 x N array of slice starts and ends as ``((start, end), ...)``."""
    if len(slices) == 0 or len(slices[0]) == 0:
        return ()
    return tuple((int(s), int(e)) for s, e in zip(slices[0], slices[1]))


class _Components:
    """Union-find over (assignment, student): which students are linked by pairs."""

    def __init__(self, pairs):
        self.parent: dict[tuple[str, str], tuple[str, str]] = {}
        for q in pairs:
            self.parent[self.root((q.assignment, q.students[0]))] = self.root((q.assignment, q.students[1]))

    def root(self, key):
        while self.parent.setdefault(key, key) != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def of(self, q: SimilarPair):
        return self.root((q.assignment, q.students[0]))

    def members(self) -> dict[tuple[str, str], list[str]]:
        out: dict[tuple[str, str], list[str]] = {}
        for key in list(self.parent):
            out.setdefault(self.root(key), []).append(key[1])
        return out


def identical_groups(pairs: list[SimilarPair], at: float = 0.999, min_size: int = 3):
    """Fold the students whose answer code is the same (both scores at least ``at``) into groups.

    A class in which ten students hand in one solution makes 45 pairs; the report shows them as
    one group of ten instead. Returns ``(groups, rest)``: ``groups`` as ``(assignment, students,
    a pair of the group)`` for groups of at least ``min_size``, and the pairs not folded into one.

    >>> p = lambda a, b, s=1.0: SimilarPair("ps", (a, b), (s, s), ("", ""), ((), ()))
    >>> groups, rest = identical_groups([p("a", "b"), p("b", "c"), p("a", "c"), p("c", "d", 0.7)])
    >>> [(g[0], g[1]) for g in groups], [q.students for q in rest]
    ([('ps', ['a', 'b', 'c'])], [('c', 'd')])
    """
    same = [q for q in pairs if min(q.similarity) >= at]
    components = _Components(same)
    members = components.members()
    big = {r for r, m in members.items() if len(m) >= min_size}
    groups = [(r[0], sorted(members[r]), next(q for q in same if components.of(q) == r)) for r in sorted(big)]
    folded = {id(q) for q in same if components.of(q) in big}
    rest = [q for q in pairs if id(q) not in folded]
    return groups, rest


def clusters(pairs: list[SimilarPair]) -> list[tuple[str, list[str], int]]:
    """The groups of students linked by similar pairs (connected components, per assignment):
    ``(assignment, students, number of pairs)``, largest first. One solution shared by many shows
    as one cluster; an independent copy between two friends as a cluster of its own.

    >>> p = lambda a, b: SimilarPair("ps", (a, b), (0.9, 0.9), ("", ""), ((), ()))
    >>> clusters([p("a", "b"), p("b", "c"), p("x", "y")])
    [('ps', ['a', 'b', 'c'], 2), ('ps', ['x', 'y'], 1)]
    """
    components = _Components(pairs)
    counts: dict[tuple[str, str], int] = {}
    for q in pairs:
        counts[components.of(q)] = counts.get(components.of(q), 0) + 1
    return sorted(((r[0], sorted(m), counts[r]) for r, m in components.members().items()),
                  key=lambda c: (c[0], -len(c[1]), c[1]))
