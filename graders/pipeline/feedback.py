"""The HTML exporter of students' feedback: nbconvert's, with its compiled templates kept.

nbgrader builds a new ``HTMLExporter`` for every ``generate_feedback`` call, and every new
exporter compiles nbconvert's Jinja templates again (about a sixth of a CPU-second per
student on the 2-core reference machine). ``FeedbackHTMLExporter`` is the same exporter
with an in-memory Jinja bytecode cache shared by every exporter of the process, so a grading
worker compiles each template once. Jinja checks each cached entry against the template's
source, so an edited template is compiled again. ``nbgrader_config.py`` selects it
(``c.GenerateFeedback.exporter_class``), so plain nbgrader and the Formgrader use it too.
"""
from __future__ import annotations

from jinja2 import BytecodeCache
from nbconvert.exporters import HTMLExporter


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


class FeedbackHTMLExporter(HTMLExporter):
    """``HTMLExporter`` whose Jinja environment shares :data:`TEMPLATES`."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = TEMPLATES
        return environment
