"""Tools for the course's authors: the release and notebooks made from it.

* ``release``     ``exercises/`` from ``solutions/`` with nbgrader (``make exercises``), and its staleness check
* ``notebooks``   submissions made from the release and the solutions (used by the test cohort)
"""
