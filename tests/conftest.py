"""Shared pytest hooks.

The tests are grouped as the package is (reference/, checks/, pipeline/, end_to_end/, book/);
the helpers they share live here at the top of tests/ (``pipeline_helpers``, ``nbgrader_course``,
``book_site``, ``postgres_server``, ``attacks``, ``cohort``), which this folder's place on
``sys.path`` (pytest puts a root conftest's folder there) makes importable from every group.
"""
import sys


def pytest_terminal_summary(terminalreporter):
    """Print the autograding timings of tests/end_to_end/test_assignments_nbgrader.py, if it ran."""
    course = sys.modules.get("nbgrader_course")
    lines = getattr(course, "TIMING_LINES", None)
    if lines:
        terminalreporter.section("nbgrader end-to-end timings")
        for line in lines:
            terminalreporter.write_line(line)
