"""The instructor's grading pipeline: nbgrader's autograde, in parallel, robust to hostile submissions.

* ``collect``      find submissions (nbgrader layout or a flat LMS download) and check student ids
* ``sanitize``     repair what breaks nbgrader (invalid JSON, duplicated grade cells) and say what was wrong
* ``task``         grade one student's assignment with the real nbgrader in a private course folder
* ``isolation``    the OS sandbox (bubblewrap or Landlock) and the per-submission cgroup every process runs in
* ``landlock``     the Landlock system calls (the fallback where user namespaces are blocked)
* ``verdicts``     the grader's own check server and record of hidden-check verdicts (scores the kernel cannot forge)
* ``preprocessors``, ``kernel``, ``sandbox``   the sandboxed kernel, its output cap and its audit hook
* ``pool`` / ``dask_runner``   run tasks in local worker processes or on a Dask cluster
* ``record``       write results into the course gradebook (one writer, idempotent)
* ``report``       grades.csv, cells.csv and report.html
* ``cli``          ``python -m graders autograde ...``
"""
