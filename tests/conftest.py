"""Shared pytest hooks."""
import sys


def pytest_terminal_summary(terminalreporter):
    """Print the autograding timings of tests/test_assignments_nbgrader.py, if it ran."""
    course = sys.modules.get("nbgrader_course")
    lines = getattr(course, "TIMING_LINES", None)
    if lines:
        terminalreporter.section("nbgrader end-to-end timings")
        for line in lines:
            terminalreporter.write_line(line)
