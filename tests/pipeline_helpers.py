"""Shared set-up for the grading-pipeline tests: small cohorts and CLI runs in a temp folder."""
from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_cohort(dest: Path, students: list[str]) -> Path:
    """The named students of the demo cohort (tests/cohort.py), built fresh into ``dest``."""
    from cohort import UNSAFE_ID, build

    build(dest, only=students)
    if UNSAFE_ID not in students:
        shutil.rmtree(dest / UNSAFE_ID, ignore_errors=True)
    return dest


def run_cli(submissions: Path, out: Path, db: str, *extra: str, timeout: int = 1500, env: dict | None = None):
    cmd = [sys.executable, "-m", "graders", "autograde", "--submissions", str(submissions), "--out", str(out),
           "--db", db, "--no-progress", *extra]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)


def read_cells(out: Path) -> list[dict]:
    with open(out / "cells.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def totals(out: Path) -> dict[tuple[str, str], float]:
    scores: dict[tuple[str, str], float] = {}
    for row in read_cells(out):
        key = (row["student_id"], row["assignment"])
        scores[key] = scores.get(key, 0.0) + float(row["score"])
    return scores


def read_grades(out: Path) -> list[dict]:
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
