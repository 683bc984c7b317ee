"""Run grading tasks in parallel on this machine, in long-lived worker processes.

Why not ``concurrent.futures``: a worker must be killable on its own (a submission
that hangs past every cell timeout, or takes the worker down with it) without
breaking the batch. Each slot here owns one worker process; a task that exceeds
its hard time limit gets its worker's whole process group killed (the kernel
included), is reported as a timeout, and the slot starts a fresh worker.

Results come back to the calling thread one at a time, so the caller can record
them in the gradebook as the single writer.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import shutil
import signal
import threading
from pathlib import Path

from .model import Limits, PreparedAssignment
from .task import TASKS_ROOT, failure_result


# What a worker imports to grade. The workers are forked from one "forkserver" process that
# imported these once (about 3 CPU-seconds), instead of each new worker importing them again;
# unlike a plain fork of the caller, no thread or open gradebook of the caller is inherited.
PRELOAD = ["graders.pipeline.worker", "graders.pipeline.task", "graders.pipeline.preprocessors",
           "graders.pipeline.verdicts", "graders.pipeline.warm", "graders.pipeline.feedback",
           "nbgrader.api", "nbgrader.apps", "nbgrader.coursedir", "nbgrader.preprocessors",
           "nbconvert.preprocessors", "nbconvert.exporters", "nbconvert.exporters.html", "nbclient", "IPython"]


def _context():
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


class _Slot:
    def __init__(self, index: int, log_dir: Path | None):
        self.index = index
        self.log_dir = log_dir
        self.proc = None
        self.conn = None
        self.known_courses: set[str] = set()

    def start(self):
        from .worker import serve

        ctx = _context()
        parent, child = ctx.Pipe()
        log = str(self.log_dir / f"worker-{self.index}.log") if self.log_dir else None
        self.proc = ctx.Process(target=serve, args=(child, log), daemon=True)
        self.proc.start()
        child.close()
        self.conn = parent
        self.known_courses = set()

    def kill(self):
        if self.proc is not None and self.proc.pid:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.join(5)
            from .isolation import kill_jails_of

            kill_jails_of(self.proc.pid)  # its submission's sandboxes live in sessions of their own
            shutil.rmtree(TASKS_ROOT / f"worker-{self.proc.pid}", ignore_errors=True)  # its task folders
        self.proc = None

    def stop(self):
        if self.proc is not None and self.proc.is_alive():
            try:
                self.conn.send(None)
                self.proc.join(10)
            except (BrokenPipeError, OSError):
                pass
        self.kill()


class LocalPool:
    """``jobs`` worker processes, started at once (before the assignments are even prepared, so that
    their start-up overlaps the preparation); ``warm = (sandbox, modules)`` also has each worker start
    its warm template right away (``task.warm_up``)."""

    def __init__(self, jobs: int, log_dir: Path | None = None, warm: tuple[str, list[str]] | None = None):
        self.slots = [_Slot(i, log_dir) for i in range(max(1, jobs))]
        for slot in self.slots:
            slot.start()
            if warm:
                slot.conn.send(("warm", *warm))

    def run(self, tasks, prepared_by_id: dict[str, PreparedAssignment], limits: Limits):
        """Grade ``tasks`` (a list of Submission); yield GradeResults as they finish; then stop the workers."""
        todo: queue.Queue = queue.Queue()
        for sub in tasks:
            todo.put(sub)
        done: queue.Queue = queue.Queue()
        threads = [threading.Thread(target=self._drive, args=(s, todo, done, prepared_by_id, limits), daemon=True)
                   for s in self.slots]
        for t in threads:
            t.start()
        for _ in range(len(tasks)):
            yield done.get()
        for t in threads:
            t.join()

    def close(self) -> None:
        for slot in self.slots:
            slot.stop()

    @staticmethod
    def _drive(slot: _Slot, todo: queue.Queue, done: queue.Queue, prepared_by_id, limits: Limits) -> None:
        try:
            while True:
                try:
                    sub = todo.get_nowait()
                except queue.Empty:
                    return
                prepared = prepared_by_id[sub.assignment]
                send_course = None if sub.assignment in slot.known_courses else prepared
                try:
                    slot.conn.send((sub.assignment, send_course, sub, limits))
                    slot.known_courses.add(sub.assignment)
                    if slot.conn.poll(limits.submission_timeout):
                        status, payload = slot.conn.recv()
                        if status == "ok":
                            done.put(payload)
                        else:
                            done.put(failure_result(sub, prepared, "error", "the grader failed on this submission: "
                                              + payload.strip().splitlines()[-1][:300]))
                        continue
                    detail = f"grading took longer than the hard limit of {limits.submission_timeout} s"
                    done.put(failure_result(sub, prepared, "timeout", detail))
                except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
                    done.put(failure_result(sub, prepared, "error", "the grading worker died on this submission"))
                slot.kill()  # after a timeout or a crash: a fresh worker for the next task
                slot.start()
        finally:
            slot.stop()


def run_local(tasks, prepared_by_id: dict[str, PreparedAssignment], limits: Limits, jobs: int, log_dir: Path | None = None):
    """Grade ``tasks`` (a list of Submission) with ``jobs`` workers; yield GradeResults as they finish."""
    pool = LocalPool(min(jobs, max(1, len(tasks))), log_dir)
    try:
        yield from pool.run(tasks, prepared_by_id, limits)
    finally:
        pool.close()
