"""What the instructor reads after a batch: grades.csv, cells.csv and report.html."""
from __future__ import annotations

import csv
import html
from collections import defaultdict
from pathlib import Path

import numpy as np

from .model import GradeResult

CELL_COLUMNS = ["student_id", "assignment", "notebook", "grade_id", "score", "max_score", "message"]


def write_cells_csv(path: Path, results: list[GradeResult]) -> None:
    """One row per student x assignment x graded cell."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CELL_COLUMNS)
        for r in sorted(results, key=lambda r: (r.assignment, r.student_id)):
            for c in r.cells:
                writer.writerow([r.student_id, r.assignment, c.notebook, c.grade_id, f"{c.score:g}",
                                 f"{c.max_score:g}", c.message.replace("\n", " ")])


def write_grades_csv(path: Path, db_url: str, course_id: str, assignments: list[str], students: list[str]) -> None:
    """nbgrader's own CSV export (``nbgrader export``), limited to this batch."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    plugin = CsvExportPlugin(to=str(path), assignment=list(assignments), student=list(students))
    with Gradebook(db_url, course_id=course_id) as gb:
        plugin.export(gb)


def item_statistics(results: list[GradeResult]) -> list[dict]:
    """Per graded cell: mean score fraction and discrimination.

    Discrimination is the corrected item-total correlation: the correlation, over
    students, between the fraction of the cell's points earned and the score on the
    rest of the assignment. Near 0 (or negative) means the question does not separate
    students who did well from those who did not.
    """
    rows = []
    by_assignment = defaultdict(list)
    for r in results:
        by_assignment[r.assignment].append(r)
    for aid, rs in sorted(by_assignment.items()):
        keys = [(c.notebook, c.grade_id, c.max_score) for c in rs[0].cells]
        table = np.array([[c.score for c in r.cells] for r in rs], dtype=float) if rs[0].cells else np.zeros((0, 0))
        totals = table.sum(axis=1) if table.size else np.zeros(len(rs))
        for j, (nb, gid, max_score) in enumerate(keys):
            item = table[:, j]
            rest = totals - item
            if len(rs) > 2 and item.std() > 0 and rest.std() > 0:
                disc = float(np.corrcoef(item, rest)[0, 1])
            else:
                disc = float("nan")
            rows.append(dict(assignment=aid, notebook=nb, grade_id=gid, max_score=max_score, n=len(rs),
                             mean=float(item.mean() / max_score) if max_score else float("nan"),
                             discrimination=disc))
    return rows


def _histogram_svg(scores: list[float], max_score: float, title: str, alt: str) -> str:
    """The score histogram as inline SVG: bars, counts, the score axis (no plotting library, whose
    import alone costs the grading run a CPU-second)."""
    esc = html.escape
    bins = np.linspace(0, max_score, min(11, int(max_score) + 1) if max_score >= 1 else 5)
    counts, edges = np.histogram(scores, bins=bins)
    width, height, left, bottom, top = 380, 230, 36, 36, 36
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(int(counts.max()), 1)
    bar_w = plot_w / len(counts)
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' role='img' aria-label='{esc(alt)}' width='{width}' "
             f"height='{height}' viewBox='0 0 {width} {height}' font-family='system-ui,sans-serif' font-size='11'>",
             f"<title>{esc(alt)}</title>",
             f"<text x='{width / 2:.0f}' y='16' text-anchor='middle' font-size='12'>{esc(title)}</text>"]
    for k, count in enumerate(counts):
        h = plot_h * count / peak
        x, y = left + k * bar_w, top + plot_h - h
        parts.append(f"<rect x='{x + 1:.1f}' y='{y:.1f}' width='{bar_w - 2:.1f}' height='{h:.1f}' fill='#1f77b4'/>")
        if count:
            parts.append(f"<text x='{x + bar_w / 2:.1f}' y='{y - 3:.1f}' text-anchor='middle'>{count}</text>")
    axis_y = top + plot_h
    parts.append(f"<line x1='{left}' y1='{axis_y}' x2='{left + plot_w}' y2='{axis_y}' stroke='#333'/>")
    for k, edge in enumerate(edges):
        parts.append(f"<text x='{left + k * bar_w:.1f}' y='{axis_y + 14}' text-anchor='middle'>{edge:.3g}</text>")
    parts.append(f"<text x='{left + plot_w / 2:.0f}' y='{height - 4}' text-anchor='middle'>"
                 f"score (of {max_score:g}); bar height: students</text></svg>")
    return "".join(parts)


def write_report_html(path: Path, results: list[GradeResult], rejected: list[str], seconds: float,
                      absent=(), sandbox: str = "", similar=(), similarity_threshold: float | None = None) -> None:
    """report.html. ``similar`` (``similarity.SimilarPair``s) and the ``similarity_threshold`` they were
    found with make the section "Similar submissions" (0: not checked; None: no section)."""
    esc = html.escape
    by_assignment = defaultdict(list)
    for r in results:
        by_assignment[r.assignment].append(r)
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Grading report</title>",
             "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
             "th{background:#f3f3f3}.low{color:#b00}.grid{display:flex;flex-wrap:wrap;gap:1em}"
             ".pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1em}"
             ".pair pre{overflow:auto;background:#fafafa;border:1px solid #ddd;padding:6px;font-size:12px;margin:0}"
             "mark{background:#ffe08a}"
             ".gap{color:#888}</style></head><body>",
             "<h1>Grading report</h1>",
             f"<p>{len(results)} submissions of {len({r.student_id for r in results})} students, "
             f"{len(by_assignment)} assignments, graded in {seconds:.0f} s.</p>",
             f"<p>Sandbox: {esc(sandbox or 'not recorded')}. Memory: "
             f"{esc('; '.join(sorted({r.memory_limit for r in results if r.memory_limit})) or 'not recorded')}.</p>"]
    parts.append("<h2>Scores</h2><div class='grid'>")
    for aid, rs in sorted(by_assignment.items()):
        scores = [r.score for r in rs]
        max_score = max((r.max_score for r in rs), default=0)
        alt = (f"Histogram of {aid} scores: mean {np.mean(scores):.1f} of {max_score:g}, "
               f"median {np.median(scores):.1f}, {len(scores)} students")
        parts.append(f"<figure>{_histogram_svg(scores, max_score, aid, alt)}<figcaption>{esc(alt)}</figcaption></figure>")
    parts.append("</div><h2>Questions</h2><table><tr><th>assignment</th><th>graded cell</th><th>points</th>"
                 "<th>mean (fraction of points)</th><th>discrimination</th></tr>")
    for row in item_statistics(results):
        disc = row["discrimination"]
        disc_s = "n/a" if np.isnan(disc) else f"{disc:+.2f}"
        low = " class='low'" if not np.isnan(disc) and disc < 0.2 else ""
        parts.append(f"<tr><td>{esc(row['assignment'])}</td><td>{esc(row['grade_id'])}</td><td>{row['max_score']:g}</td>"
                     f"<td>{row['mean']:.2f}</td><td{low}>{disc_s}</td></tr>")
    parts.append("</table><p>Discrimination: correlation between a question's score and the rest of the "
                 "assignment's score (below 0.2 in red: the question does not separate strong from weak "
                 "submissions; n/a: everyone scored the same).</p>")
    flagged = [(r, f) for r in sorted(results, key=lambda r: (r.student_id, r.assignment)) for f in r.flags]
    parts.append(f"<h2>Flagged ({len({(r.student_id, r.assignment) for r, _ in flagged})} submissions)</h2>")
    if flagged:
        parts.append("<table><tr><th>student</th><th>assignment</th><th>reason</th><th>detail</th><th>score</th></tr>")
        for r, f in flagged:
            parts.append(f"<tr><td>{esc(r.student_id)}</td><td>{esc(r.assignment)}</td><td>{esc(f.reason)}</td>"
                         f"<td>{esc(f.detail)}</td><td>{r.score:g} / {r.max_score:g}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    parts.append(_late_section(results))
    if similarity_threshold is not None:
        parts.append(_similar_section(similar, similarity_threshold))
    if rejected:
        parts.append("<h2>Rejected (not graded)</h2><ul>" + "".join(f"<li>{esc(m)}</li>" for m in rejected) + "</ul>")
    if absent:
        parts.append("<h2>No submission</h2><ul>" + "".join(f"<li>{esc(s)}: {esc(a)}</li>" for s, a in absent)
                     + "</ul>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")


# Side-by-side code for at most this many pairs (the most similar first; the table lists them all),
# and at most this much of each side: a class that handed in one solution must not make a 40 MB page.
MAX_PAIRS_SHOWN = 100
MAX_LINES_SHOWN = 60
MAX_LINE_CHARS = 200


def _similar_section(similar, threshold: float) -> str:
    """"Similar submissions": a table of the flagged pairs, then each pair's matching lines side by side."""
    esc = html.escape
    parts = ["<h2>Similar submissions</h2>"]
    if not threshold:
        parts.append("<p>Not checked (similarity threshold 0).</p>")
        return "\n".join(parts)
    parts.append(f"<p>Pairs of submissions of one assignment whose answer code is alike (copydetect: names, "
                 f"comments and layout do not count, and the code the release gave is left out). This is a flag "
                 f"for a human to look at: it changes no grade. A pair is listed when the share of one student's "
                 f"code that is also in the other's reaches the threshold, {threshold:g}, and the two share more "
                 f"than a few statements.</p>")
    if not similar:
        parts.append(f"<p>None above the threshold ({threshold:g}).</p>")
        return "\n".join(parts)
    from .similarity import clusters, identical_groups

    parts.append("<table><tr><th>assignment</th><th>students alike (linked by the pairs below)</th>"
                 "<th>pairs</th></tr>")
    for aid, students, count in clusters(list(similar)):
        parts.append(f"<tr class='cluster'><td>{esc(aid)}</td><td>{len(students)}: {esc(', '.join(students))}</td>"
                     f"<td>{count}</td></tr>")
    parts.append("</table>")
    groups, similar = identical_groups(list(similar))
    for aid, students, example in groups:
        parts.append(f"<details><summary>{esc(aid)}: {len(students)} students handed in the same answer code "
                     f"(100 % both ways for every pair): {esc(', '.join(students))}</summary><div class='pair'>"
                     f"<div><p>{esc(example.students[0])}</p><pre>{_highlighted(example.code[0], example.spans[0])}"
                     "</pre></div></div></details>")
    shown = {id(p) for p in sorted(similar, key=lambda p: -p.score)[:MAX_PAIRS_SHOWN]}
    parts.append("<table><tr><th>assignment</th><th>students</th><th>similarity (share of each one's code)</th></tr>")
    for p in similar:
        (a, b), (sa, sb) = p.students, p.similarity
        parts.append(f"<tr><td>{esc(p.assignment)}</td><td>{esc(a)} and {esc(b)}</td>"
                     f"<td>{esc(a)} {sa:.0%}, {esc(b)} {sb:.0%}</td></tr>")
    parts.append("</table>")
    if len(similar) > len(shown):
        parts.append(f"<p>The matching code of the {len(shown)} most similar pairs (of {len(similar)}):</p>")
    for p in (q for q in similar if id(q) in shown):
        (a, b), (sa, sb) = p.students, p.similarity
        parts.append(f"<details><summary>{esc(p.assignment)}: {esc(a)} ({sa:.0%}) and {esc(b)} ({sb:.0%})"
                     "</summary><div class='pair'>"
                     + "".join(f"<div><p>{esc(sid)}</p><pre>{_highlighted(code, spans)}</pre></div>"
                               for sid, code, spans in zip(p.students, p.code, p.spans))
                     + "</div></details>")
    return "\n".join(parts)


def _highlighted(code: str, spans, context: int = 1) -> str:
    """The lines of ``code`` that hold a matching span (and ``context`` lines around), escaped, with
    the matching characters in <mark>; skipped lines become a ⋯ line."""
    marked = bytearray(len(code))
    for start, end in spans:
        start = max(0, min(start, len(code)))
        end = max(start, min(end, len(code)))
        while start > 0 and _in_word(code[start - 1]):  # copydetect's ends can cut a name: mark all of it
            start -= 1
        while end < len(code) and _in_word(code[end]):
            end += 1
        marked[start:end] = b"\x01" * (end - start)
    lines, offset = [], 0
    for line in code.split("\n"):
        lines.append((offset, line))
        offset += len(line) + 1
    hits = [i for i, (o, line) in enumerate(lines) if any(marked[o:o + len(line)])]
    keep = sorted({j for i in hits for j in range(i - context, i + context + 1) if 0 <= j < len(lines)})
    out, previous = [], -1
    for i in keep[:MAX_LINES_SHOWN]:
        if i != previous + 1:
            out.append("<span class='gap'>⋯</span>")
        out.append(_marked_line(*lines[i], marked))
        previous = i
    if len(keep) > MAX_LINES_SHOWN or (keep and keep[-1] != len(lines) - 1):
        out.append("<span class='gap'>⋯</span>")
    return "\n".join(out)


def _in_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _marked_line(offset: int, line: str, marked: bytearray) -> str:
    """One line, escaped, its matching runs in <mark> (at most MAX_LINE_CHARS characters of it)."""
    text, cut = line[:MAX_LINE_CHARS], len(line) > MAX_LINE_CHARS
    flags = bytes(marked[offset:offset + len(text)])
    out, start = [], 0
    while start < len(text):
        inside = flags[start] == 1
        end = flags.find(b"\x00" if inside else b"\x01", start)
        end = len(text) if end < 0 else end
        piece = html.escape(text[start:end])
        out.append(f"<mark>{piece}</mark>" if inside else piece)
        start = end
    return "".join(out) + (" …" if cut else "")


def _late_section(results: list[GradeResult]) -> str:
    """"Late submissions": each submission handed in after its due date, with the late policy's reading
    (nbgrader_config.py's LatePolicy) and the raw score, the penalty and the final score."""
    esc = html.escape
    late = sorted((r for r in results if r.seconds_late > 0), key=lambda r: (r.assignment, r.student_id))
    parts = [f"<h2>Late submissions ({len(late)})</h2>"]
    if not late:
        parts.append("<p>None (or no due dates in the gradebook: <code>python -m graders duedates</code>).</p>")
        return "\n".join(parts)
    parts.append("<table><tr><th>student</th><th>assignment</th><th>after the due date</th><th>late policy</th>"
                 "<th>raw score</th><th>penalty</th><th>final score</th></tr>")
    for r in late:
        parts.append(f"<tr><td>{esc(r.student_id)}</td><td>{esc(r.assignment)}</td><td>{r.seconds_late / 3600:.1f} h"
                     f"</td><td>{esc(r.late_note or 'not explained by the configured plugin')}</td>"
                     f"<td>{r.score:g} / {r.max_score:g}</td><td>{r.late_penalty:g}</td><td>{r.final_score:g}</td></tr>")
    parts.append("</table>")
    return "\n".join(parts)

