"""Static checks of the built book: nothing from solutions/ leaks, figures survive dark mode."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from book_site import ROOT, SITE, TEXT_SUFFIXES

REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)(.*?)### END \1", re.S)
MARK_SCHEME = re.compile(r"=== BEGIN MARK SCHEME ===(.*?)=== END MARK SCHEME ===", re.S)
# A leak is a run of this many consecutive lines of a solution (or of a reference
# function the assignments ask for): single lines such as `model = keras.Sequential([`
# or `restore_best_weights=True)` are lesson content that the book must teach.
WINDOW = 3


def _code_lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def _windows(lines: list[str]) -> set[str]:
    if len(lines) < WINDOW:
        return {"\n".join(lines)} if len(lines) == WINDOW - 1 and sum(map(len, lines)) >= 40 else set()
    return {"\n".join(lines[i:i + WINDOW]) for i in range(len(lines) - WINDOW + 1)}


def secret_snippets() -> dict[str, str]:
    """Runs of consecutive lines of solution code and hidden tests in solutions/, with their origin."""
    snippets = {}
    for nb_path in sorted((ROOT / "solutions").rglob("*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        for cell in nb.cells:
            for match in list(REGION.finditer(cell.source)) + list(MARK_SCHEME.finditer(cell.source)):
                for w in _windows(_code_lines(match.group(match.lastindex))):
                    snippets.setdefault(w, str(nb_path.relative_to(ROOT)))
    return snippets


def reference_snippets() -> dict[str, str]:
    """Runs of lines of the reference functions that the assignments ask students to write."""
    import ast
    import inspect

    import graders

    snippets = {}
    for name in graders.__all__:
        source = inspect.getsource(getattr(graders, name))
        func = ast.parse(source).body[0]
        body = func.body[1:] if ast.get_docstring(func) else func.body
        code = "\n".join(ast.get_source_segment(source, stmt) for stmt in body)
        for w in _windows(_code_lines(code)):
            snippets.setdefault(w, f"graders.{name}")
    return snippets


def page_text(path: Path) -> str:
    """What a reader can see or download from a built file, one stripped line per line."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".html":
        from bs4 import BeautifulSoup

        raw = BeautifulSoup(raw, "html.parser").get_text("\n")
    elif path.suffix == ".ipynb":
        try:
            raw = "\n".join(c.source for c in nbformat.reads(raw, as_version=4).cells)
        except Exception:
            pass
    return "\n".join(_code_lines(raw))


def site_files():
    if not (SITE / "index.html").exists():
        pytest.fail("The book is not built: run `make book` first (make test does).")
    return [p for p in SITE.rglob("*") if p.is_file()]


def test_solutions_folder_is_never_rendered():
    rendered = [p for p in site_files() if "solutions" in p.relative_to(SITE).parts]
    assert not rendered, rendered


def _leaks(snippets: dict[str, str], files=None, site: Path = SITE) -> list[str]:
    """Every snippet found in a readable built file (default: the whole built site)."""
    found = []
    for path in site_files() if files is None else files:
        if path.suffix not in TEXT_SUFFIXES or "_static" in path.parts:
            continue
        text = page_text(path)
        found += [f"{path.relative_to(site)}: {w!r} (from {origin})" for w, origin in snippets.items() if w in text]
    return found


def test_no_solution_code_or_hidden_test_in_the_built_html():
    snippets = secret_snippets()
    assert len(snippets) > 50, "solutions/ should hold the assignments' solutions"
    leaks = _leaks(snippets)
    assert not leaks, "\n".join(leaks[:20])


def test_book_does_not_print_the_reference_code_students_must_write():
    snippets = reference_snippets()
    assert len(snippets) > 20
    leaks = _leaks(snippets)
    assert not leaks, "\n".join(leaks[:20])


@pytest.mark.parametrize("kind", ["solution", "reference"])
def test_leak_detector_would_notice_a_leak(tmp_path, kind):
    """The checks above must be able to fail: the detector they use finds a pasted fragment, split
    over highlighted spans as Sphinx renders code, in an HTML page and in a downloadable notebook."""
    snippets = secret_snippets() if kind == "solution" else reference_snippets()
    snippet, origin = next(iter(snippets.items()))
    html = tmp_path / "page.html"
    html.write_text("<html><body><pre><span>" + snippet.replace("\n", "</span>\n<span>    ") +
                    "</span></pre></body></html>")
    notebook = tmp_path / "page.ipynb"
    notebook.write_text(nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(snippet)])))
    clean = tmp_path / "clean.html"
    clean.write_text("<html><body><p>nothing to see</p></body></html>")
    found = _leaks(snippets, [html, notebook, clean], site=tmp_path)
    assert {line.split(":")[0] for line in found} == {"page.html", "page.ipynb"}, found
    assert origin in found[0]


def test_figures_have_an_opaque_background_for_dark_mode():
    pngs = sorted((SITE / "_images").glob("*.png"))
    assert len(pngs) >= 10, "the chapters should have figures"
    transparent = []
    for png in pngs:
        img = Image.open(png)
        if img.mode in ("RGBA", "LA") or "transparency" in img.info:
            alpha = np.asarray(img.convert("RGBA"))[..., 3]
            if alpha.min() < 255:
                transparent.append(png.name)
    assert not transparent, transparent


def test_no_page_loads_scripts_or_styles_from_the_network():
    external = []
    for page in (SITE / "book").rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        for tag in re.findall(r"<(?:script|link)\b[^>]*>", html):
            if re.search(r"(?:src|href)=\"https?://", tag) and "stylesheet" in tag or (
                    tag.startswith("<script") and re.search(r"src=\"https?://", tag)):
                external.append(f"{page.relative_to(SITE)}: {tag}")
    assert not external, external


def test_no_launch_button_points_at_a_file_its_service_cannot_open():
    """The chapters are MyST markdown: Colab cannot open them, so no page offers a Colab launch."""
    pages = [p for p in (ROOT / "_build" / "html" / "book").glob("*.html")]
    assert pages
    for page in pages:
        assert "colab.research.google.com" not in page.read_text(encoding="utf-8"), page.name
