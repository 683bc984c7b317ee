"""Hidden-test checks for the assignments.

A hidden test cell in a ``solutions/`` notebook calls, for example::

    from graders.checks import run_check
    run_check("ps1_penalties:l2_values", l2_penalty)

``run_check`` serialises the student's function *by value* (cloudpickle) and
runs the named check in a fresh process: the kernel's check server
(``graders.checks._server``, an isolated ``python -I`` started once per kernel)
forks a child from a clean template that imported NumPy and the reference
implementations before any student code existed. Whatever the notebook did to
its own process (redefined ``np.allclose``, monkeypatched NumPy, replaced
assertion helpers, planted modules in ``sys.modules``) has no effect there, and
one check cannot affect the next. The check compares the student's function with the ``graders``
reference on randomised inputs and, when they differ, raises an
``AssertionError`` whose message names the likely mistake.

Check modules (``ps1_penalties.py`` …) register their checks with
:func:`check`; the part of a check id before ``:`` names the module.
"""
from ._framework import CheckFailed, check, run_check

__all__ = ["CheckFailed", "check", "run_check"]
