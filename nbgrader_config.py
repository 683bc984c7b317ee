"""nbgrader configuration: this repository is the nbgrader course directory.

Run nbgrader from the repository root with the venv's ``bin/`` first on PATH
(nbgrader shells out to ``alembic``), e.g.::

    nbgrader generate_assignment ps1_penalties --force   # or: make exercises (all of them)
    nbgrader autograde ps1_penalties

Layout (paths relative to this file):

    solutions/<assignment>/<notebook>.ipynb     sources: solutions and hidden tests (edit these)
    exercises/<assignment>/<notebook>.ipynb     student release, generated, committed
    graders/work/                               git-ignored: submissions, autograded and feedback
                                                notebooks, and the gradebook (sqlite)

Students' submissions go to ``graders/work/submitted/<student>/<assignment>/``.
"""
import os

_ROOT = os.path.dirname(os.path.abspath(__file__))
_WORK = os.path.join(_ROOT, "graders", "work")
os.makedirs(_WORK, exist_ok=True)  # sqlite needs the folder of its file to exist

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

# --- course directory ------------------------------------------------------------
c.CourseDirectory.course_id = "regularization"
c.CourseDirectory.root = _ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = os.path.join("graders", "work", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("graders", "work", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("graders", "work", "feedback")
c.CourseDirectory.solution_directory = os.path.join("graders", "work", "released_solutions")
c.CourseDirectory.source_with_tests_directory = os.path.join("graders", "work", "source_with_tests")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(_WORK, "gradebook.db")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".DS_Store"]

# --- what the student release gets instead of the solutions -------------------------
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# --- grading ------------------------------------------------------------------------
# Per-cell time limit. The hidden checks themselves stop a runaway student function
# after 60 s (graders.checks.run_check); this limit catches everything else.
c.Execute.timeout = 120
c.Execute.startup_timeout = 60
c.Execute.interrupt_on_timeout = True
c.Execute.execute_retries = 0
# Once every cell has run, kill the kernel instead of waiting ~2 s for a polite exit.
c.Execute.shutdown_kernel = "immediate"
# A student who deletes a graded test cell gets it back (and its points are still at stake).
c.OverwriteCells.add_missing_cells = True
# Cap what one cell can write into the autograded notebook (and the feedback).
c.LimitOutput.max_lines = 500
c.LimitOutput.max_traceback = 60

# --- feedback -----------------------------------------------------------------------
# The autograded notebook holds the hidden tests again; keep them out of the HTML
# feedback that students receive (nbgrader issues #917, #1363).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
