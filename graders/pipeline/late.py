"""The course's late policy: an nbgrader ``LateSubmissionPlugin`` with a rate, a cap, a grace period
and per-student extensions.

nbgrader ships two policies, "no penalty" and "zero if late". This one deducts a percentage
of the notebook's score for every started day (or hour) after the due date::

    penalty = score * min(cap, rate * ceil(time late / unit)) / 100

* ``grace_minutes``: a submission at most this late is not late (uploads take time, clocks
  differ); past it, lateness counts from the due date itself.
* ``extensions_file``: a CSV with the columns ``student_id,assignment,days,hours`` (either of
  ``days`` and ``hours`` may be left empty; ``*`` as the assignment extends every assignment;
  lines starting with ``#`` are comments). An extension moves that student's due date.
* The due date is nbgrader's: the assignment's ``duedate`` in the gradebook (``nbgrader db
  assignment add NAME --duedate=...``, the Formgrader, or ``python -m graders duedates``), and
  the time of a submission is nbgrader's ``timestamp.txt``.

``nbgrader_config.py`` selects it (``c.AssignLatePenalties.plugin_class``) and sets its numbers,
so plain ``nbgrader autograde`` and ``python -m graders autograde`` apply the same policy;
nbgrader stores the result as the notebook's ``late_submission_penalty`` and its export shows
the raw score, the penalty and the final score.

>>> policy = LatePolicy(percent_per_unit=10, unit="day", max_percent=50, grace_minutes=15)
>>> policy.penalty(score=8.0, seconds_late=10 * 60)         # within the grace period
0.0
>>> policy.penalty(score=8.0, seconds_late=26 * 3600)       # two started days: 20 %
1.6
>>> policy.penalty(score=8.0, seconds_late=30 * 86400)      # capped at 50 %
4.0
"""
from __future__ import annotations

import csv
import math
from datetime import timedelta
from pathlib import Path

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Enum, Float, Unicode, validate

UNIT_SECONDS = {"day": 86400.0, "hour": 3600.0}
EXTENSION_COLUMNS = ("student_id", "assignment", "days", "hours")


class ExtensionsError(ValueError):
    """The extensions file cannot be read; the message names the file and the line."""


def _commented_csv(path: Path):
    """``(header, rows)`` of a CSV file that instructors write by hand, where lines starting with ``#``
    are comments; ``rows`` yields ``(line number in the file, row)`` for the messages."""
    kept = [(number, line) for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1)
            if not line.lstrip().startswith("#")]
    reader = csv.DictReader([line for _, line in kept])
    header = reader.fieldnames or []
    return header, ((kept[reader.line_num - 1][0], row) for row in reader)


def read_extensions(path: Path | str) -> dict[tuple[str, str], timedelta]:
    """``(student_id, assignment) -> extension`` from the CSV at ``path`` (assignment ``*``: all).

    A missing file means no extensions; a malformed one raises :class:`ExtensionsError`.
    """
    path = Path(path)
    if not path.is_file():
        return {}
    header, rows = _commented_csv(path)
    missing = [c for c in ("student_id", "assignment") if c not in header]
    if missing or not {"days", "hours"} & set(header):
        raise ExtensionsError(f"{path}: Expected the columns {','.join(EXTENSION_COLUMNS)} (days or hours may "
                              f"be omitted). Received: {','.join(header) or 'no header'}")
    out: dict[tuple[str, str], timedelta] = {}
    for number, row in rows:
        key = ((row.get("student_id") or "").strip(), (row.get("assignment") or "").strip())
        if not all(key):
            raise ExtensionsError(f"{path}, row {number}: Expected a student_id and an assignment. Received: {row}")
        try:
            days, hours = (float((row.get(c) or "0").strip() or 0) for c in ("days", "hours"))
        except ValueError:
            raise ExtensionsError(f"{path}, row {number}: Expected numbers of days and hours. "
                                  f"Received: days={row.get('days')!r}, hours={row.get('hours')!r}") from None
        if days < 0 or hours < 0 or not math.isfinite(days + hours):
            raise ExtensionsError(f"{path}, row {number}: Expected a non-negative extension. "
                                  f"Received: days={days:g}, hours={hours:g}")
        if key in out:
            raise ExtensionsError(f"{path}, row {number}: a second extension for {key[0]} on {key[1]}")
        out[key] = timedelta(days=days, hours=hours)
    return out


class LatePolicy(LateSubmissionPlugin):
    """A percentage of the score per started day (or hour) late, capped, after a grace period."""

    percent_per_unit = Float(10.0, help="Percent of the score deducted per started unit late.").tag(config=True)
    unit = Enum(("day", "hour"), default_value="day", help="The unit of lateness: day or hour.").tag(config=True)
    max_percent = Float(50.0, help="The cap: at most this percent of the score is deducted.").tag(config=True)
    grace_minutes = Float(15.0, help="A submission at most this many minutes late is on time.").tag(config=True)
    extensions_file = Unicode("", help="CSV of per-student extensions (student_id,assignment,days,hours); "
                                       "empty or missing: none.").tag(config=True)

    @validate("percent_per_unit", "max_percent", "grace_minutes")
    def _non_negative(self, proposal):
        value = proposal["value"]
        if not (value >= 0 and math.isfinite(value)) or (proposal["trait"].name == "max_percent" and value > 100):
            raise ValueError(f"Expected {proposal['trait'].name} between 0 and "
                             f"{100 if proposal['trait'].name == 'max_percent' else 'infinity'}. Received: {value}")
        return value

    def extension(self, assignment: str, student_id: str) -> timedelta:
        """The student's extension for ``assignment`` (an assignment's own line wins over ``*``)."""
        table = read_extensions(self.extensions_file) if self.extensions_file else {}
        return table.get((student_id, assignment), table.get((student_id, "*"), timedelta()))

    def percent(self, seconds_late: float) -> float:
        """The percent deducted for a submission ``seconds_late`` after its (extended) due date."""
        if seconds_late <= self.grace_minutes * 60:
            return 0.0
        units = math.ceil(seconds_late / UNIT_SECONDS[self.unit])
        return min(self.max_percent, self.percent_per_unit * units)

    def penalty(self, score: float, seconds_late: float, extension: timedelta = timedelta()) -> float:
        """The points deducted from ``score`` (rounded to 1e-6 so that 10 % of 8 is 0.8, not 0.8000000000000002)."""
        late = max(0.0, seconds_late - extension.total_seconds())
        return round(score * self.percent(late) / 100.0, 6)

    def explain(self, assignment: str, student_id: str, seconds_late: float) -> str:
        """The policy's reading of one submission, for the report, e.g. "2 days late: 20 %"."""
        extension = self.extension(assignment, student_id)
        late = max(0.0, seconds_late - extension.total_seconds())
        given = f" after an extension of {extension.total_seconds() / 3600:g} h" if extension else ""
        if late <= self.grace_minutes * 60:
            return f"on time{given}" + (" (within the grace period)" if late else "")
        units = math.ceil(late / UNIT_SECONDS[self.unit])
        cap = " (the cap)" if self.percent(late) >= self.max_percent else ""
        return f"{units} {self.unit}{'s' if units != 1 else ''} late{given}: {self.percent(late):g} %{cap}"

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        """nbgrader's hook (``AssignLatePenalties``, once per notebook). Its parent, the preprocessor,
        knows the assignment, which the hook's arguments do not."""
        assignment = getattr(self.parent, "assignment_id", None) or ""
        return self.penalty(score, total_seconds_late, self.extension(assignment, student_id))


def read_due_dates(path: Path | str, known: list[str]) -> dict[str, object]:
    """``assignment -> due date`` (naive UTC, as nbgrader stores it) from a CSV ``assignment,duedate``.

    Due dates are read as nbgrader reads them (``2026-10-05 17:00:00 Europe/Berlin``; no zone
    means UTC). Every row is checked before anything is written: an unknown assignment or an
    unreadable date raises :class:`ExtensionsError` naming the row.
    """
    from nbgrader.utils import parse_utc

    path = Path(path)
    if not path.is_file():
        raise ExtensionsError(f"Expected a CSV file of due dates. Received: {path} (no such file)")
    header, rows = _commented_csv(path)
    if not {"assignment", "duedate"} <= set(header):
        raise ExtensionsError(f"{path}: Expected the columns assignment,duedate. "
                              f"Received: {','.join(header) or 'no header'}")
    out = {}
    for number, row in rows:
        name, when = (row.get("assignment") or "").strip(), (row.get("duedate") or "").strip()
        if name not in known:
            raise ExtensionsError(f"{path}, row {number}: Expected one of the course's assignments "
                                  f"({', '.join(known)}). Received: {name!r}")
        try:
            out[name] = parse_utc(when)
        except (ValueError, OverflowError) as exc:
            raise ExtensionsError(f"{path}, row {number}: Expected a date such as '2026-10-05 17:00:00 UTC'. "
                                  f"Received: {when!r} ({exc})") from None
    return out
