"""Static checks of the built book: nothing from solutions/ leaks, figures survive dark mode."""
from __future__ import annotations

import re

import nbformat
import numpy as np
import pytest
from PIL import Image

from book_site import ROOT, SITE, leaks, reference_snippets, secret_snippets


def site_files():
    if not (SITE / "index.html").exists():
        pytest.fail("The book is not built: run `make book` first (make test does).")
    return [p for p in SITE.rglob("*") if p.is_file()]


def test_solutions_folder_is_never_rendered():
    rendered = [p for p in site_files() if "solutions" in p.relative_to(SITE).parts]
    assert not rendered, rendered


def test_no_solution_code_or_hidden_test_in_the_built_html():
    snippets = secret_snippets()
    assert len(snippets) > 50, "solutions/ should hold the assignments' solutions"
    found = leaks(snippets, site_files())
    assert not found, "\n".join(found[:20])


def test_book_does_not_print_the_reference_code_students_must_write():
    snippets = reference_snippets()
    assert len(snippets) > 20
    found = leaks(snippets, site_files())
    assert not found, "\n".join(found[:20])


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
    found = leaks(snippets, [html, notebook, clean], site=tmp_path)
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
    """The chapters are MyST markdown that imports the reference answers (``graders``), which the public
    repository does not have: no chapter offers a Binder or Colab launch. Each exercise page links its
    notebook on Binder, in the public repository that ``_config.yml`` names."""
    import yaml

    public = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].removeprefix("https://github.com/")
    pages = [p for p in (SITE / "book").glob("*.html")]
    assert pages
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "colab.research.google.com" not in html and "mybinder.org" not in html, page.name
    for page in sorted((SITE / "book" / "exercises").glob("ps*.html")):
        links = re.findall(r'href="(https://mybinder\.org/v2/gh/[^"]+)"', page.read_text(encoding="utf-8"))
        assert links == [f"https://mybinder.org/v2/gh/{public}/main?urlpath=lab/tree/exercises/"
                         f"{page.stem}/{next((ROOT / 'exercises' / page.stem).glob('*.ipynb')).name}"], (page.name, links)