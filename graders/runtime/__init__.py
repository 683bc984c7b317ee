"""What runs inside the grading sandbox, for the kernel and the check server alike.

* ``guard``      the audit hook that records (and, for course files, refuses) what student code tries,
                 the per-process memory cap, single-threaded numerics
* ``landlock``   the Landlock system calls, and the rules a sandboxed Python applies to itself first
"""
