"""``FeedbackHTMLExporter`` renders the same feedback page as nbconvert's ``HTMLExporter``."""
from __future__ import annotations

import base64

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter

from graders.pipeline.feedback import MISSING_ALT, TEMPLATES, FeedbackHTMLExporter, make_accessible
from pipeline_helpers import ROOT

PNG = base64.b64encode(bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                                     "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()


def _notebooks():
    yield "ps2 submission", nbformat.read(ROOT / "tests" / "demo_cohort" / "alice" / "ps2_dropout" / "dropout.ipynb", 4)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title\n\n![a plot](data:image/png;base64," + PNG + ")"),
                nbformat.v4.new_code_cell("print('<div class=\"jp-OutputArea-output\">')", outputs=[
                    nbformat.v4.new_output("stream", name="stdout", text="<b>not html</b>\n"),
                    nbformat.v4.new_output("display_data", data={"image/png": PNG}),
                    nbformat.v4.new_output("display_data", data={"text/html": "<img src='x.png'><div>raw</div>"}),
                    nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=["ValueError: bad"])])]
    yield "images, html output, errors", nb


def _document(page: str):
    """The page as a tree, with nbconvert's serialisation differences (quoting, entities) gone."""
    return BeautifulSoup(page, features="html.parser").prettify()


@pytest.mark.parametrize("label, nb", list(_notebooks()), ids=lambda v: v if isinstance(v, str) else "")
def test_the_same_document_as_nbconvert(label, nb):
    ours, _ = FeedbackHTMLExporter().from_notebook_node(nb)
    theirs, _ = HTMLExporter().from_notebook_node(nb)
    assert _document(ours) == _document(theirs)
    assert 'tabindex="0"' in ours


def test_images_without_alt_get_nbconverts_text_and_focusable_areas_get_a_tabindex():
    page, missing = make_accessible('<img src="a.png"><img alt="kept" src="b.png">'
                                    '<div class="jp-Cell-inputWrapper"><div class="jp-RenderedText jp-OutputArea-output" '
                                    'data-mime-type="text/plain"></div><div class="jp-OutputArea-output" tabindex="1">')
    assert missing == 1 and page.count(MISSING_ALT) == 1 and 'alt="kept"' in page
    assert page.count('tabindex="0"') == 2 and 'tabindex="1"' in page


def test_templates_are_compiled_once_per_process():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    FeedbackHTMLExporter().from_notebook_node(nb)
    compiled = dict(TEMPLATES.code)
    assert compiled, "nothing was cached"
    FeedbackHTMLExporter().from_notebook_node(nb)  # a new exporter, as nbgrader makes per student
    assert TEMPLATES.code.keys() == compiled.keys()
