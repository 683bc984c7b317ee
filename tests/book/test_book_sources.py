"""The chapters' sources read like d2l: objectives first, code that fits the text column, plotting
boilerplate behind a toggle."""
from __future__ import annotations

import re

import pytest
import yaml

from book_site import ROOT

CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.md"))
# The book theme's text column holds about 80 characters of code at its default width.
MAX_CODE_LINE = 80
CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```\s*$", re.S | re.M)


def code_cells(path):
    """(options, source) of every code cell: options from its YAML header or :key: lines."""
    cells = []
    for match in CELL.finditer(path.read_text(encoding="utf-8")):
        body, options = match.group(1), {}
        if body.startswith("---\n"):
            header, _, body = body[4:].partition("\n---\n")
            options = yaml.safe_load(header) or {}
        else:
            while body.startswith(":"):
                line, _, body = body.partition("\n")
                key, _, value = line[1:].partition(":")
                options[key.strip()] = yaml.safe_load(value)
        cells.append((options, body))
    return cells


def test_every_chapter_is_found():
    assert len(CHAPTERS) >= 6 and all(code_cells(p) for p in CHAPTERS)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_starts_with_learning_objectives(chapter):
    text = chapter.read_text(encoding="utf-8")
    first_cell = text.find("```{code-cell}")
    assert "By the end of the chapter you should be able to" in text[:first_cell], chapter.name


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_code_lines_fit_the_text_column(chapter):
    long = [f"{chapter.name}: {len(line)} chars: {line.strip()[:60]}"
            for _, source in code_cells(chapter) for line in source.splitlines() if len(line) > MAX_CODE_LINE]
    assert not long, "\n".join(long)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_plotting_and_glue_cells_are_hidden(chapter):
    """A cell that only draws a figure or glues numbers for the text hides its code."""
    visible = []
    for options, source in code_cells(chapter):
        tags = set(options.get("tags") or [])
        if tags & {"hide-input", "remove-input", "remove-cell"}:
            continue
        lines = [ln for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("#")]
        drawing = sum(bool(re.match(r"\s*(ax|axes|fig|plt)\b[\w\[\]., ]*[.=(]", ln)) for ln in lines)
        gluing = sum(ln.lstrip().startswith("glue(") for ln in lines)
        if lines and (drawing + gluing) / len(lines) > 0.5:
            visible.append(source.strip().splitlines()[0][:70])
    assert not visible, f"{chapter.name}: cells of plotting or glue code shown in full: {visible}"


def test_exercise_pages_say_what_each_problem_set_is_for():
    pages = sorted((ROOT / "book" / "exercises").glob("ps*.md"))
    bodies = [p.read_text(encoding="utf-8").split("\n", 6)[-1] for p in pages]
    assert len(pages) == 5 and len(set(bodies)) == 5
    for page in pages:
        text = page.read_text(encoding="utf-8").lower()
        assert "prerequisite" in text and "time" in text and "practi" in text, page.name
