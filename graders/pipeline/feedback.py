"""The HTML exporter of students' feedback: nbconvert's, made cheap enough to run per student.

nbgrader builds a new ``HTMLExporter`` for every ``generate_feedback`` call. Two of its costs
are the same for every student (together about a third of the grader's CPU per submission on
the 2-core reference machine):

* every new exporter compiles nbconvert's Jinja templates again. ``FeedbackHTMLExporter``
  shares one in-memory Jinja bytecode cache (:data:`TEMPLATES`) among every exporter of the
  process; Jinja checks each entry against the template's source, so an edited template is
  compiled again;
* after rendering, ``HTMLExporter`` parses the whole page with BeautifulSoup (about 1,700
  tags for a ps2 notebook, pygments' spans) only to add the accessibility attributes:
  ``alt`` on images without one, ``tabindex="0"`` on each cell's input and output area.
  ``FeedbackHTMLExporter`` adds the same attributes to the same tags of the rendered page
  directly (:func:`make_accessible`); ``tests/pipeline/test_feedback_exporter.py`` checks that
  the two pages are the same document.

``nbgrader_config.py`` selects it (``c.GenerateFeedback.exporter_class``), so plain nbgrader
and the Formgrader use it too.
"""
from __future__ import annotations

import re

from jinja2 import BytecodeCache
from nbconvert.exporters import HTMLExporter
from nbconvert.exporters.templateexporter import TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

MISSING_ALT = "No description has been provided for this image"
_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt=)", re.I)
_FOCUSABLE = re.compile(r"""<div\b(?=[^>]*\bclass=["'][^"']*\b(?:jp-Cell-inputWrapper|jp-OutputArea-output)\b)"""
                        r"""(?![^>]*\btabindex=)""", re.I)


class MemoryBytecodeCache(BytecodeCache):
    """Compiled templates, by Jinja's bucket key, for the life of the process."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        code = self.code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = MemoryBytecodeCache()


def make_accessible(page: str) -> tuple[str, int]:
    """What ``HTMLExporter`` does with BeautifulSoup: ``alt`` for images that have none and
    ``tabindex="0"`` for cell input and output areas. Returns the page and the images fixed."""
    page, missing = _IMG_WITHOUT_ALT.subn(f'<img alt="{MISSING_ALT}"', page)
    return _FOCUSABLE.sub('<div tabindex="0"', page), missing


class FeedbackHTMLExporter(HTMLExporter):
    """``HTMLExporter`` with shared compiled templates and no second parse of the page (see above)."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = TEMPLATES
        return environment

    def from_notebook_node(self, nb, resources=None, **kw):
        # HTMLExporter.from_notebook_node up to its BeautifulSoup pass (nbconvert 7), then make_accessible.
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        highlight_code = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        page, missing = make_accessible(page)
        if missing:
            self.log.warning("Alternative text is missing on %s image(s).", missing)
        return page, resources
