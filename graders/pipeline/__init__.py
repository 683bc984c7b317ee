"""The instructor's grading pipeline: nbgrader's autograde, in parallel, robust to hostile submissions.

* ``collect``      find submissions (nbgrader layout or a flat LMS download) and check student ids
* ``sanitize``     repair what breaks nbgrader (invalid JSON, duplicated grade cells) and say what was wrong
* ``prepare``      the assignments as nbgrader's ``generate_assignment`` makes them (``model``: the data passed around)
* ``task``         grade one student's assignment with the real nbgrader in a private course folder
* ``isolation``    the OS sandboxes (bubblewrap, Landlock, warm) and the per-submission cgroup every process runs in
* ``warm``         each worker's warm template, which forks kernels and check servers (``graders.runtime.zygote``)
* ``verdicts``     the grader's own check server and record of hidden-check verdicts (scores the kernel cannot forge)
* ``preprocessors``, ``kernel``   the sandboxed kernel and its output cap
* ``feedback``     the feedback HTML exporter (nbconvert's, with its compiled templates kept)
* ``pool`` / ``worker`` / ``dask_runner``   run tasks in local worker processes or on a Dask cluster
* ``record``       write results into the course gradebook (one writer, idempotent)
* ``report``       grades.csv, cells.csv and report.html
* ``cli``          ``python -m graders autograde ...``
"""
import sys

# jsonschema (imported by nbformat, so by nbgrader) imports rfc3987_syntax where it is installed
# (jupyter-events asks for it), which compiles 39 grammars at import: 1.3 CPU-seconds in every
# grading process, for the "iri" formats that no notebook schema uses. The pipeline's processes
# skip it; jsonschema then leaves those two formats unchecked, as it does without the package.
sys.modules.setdefault("rfc3987_syntax", None)
