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
                      absent=(), sandbox: str = "") -> None:
    esc = html.escape
    by_assignment = defaultdict(list)
    for r in results:
        by_assignment[r.assignment].append(r)
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Grading report</title>",
             "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
             "th{background:#f3f3f3}.low{color:#b00}.grid{display:flex;flex-wrap:wrap;gap:1em}</style></head><body>",
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
    if rejected:
        parts.append("<h2>Rejected (not graded)</h2><ul>" + "".join(f"<li>{esc(m)}</li>" for m in rejected) + "</ul>")
    if absent:
        parts.append("<h2>No submission</h2><ul>" + "".join(f"<li>{esc(s)}: {esc(a)}</li>" for s, a in absent)
                     + "</ul>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
