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

Students' submissions go to ``graders/work/submitted/<student>/<assignment>/`` (nbgrader's
sqlite gradebook needs that folder to exist: ``make exercises``, ``make grade`` and the grading
pipeline create it).

This file is the course's only nbgrader configuration: ``python -m graders autograde`` loads
it too (``graders.course_config``) and overrides only the paths of its private task folders,
the gradebook and the (sandboxed) kernel that runs each submission.
"""
import os

from graders.cells import CODE_STUB, TEXT_STUB

_ROOT = os.path.dirname(os.path.abspath(__file__))
_WORK = os.path.join(_ROOT, "graders", "work")

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
c.ClearSolutions.code_stub = {"python": CODE_STUB}
c.ClearSolutions.text_stub = TEXT_STUB

# --- grading ------------------------------------------------------------------------
# Per-cell time limit. The hidden checks themselves stop a runaway student function
# after 60 s (graders.checks.run_check); this limit catches everything else.
c.Execute.timeout = 120
# A kernel in the grading sandbox, or one that imports TensorFlow, can take a while to start.
c.Execute.startup_timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.execute_retries = 0
# Once every cell has run, kill the kernel instead of waiting ~2 s for a polite exit.
c.Execute.shutdown_kernel = "immediate"
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]
# A student who deletes a graded test cell gets it back (and its points are still at stake).
c.OverwriteCells.add_missing_cells = True
# Cap what one cell can write into the autograded notebook (and the feedback): nbgrader's
# LimitOutput counts lines; LimitOutputSize also caps characters (one huge line) and images.
c.LimitOutput.max_lines = 500
c.LimitOutput.max_traceback = 60
c.LimitOutputSize.max_chars = 20_000
c.Autograde.autograde_preprocessors = [
    "nbgrader.preprocessors.Execute",  # the grading pipeline runs its sandboxed subclass instead
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "graders.pipeline.preprocessors.LimitOutputSize",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# --- late work (graders/pipeline/late.py) ------------------------------------------------
# Due dates are nbgrader's, in the gradebook: `nbgrader db assignment add NAME --duedate=...`,
# the Formgrader, or `python -m graders duedates FILE`. A notebook submitted later than its
# due date (plus the student's extension) plus the grace period loses 10 % of its score per
# started day, at most 50 %. Grant extensions in the extensions file, not in the gradebook
# (the two would add up).
c.AssignLatePenalties.plugin_class = "graders.pipeline.late.LatePolicy"
c.LatePolicy.percent_per_unit = 10.0
c.LatePolicy.unit = "day"
c.LatePolicy.max_percent = 50.0
c.LatePolicy.grace_minutes = 15.0
c.LatePolicy.extensions_file = os.path.join(_ROOT, "graders", "extensions.csv")

# --- feedback -----------------------------------------------------------------------
# The autograded notebook holds the hidden tests again; keep their code out of the HTML
# feedback that students receive (nbgrader issues #917, #1363), but show their result.
# nbconvert's HTML exporter, with its compiled templates kept from one student to the next.
c.GenerateFeedback.exporter_class = "graders.pipeline.feedback.FeedbackHTMLExporter"
c.GenerateFeedback.preprocessors = [
    "graders.pipeline.preprocessors.StripHiddenTests",
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
