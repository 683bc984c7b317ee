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
# Lines shorter than this (`return out`, `pass`) are too generic to call a leak.
MIN_LEAK_LENGTH = 24


def secret_lines() -> dict[str, str]:
    """Every substantial line of solution code and hidden tests in solutions/, with its origin."""
    lines = {}
    for nb_path in sorted((ROOT / "solutions").rglob("*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        for cell in nb.cells:
            for match in list(REGION.finditer(cell.source)) + list(MARK_SCHEME.finditer(cell.source)):
                for line in match.group(match.lastindex).splitlines():
                    line = line.strip()
                    if len(line) >= MIN_LEAK_LENGTH and not line.startswith("#"):
                        lines.setdefault(line, f"{nb_path.relative_to(ROOT)}")
    return lines


def site_files():
    if not (SITE / "index.html").exists():
        pytest.fail("The book is not built: run `make book` first (make test does).")
    return [p for p in SITE.rglob("*") if p.is_file()]


def test_solutions_folder_is_never_rendered():
    rendered = [p for p in site_files() if "solutions" in p.relative_to(SITE).parts]
    assert not rendered, rendered


def test_no_solution_code_or_hidden_test_in_the_built_html():
    secrets = secret_lines()
    if not secrets:
        pytest.skip("no solutions/ notebooks yet")
    leaks = []
    for path in site_files():
        if path.suffix not in TEXT_SUFFIXES:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        leaks += [f"{path.relative_to(SITE)}: {line!r} (from {origin})"
                  for line, origin in secrets.items() if line in text]
    assert not leaks, "\n".join(leaks[:20])


def test_leak_detector_would_notice_a_leak(tmp_path):
    # The check above must be able to fail: a solution line pasted into a page is found.
    secrets = secret_lines()
    if not secrets:
        pytest.skip("no solutions/ notebooks yet")
    line = next(iter(secrets))
    page = tmp_path / "page.html"
    page.write_text(f"<pre>{line}</pre>")
    assert any(s in page.read_text() for s in secrets)


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
