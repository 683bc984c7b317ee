"""The regularization course's package: the reference math and everything that grades against it.

* ``graders.reference``   the reference implementations (re-exported here: ``from graders import dropout_forward``)
* ``graders.teaching``    data sets and plot style the book's chapters use
* ``graders.checks``      the hidden tests: checks that compare a student's function with the reference
* ``graders.runtime``     what runs inside the grading sandbox (audit hook, Landlock)
* ``graders.pipeline``    ``python -m graders autograde``: grading a class with nbgrader, sandboxed
* ``graders.authoring``   the release (``exercises/`` from ``solutions/``) and submission-making helpers
* ``graders.cells``, ``graders.course_config``   the nbgrader cell vocabulary and the course's nbgrader configuration

Dependencies point one way: ``pipeline`` -> ``checks`` -> ``reference``; ``runtime`` depends on nothing else.

>>> import numpy as np, graders
>>> graders.l2_penalty(np.array([1.0, -2.0]), 0.1)
0.5
"""
from .reference import *  # noqa: F401,F403
from .reference import __all__  # noqa: F401
