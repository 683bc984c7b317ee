"""A long-lived grading worker process of the local pool (see ``pool``).

It receives ``(assignment id, prepared assignment or None if already sent, submission, limits)``
tasks (and, first, ``("warm", sandbox, modules)``: start the warm template) over a multiprocessing pipe, runs ``task.grade_submission`` and sends ``("ok", result)`` or
``("error", traceback)`` back. The pipe, not stdout, carries the
results: kernels inherit stdout, and a student's code could write to it. The worker
leads its own process group so that the pool can kill it together with its kernels.
"""
from __future__ import annotations

import gc
import os
import sys
import traceback


def serve(conn, log_path: str | None) -> None:
    os.setpgrp()  # the pool kills this group (worker, kernels, check processes) on a hard timeout
    if log_path:
        log = open(log_path, "a", buffering=1)
        os.dup2(log.fileno(), 1)  # nbgrader's and the kernels' chatter goes to the worker log,
        os.dup2(log.fileno(), 2)  # never into the instructor's terminal
        sys.stderr = log
    from .task import grade_submission

    gc.collect()
    gc.freeze()  # the imported modules live as long as the worker: the collector need not walk them

    prepared_by_id = {}
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        if message[0] == "warm":  # ("warm", sandbox, modules): start the template before the first task
            from .task import warm_up

            warm_up(*message[1:])
            continue
        key, prepared, submission, limits = message
        if prepared is not None:
            prepared_by_id[key] = prepared
        try:
            result = grade_submission(prepared_by_id[key], submission, limits)
            conn.send(("ok", result))
        except Exception:
            conn.send(("error", traceback.format_exc()))
