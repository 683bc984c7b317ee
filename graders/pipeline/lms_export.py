"""Grades for the LMS: the gradebook's scores in the CSV that Canvas or Moodle imports, keyed by the LMS's ids.

    python -m graders export --format canvas --roster roster.csv --out canvas.csv

The scores are nbgrader's (read with ``nbgrader.api.Gradebook``), per student and assignment:

* raw: ``SubmittedAssignment.score``, the sum of the submission's grades before any penalty (a manual
  grade where there is one, else the autograded one, plus extra credit);
* penalty: ``SubmittedAssignment.late_submission_penalty``, the sum of its notebooks' late penalties
  (written by the course's late policy; 0 where there is none);
* final: ``max(0, raw - penalty)``, as ``nbgrader export`` computes it;
* points possible: ``Assignment.max_score``, the sum of the assignment's graded cells.

A student without a submission of an assignment gets an empty cell, not a 0.

Roster
------
A CSV file (UTF-8, a header row, one student a row, columns in any order, other columns ignored)
that maps nbgrader's student ids to the LMS's ids::

    student_id,name,canvas_id,sis_user_id,sis_login_id,section,email,id_number
    alice,"Doe, Alice",4711,S001,adoe,Section A,alice@example.edu,20260001

Only ``student_id`` is always required (see ``ROSTER_COLUMNS``). ``--format canvas`` needs, for
every row, one of ``canvas_id``, ``sis_user_id``, ``sis_login_id`` or ``name`` (Canvas matches a row on
them in that order); ``--format moodle`` needs ``email`` (``--moodle-key email``, the default) or
``id_number`` (``--moodle-key idnumber``). Empty or repeated ids are refused with their line numbers.

Layouts
-------
canvas: Canvas's Gradebook import file::

    Student,ID,SIS User ID,SIS Login ID,Section,ps1_penalties,ps2_dropout (8123)
    Points Possible,,,,,10,12
    "Doe, Alice",4711,S001,adoe,Section A,7.5,12

  A column named after an assignment that Canvas does not have creates that assignment (with the
  points of the Points Possible row); ``NAME (ID)``, with ``--canvas-assignment-id NAME=ID``, fills
  the existing Canvas assignment with that id whatever its title. Canvas takes only assignment
  columns, so the file holds the final score; Canvas's guides name no column that would carry the
  raw score and the penalty without becoming a gradebook item of its own (``--format csv`` has them).
  An empty cell is "no grade": where Canvas already holds a score, its import lists the cell as a
  change, for review, before anything is saved.

moodle: Moodle's CSV grade import::

    Email address,ps1_penalties,ps2_dropout
    alice@example.edu,7.5,12

  The first column identifies the user (``Email address``, or ``ID number`` with ``--moodle-key
  idnumber``); in Moodle's import form, map it ("Map from") to the same user field ("Map to") and each
  assignment column to its grade item. Numbers use a "." decimal point. Moodle's documentation advises
  against columns its gradebook does not have, so the file holds only the final score. An empty cell
  is "no grade" to Moodle, which clears a grade Moodle holds; a user Moodle cannot find stops the
  whole import, which is why rows without the key are never written.

csv: a spreadsheet with everything: ``student_id``, the roster's own columns, and per assignment
``<name>_raw``, ``<name>_penalty``, ``<name>_final``, ``<name>_max``.

Mismatches are reported by name on stderr, never dropped silently (see :func:`run` for the exit codes).

Sources of the layouts:

* Canvas's importer, ``app/models/gradebook_importer.rb`` in instructure/canvas-lms: the header
  ``Student,ID[,SIS User ID],SIS Login ID,Section``, the row whose first cell says ``Points Possible``,
  ``Title (id)`` columns for existing assignments (else a title match, else a new assignment), students
  matched by ID, then SIS User ID, then SIS Login ID, then name; only Canvas's own read-only columns
  are skipped.
* "Import a CSV File into Carmen Grades", Ohio State's Canvas guide:
  https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades
  (the student columns the import requires; "New assignment columns in the Gradebook generate new
  assignments").
* "Gradebook Action Menu", VCU's Canvas guide:
  https://ts.vcu.edu/askit/teaching-and-learning/canvas/faculty/grading-faculty/gradebook-action-menu-faculty/
  (the read-only columns Canvas computes are ignored when a file is imported).
* MoodleDocs "Grade import", https://docs.moodle.org/311/en/Grade_import ("Map from" / "Map to": Email
  address or ID number; new columns are refused; email addresses are case sensitive), and Moodle's
  ``grade/import/csv/classes/load_data.php`` (empty or ``-`` is no grade, a user it cannot find
  aborts the import, decimals are read by ``unformat_float``).
"""
from __future__ import annotations

import csv
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

FORMATS = ("canvas", "moodle", "csv")
# The roster's columns and what each holds (the CLI's --help prints this).
ROSTER_COLUMNS = {
    "student_id": "the nbgrader student id (required)",
    "name": "Canvas's Student column: the student's name as Canvas shows it",
    "canvas_id": "Canvas's ID column: Canvas's numeric user ID",
    "sis_user_id": "Canvas's SIS User ID",
    "sis_login_id": "Canvas's SIS Login ID",
    "section": "Canvas's Section",
    "email": "Moodle's Email address (--moodle-key email)",
    "id_number": "Moodle's ID number (--moodle-key idnumber)",
}
CANVAS_KEYS = ("canvas_id", "sis_user_id", "sis_login_id", "name")  # what Canvas matches a row on, in order
# --moodle-key -> (roster column, the header Moodle's own export gives that user field)
MOODLE_KEYS = {"email": ("email", "Email address"), "idnumber": ("id_number", "ID number")}
# Ids that name one person: two rows with the same one would upload two grades onto one student.
UNIQUE_COLUMNS = ("student_id", "canvas_id", "sis_user_id", "sis_login_id", "email", "id_number")
CANVAS_STUDENT_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CSV_PARTS = ("raw", "penalty", "final", "max")


class ExportError(ValueError):
    """An input the export cannot use (roster, gradebook, options); the message says which and why."""


@dataclass(frozen=True)
class RosterEntry:
    line: int                 # the roster line, for messages
    fields: dict[str, str]    # the known roster columns the file has, stripped

    @property
    def student_id(self) -> str:
        return self.fields["student_id"]

    def get(self, column: str) -> str:
        return self.fields.get(column, "")

    def __str__(self) -> str:
        return f"{self.student_id} (line {self.line})"


@dataclass(frozen=True)
class Roster:
    path: Path
    columns: list[str]        # the file's header, as written
    entries: list[RosterEntry]


@dataclass(frozen=True)
class Score:
    raw: float
    penalty: float

    @property
    def final(self) -> float:
        return max(0.0, self.raw - self.penalty)


@dataclass(frozen=True)
class Grades:
    assignments: dict[str, float]          # name -> points possible, in the gradebook's order
    students: set[str]                     # every student of the gradebook
    scores: dict[tuple[str, str], Score]   # (student, assignment) -> score, for submissions only


@dataclass
class Match:
    """The roster against the gradebook: the rows to write, and every mismatch by name."""
    rows: list[RosterEntry] = field(default_factory=list)
    not_in_roster: list[str] = field(default_factory=list)              # submitted, cannot be uploaded
    lacking_key: list[RosterEntry] = field(default_factory=list)        # cannot be uploaded either
    not_in_gradebook: list[RosterEntry] = field(default_factory=list)   # not written
    no_submission: list[RosterEntry] = field(default_factory=list)      # written, with empty cells

    @property
    def blocking(self) -> bool:
        return bool(self.not_in_roster or self.lacking_key)


def number(x: float) -> str:
    """A score as a person writes it: ``7.5``, ``10``, ``0.3`` (not ``0.30000000000000004``)."""
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


# ---------------------------------------------------------------- roster

def read_roster(path: Path) -> Roster:
    """The roster at ``path``, checked: a ``student_id`` column, and no empty or repeated ids."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: Excel's byte-order mark
            reader = csv.DictReader(f)
            columns = [c.strip() for c in reader.fieldnames or []]
            if "student_id" not in columns:
                raise ExportError(f"Expected a roster column 'student_id' in {path}. "
                                  f"Received columns: {', '.join(columns) or '(none: the file is empty)'}")
            reader.fieldnames = columns
            entries = [RosterEntry(reader.line_num, {c: (row.get(c) or "").strip() for c in ROSTER_COLUMNS
                                                     if c in columns}) for row in reader]
    except OSError as exc:
        raise ExportError(f"Expected a readable roster file. Received: {path} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ExportError(f"Expected a UTF-8 roster file. Received: {path} (not UTF-8)") from None
    except csv.Error as exc:
        raise ExportError(f"Expected a CSV roster file. Received: {path} ({exc})") from None
    if not entries:
        raise ExportError(f"Expected at least one student in the roster. Received: {path} (a header only)")
    problems = [f"{path} line {e.line}: Expected a student_id. Received an empty one."
                for e in entries if not e.student_id] + _repeated_ids(path, entries)
    if problems:
        raise ExportError("\n".join(problems))
    return Roster(Path(path), columns, entries)


def _repeated_ids(path: Path, entries: list[RosterEntry]) -> list[str]:
    problems = []
    for column in UNIQUE_COLUMNS:
        first: dict[str, int] = {}
        for e in entries:
            value = e.get(column)
            if value and value in first:
                problems.append(f"{path} line {e.line}: Expected each {column} once. "
                                f"Received {value!r} again (first on line {first[value]}).")
            elif value:
                first[value] = e.line
    return problems


def key_columns(fmt: str, moodle_key: str) -> tuple[str, ...]:
    """The roster columns of which a row needs one for ``fmt`` (none for the plain csv)."""
    if fmt == "canvas":
        return CANVAS_KEYS
    if fmt == "moodle":
        return (MOODLE_KEYS[moodle_key][0],)
    return ()


def check_key_columns(roster: Roster, keys: tuple[str, ...], fmt: str) -> None:
    """A roster without any column the format can key on cannot serve it at all: say so at once."""
    if keys and not set(keys) & set(roster.columns):
        raise ExportError(f"Expected a roster column {_either(tuple(repr(k) for k in keys))} for --format {fmt}. "
                          f"Received columns: {', '.join(roster.columns)}")


# ---------------------------------------------------------------- gradebook

def read_grades(db_url: str, course_id: str, wanted: list[str] | None = None) -> Grades:
    """Every (or every ``wanted``) assignment of ``course_id`` in the gradebook at ``db_url``, with its scores."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SQLAlchemyError

    _check_gradebook_exists(db_url)
    try:
        with Gradebook(db_url, course_id=course_id) as gb:
            in_course = [a for a in gb.assignments if a.course_id == course_id]
            chosen = _chosen_assignments([a.name for a in in_course], wanted, course_id)
            assignments = {a.name: float(a.max_score) for a in in_course if a.name in chosen}
            scores = {(sub.student.id, name): Score(float(sub.score), float(sub.late_submission_penalty or 0.0))
                      for name in assignments for sub in gb.assignment_submissions(name)}
            students = {s.id for s in gb.students}
    except SQLAlchemyError as exc:
        raise ExportError(f"Expected a readable nbgrader gradebook at --db. Received: {db_url} "
                          f"({getattr(exc, 'orig', None) or exc})") from None
    return Grades(assignments, students, scores)


def _check_gradebook_exists(db_url: str) -> None:
    """nbgrader's Gradebook creates an empty database where there is none: an export never should."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(db_url)
    except ArgumentError:
        raise ExportError(f"Expected --db to be a database URL (sqlite:///FILE or postgresql://...). "
                          f"Received: {db_url}") from None
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not Path(url.database).is_file():
        raise ExportError(f"Expected an nbgrader gradebook at --db. Received: {db_url} (no such file)")


def _chosen_assignments(known: list[str], wanted: list[str] | None, course_id: str) -> set[str]:
    if not known:
        raise ExportError(f"Expected assignments of course {course_id!r} in the gradebook. Received: none")
    unknown = [a for a in wanted or [] if a not in known]
    if unknown:
        raise ExportError(f"Expected assignments of the gradebook ({', '.join(known)}). "
                          f"Received: {', '.join(unknown)}")
    return set(wanted or known)


# ---------------------------------------------------------------- matching

def match(roster: Roster, grades: Grades, keys: tuple[str, ...]) -> Match:
    """Which roster rows go in the file, and which students of either side cannot."""
    out = Match()
    submitted = {student for student, _ in grades.scores}
    rostered = {e.student_id for e in roster.entries}
    # A gradebook student with nothing to export (no submission of these assignments) loses nothing.
    out.not_in_roster = sorted(submitted - rostered)
    for e in roster.entries:
        if e.student_id not in grades.students:
            out.not_in_gradebook.append(e)
        elif keys and not any(e.get(k) for k in keys):
            out.lacking_key.append(e)
        else:
            out.rows.append(e)
            if e.student_id not in submitted:
                out.no_submission.append(e)
    return out


def mismatch_messages(m: Match, keys: tuple[str, ...], fmt: str, allow_missing: bool) -> list[str]:
    """One line per kind of mismatch, naming every student (for stderr)."""
    level = "warning" if allow_missing else "error"
    kinds = [(level, m.not_in_roster, "gradebook student(s) with a submission are not in the roster, so cannot be "
                                      "uploaded"),
             (level, m.lacking_key, f"roster row(s) lack the {_either(keys)} that --format {fmt} needs, so cannot "
                                    f"be uploaded"),
             ("warning", m.no_submission, "roster student(s) have no submission of any exported assignment (their "
                                          "cells are empty)"),
             ("warning", m.not_in_gradebook, "roster id(s) match no gradebook student (not written)")]
    return [f"{lvl}: {len(names)} {what}: {', '.join(map(str, names))}" for lvl, names, what in kinds if names]


def summary(m: Match) -> str | None:
    """The mismatches counted, for the line after "Wrote ...", or None if there are none."""
    counts = [(len(m.not_in_roster), "not in the roster"), (len(m.lacking_key), "lacking the format's id"),
              (len(m.not_in_gradebook), "roster ids not in the gradebook"),
              (len(m.no_submission), "written without any submission")]
    said = [f"{n} {what}" for n, what in counts if n]
    return f"Mismatches (named on stderr): {', '.join(said)}." if said else None


def _either(keys: tuple[str, ...]) -> str:
    """``("a", "b", "c")`` -> ``"a, b or c"`` (``""`` for none: the plain csv needs no id)."""
    return " or ".join(filter(None, [", ".join(keys[:-1]), *keys[-1:]]))


# ---------------------------------------------------------------- tables

def canvas_table(rows: list[RosterEntry], grades: Grades, assignment_ids: dict[str, str]) -> list[list[str]]:
    names = list(grades.assignments)
    header = CANVAS_STUDENT_HEADER + [f"{a} ({assignment_ids[a]})" if a in assignment_ids else a for a in names]
    points = ["Points Possible"] + [""] * (len(CANVAS_STUDENT_HEADER) - 1) + [number(grades.assignments[a])
                                                                            for a in names]
    body = [[e.get("name"), e.get("canvas_id"), e.get("sis_user_id"), e.get("sis_login_id"), e.get("section")]
            + [_final(grades, e.student_id, a) for a in names] for e in rows]
    return [header, points, *body]


def moodle_table(rows: list[RosterEntry], grades: Grades, moodle_key: str) -> list[list[str]]:
    column, label = MOODLE_KEYS[moodle_key]
    names = list(grades.assignments)
    return [[label, *names], *([e.get(column)] + [_final(grades, e.student_id, a) for a in names] for e in rows)]


def csv_table(rows: list[RosterEntry], grades: Grades, roster_columns: list[str]) -> list[list[str]]:
    known = [c for c in ROSTER_COLUMNS if c in roster_columns]
    header = known + [f"{a}_{part}" for a in grades.assignments for part in CSV_PARTS]
    body = []
    for e in rows:
        cells = [e.get(c) for c in known]
        for a, points in grades.assignments.items():
            s = grades.scores.get((e.student_id, a))
            cells += [number(s.raw), number(s.penalty), number(s.final)] if s else ["", "", ""]
            cells.append(number(points))
        body.append(cells)
    return [header, *body]


def _final(grades: Grades, student: str, assignment: str) -> str:
    s = grades.scores.get((student, assignment))
    return number(s.final) if s else ""


def canvas_assignment_ids(pairs: list[str], assignments: dict[str, float]) -> dict[str, str]:
    """``NAME=ID`` options as ``{name: id}``: the Canvas assignment each nbgrader assignment fills."""
    out = {}
    for pair in pairs:
        name, _, canvas_id = pair.partition("=")
        if not canvas_id.strip().isdigit():
            raise ExportError(f"Expected --canvas-assignment-id NAME=ID with Canvas's numeric assignment id. "
                              f"Received: {pair}")
        if name.strip() not in assignments:
            raise ExportError(f"Expected --canvas-assignment-id for an exported assignment "
                              f"({', '.join(assignments)}). Received: {name.strip()}")
        out[name.strip()] = canvas_id.strip()
    return out


def write_table(path: Path, table: list[list[str]]) -> None:
    """Write ``table`` whole or not at all: a failed run never leaves half a file, nor spoils an earlier one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(table)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- the command

def run(args) -> int:
    """``python -m graders export``: write ``args.out`` for ``args.format``.

    Exit codes: 0 when the file is written; 1 when gradebook students with a submission cannot be
    uploaded (not in the roster, or their row lacks the format's id): nothing is written, unless
    ``--allow-missing`` writes the file without them (then 0). Unusable inputs raise
    :class:`ExportError` (the CLI exits 2). Roster ids without a gradebook student and roster
    students without a submission are warnings.
    """
    if args.canvas_assignment_id and args.format != "canvas":
        raise ExportError(f"Expected --canvas-assignment-id only with --format canvas. "
                          f"Received: --format {args.format}")
    roster = read_roster(args.roster)
    keys = key_columns(args.format, args.moodle_key)
    check_key_columns(roster, keys, args.format)
    grades = read_grades(args.db, args.course_id, args.assignment)
    ids = canvas_assignment_ids(args.canvas_assignment_id or [], grades.assignments)
    m = match(roster, grades, keys)
    for line in mismatch_messages(m, keys, args.format, args.allow_missing):
        print(line, file=sys.stderr)
    if m.blocking and not args.allow_missing:
        print(f"error: nothing written to {args.out}: add these students (or their ids) to {args.roster}, or pass "
              f"--allow-missing to export without them.", file=sys.stderr)
        return 1
    tables = {"canvas": lambda: canvas_table(m.rows, grades, ids),
              "moodle": lambda: moodle_table(m.rows, grades, args.moodle_key),
              "csv": lambda: csv_table(m.rows, grades, roster.columns)}
    write_table(args.out, tables[args.format]())
    print(f"Wrote {len(m.rows)} students x {len(grades.assignments)} assignments to {args.out} "
          f"(format {args.format})")
    tally = summary(m)
    if tally:
        print(tally)
    return 0
