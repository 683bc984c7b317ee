"""Grade one student's submission of one assignment with the real nbgrader.

``grade_submission(course, submission, limits)`` is the unit of work that the local
worker pool and a Dask cluster both run. It builds a private nbgrader course folder
in a temporary directory (a copy of the assignment's gradebook, its source and
release notebooks, the repaired submission), runs ``autograde`` and
``generate_feedback`` through nbgrader's Python API, and returns plain data: scores
per graded cell, the messages of failed tests, flags, the autograded notebook and
the feedback HTML. It never touches the course gradebook: the caller records the
result (one writer, see ``record``).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import nbformat

from .kernel import OUTPUT_LIMIT_ENV
from .model import CellResult, Flag, GradeResult, Limits, PreparedAssignment, Submission, check_student_id  # noqa: F401
from .record import submission_time
from .sanitize import sanitize
from graders.cells import grade_id, is_graded, is_task, points
from graders.checks._framework import REFERENCE_USED
from graders.runtime.guard import (ACCESS_LOG_ENV, ALLOW_ENV, ESCAPE_TAG, FORBIDDEN_MESSAGE, MEMORY_ENV, PROTECT_ENV,
                      SINGLE_THREAD_ENV, TRUNCATED)

# Every task's private course folder lives under one parent that student code may not read,
# so that a submission cannot look at another student's files graded at the same time.
TASKS_ROOT = Path(tempfile.gettempdir()) / "graders-tasks"


def _config(root: Path, prepared: PreparedAssignment, limits: Limits, sandbox_env: dict, launch: dict):
    """The course's nbgrader configuration (``nbgrader_config.py``, loaded when the course was
    prepared), moved into the private task folder ``root``, with the sandboxed kernel."""
    from graders.course_config import private_course

    c = private_course(prepared.config, root, f"sqlite:///{root / 'gradebook.db'}", prepared.course_id)
    if limits.cell_timeout:
        c.Execute.timeout = limits.cell_timeout
    c.SandboxedKernelManager.sandbox_env = sandbox_env
    c.SandboxedKernelManager.python = {"executable": sys.executable}
    c.SandboxedKernelManager.launch = launch
    # Unix sockets in the run folder (bound into the sandbox): the sandbox has no network.
    c.SandboxedKernelManager.transport = "ipc"
    c.SandboxedKernelManager.connection_file = str(root / "run" / "kernel.json")
    c.Autograde.autograde_preprocessors = sandboxed_preprocessors(c)
    return c


def sandboxed_preprocessors(config) -> list:
    """The configured autograde preprocessors with nbgrader's ``Execute`` replaced by ``SandboxedExecute``."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute
    from traitlets.utils.importstring import import_item

    from .preprocessors import SandboxedExecute

    configured = config.Autograde.get("autograde_preprocessors") or Autograde.autograde_preprocessors.default_value
    resolved = [import_item(p) if isinstance(p, str) else p for p in configured]
    if not any(isinstance(p, type) and issubclass(p, Execute) for p in resolved):
        raise ValueError("Expected nbgrader's Execute among c.Autograde.autograde_preprocessors in nbgrader_config.py "
                         f"(the pipeline runs it in the sandbox). Received: {configured}")
    return [SandboxedExecute if isinstance(p, type) and issubclass(p, Execute) else p for p in resolved]


def _error_message(cell) -> str:
    """The failure message of a graded cell: the diagnosis the hidden check wrote."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            msg = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}".strip()
            return msg[:1000]
    return ""


_PER_WORKER: dict = {}  # what a worker process works out once: its sandbox, matplotlib's font list


def sandbox_for(name: str):
    """The OS sandbox of this worker process, probed once (``isolation.choose``)."""
    from .isolation import choose

    if name not in _PER_WORKER:
        _PER_WORKER[name] = choose(name)
    return _PER_WORKER[name]


def worker_box() -> Path:
    """This worker's folder of task folders: the only part of the disk its warm sandbox can write."""
    box = TASKS_ROOT / f"worker-{os.getpid()}"
    box.mkdir(mode=0o700, parents=True, exist_ok=True)
    return box


def warm_up(sandbox_name: str, modules: list[str]) -> None:
    """Start this worker's warm template for ``modules`` now, before its first submission."""
    template_for(sandbox_for(sandbox_name), modules)


def template_for(sandbox, modules: list[str]):
    """This worker's warm template (``warm.Zygote``) that has imported ``modules``, started on first
    use, again if it died, and anew when an assignment needs other imports; None if the sandbox is
    not ``warm`` or the template cannot run here (then processes start cold)."""
    from .warm import TemplateUnavailable, Zygote

    if sandbox.name != "warm":
        return None
    refused = _PER_WORKER.setdefault("refused", set())
    if tuple(modules) in refused:
        return None
    zygote = _PER_WORKER.get("zygote")
    if zygote is not None and zygote.alive() and zygote.modules == modules:
        return zygote
    if zygote is not None:
        zygote.close()
    box = worker_box()
    env = {**_base_env(), **_home(box / "template"), "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    try:
        _PER_WORKER["zygote"] = Zygote.start(sandbox.bwrap, box, env, modules)
    except (TemplateUnavailable, OSError) as exc:
        print(f"graders: no warm template in this worker ({exc}); processes start cold", file=sys.stderr)
        _PER_WORKER["zygote"] = None
        refused.add(tuple(modules))
    return _PER_WORKER["zygote"]


def _preload(prepared: PreparedAssignment) -> list[str]:
    from .warm import preload_for

    cached = _PER_WORKER.setdefault("preload", {})
    if prepared.assignment not in cached:
        cached[prepared.assignment] = preload_for(prepared.source)
    return cached[prepared.assignment]


def release_notebook(data: bytes):
    """A release notebook, parsed (and validated) once per worker; read it, do not change it."""
    import hashlib

    cache = _PER_WORKER.setdefault("releases", {})
    key = hashlib.sha1(data).digest()
    if key not in cache:
        cache[key] = nbformat.reads(data.decode("utf-8"), as_version=4)
    return cache[key]


def _font_cache() -> list[Path]:
    """matplotlib's font list, built once by the grader, copied into each sandbox's home: without it
    every kernel would rebuild it (a second of CPU, and an ``fc-list`` child process). Found where
    matplotlib keeps it without importing matplotlib (a third of a CPU-second per worker)."""
    if "fonts" not in _PER_WORKER:
        folder = Path(os.environ.get("MPLCONFIGDIR") or Path(os.environ.get("XDG_CACHE_HOME") or
                                                              Path.home() / ".cache") / "matplotlib")
        found = sorted(folder.glob("fontlist-*.json"))
        if not found:
            import matplotlib
            from matplotlib import font_manager  # noqa: F401  (builds the cache if it is missing)

            found = sorted(Path(matplotlib.get_cachedir()).glob("fontlist-*.json"))
        _PER_WORKER["fonts"] = found
    return _PER_WORKER["fonts"]


def _output_limit(config) -> int:
    """Characters one cell may print: the course's ``LimitOutputSize.max_chars``, applied in the kernel too."""
    from .preprocessors import LimitOutputSize

    return int(config.LimitOutputSize.get("max_chars", LimitOutputSize.max_chars.default_value))


def _home(folder: Path) -> dict[str, str]:
    """A private home for one sandboxed process: IPython, matplotlib and temporary files stay in it."""
    for sub in ("tmp", ".ipython", ".matplotlib"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for cache in _font_cache():
        (folder / ".matplotlib" / cache.name).write_bytes(cache.read_bytes())
    return {"HOME": str(folder), "TMPDIR": str(folder / "tmp"), "IPYTHONDIR": str(folder / ".ipython"),
            "MPLCONFIGDIR": str(folder / ".matplotlib")}


def _base_env() -> dict[str, str]:
    """What every sandboxed process gets, and nothing else of the grader's environment."""
    venv_bin = os.path.dirname(sys.executable)
    return {"PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
            "TF_CPP_MIN_LOG_LEVEL": "3",  # nbgrader scores a cell 0 if it writes to stderr: TF logs there
            "MPLBACKEND": "Agg", **SINGLE_THREAD_ENV}


def grade_submission(prepared: PreparedAssignment, submission: Submission, limits: Limits | None = None) -> GradeResult:
    """Autograde one submission in a private course folder; see the module docstring."""
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from graders.course_config import ensure_alembic_on_path

    from . import verdicts
    from .isolation import Jail, current_children
    from graders.checks._framework import CHECK_SOCKET_ENV, DEFAULT_TIMEOUT

    ensure_alembic_on_path()
    limits = limits or Limits()
    start = time.perf_counter()
    sid = check_student_id(submission.student_id)
    aid = prepared.assignment
    result = GradeResult(sid, aid, submission.timestamp)
    sandbox = sandbox_for(limits.sandbox)
    zygote = template_for(sandbox, _preload(prepared))
    with tempfile.TemporaryDirectory(prefix=f"{aid}-", dir=worker_box()) as tmp:
        root = Path(tmp)
        (root / "gradebook.db").write_bytes(prepared.gradebook)
        # The data files too: autograde copies the source's non-notebook files into the autograded
        # folder, so a student who uploaded only the notebook is graded on the course's data.
        for rel, data in [*((f"{n}.ipynb", d) for n, d in prepared.source.items()), *prepared.files.items()]:
            path = root / "source" / aid / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        sub_dir = root / "submitted" / sid / aid
        sub_dir.mkdir(parents=True)
        for name, release_bytes in prepared.release.items():
            clean = sanitize(submission.files.get(name), name, release_notebook(release_bytes))
            result.flags.extend(clean.flags)
            if clean.notebook is not None:
                nbformat.write(clean.notebook, sub_dir / f"{name}.ipynb")
        if submission_time(submission.timestamp):  # nbgrader's autograde fails on one it cannot read
            (sub_dir / "timestamp.txt").write_text(submission.timestamp)

        # What the sandboxes may write: the notebook's folder and the kernel's home (kernel), the
        # run folder (kernel sockets, the check socket), and the check server's own home.
        autograded_dir = root / "autograded" / sid / aid
        autograded_dir.mkdir(parents=True)
        run, kernel_home, checks_home = root / "run", root / "home", root / "checks"
        run.mkdir()
        access_log, checks_log = run / "access.log", checks_home / "access.log"
        audit = {PROTECT_ENV: str(TASKS_ROOT), MEMORY_ENV: str(limits.memory_bytes)}
        sandbox_env = {
            **_base_env(), **_home(kernel_home), **audit,
            ALLOW_ENV: os.pathsep.join(map(str, (autograded_dir, run, kernel_home))),
            ACCESS_LOG_ENV: str(access_log),
            OUTPUT_LIMIT_ENV: str(_output_limit(prepared.config)),
            CHECK_SOCKET_ENV: str(run / "checks.sock"),
        }
        server_env = {**_base_env(), **_home(checks_home), **audit, ALLOW_ENV: str(checks_home),
                      ACCESS_LOG_ENV: str(checks_log)}
        jail = Jail.create(f"graders-{os.getpid()}-{root.name}", limits.memory_bytes)
        result.memory_limit = f"{jail.limit_note}; {limits.memory_bytes / 2**30:g} GiB address space per process"
        before = current_children() if not jail.folders else None
        launch = {"sandbox": sandbox, "jail": jail, "writable": [str(autograded_dir), str(run), str(kernel_home)],
                  "cwd": str(autograded_dir), "zygote": zygote}
        config = _config(root, prepared, limits, sandbox_env, launch)
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        service = None
        try:
            if any(sub_dir.glob("*.ipynb")):  # nothing readable was submitted: nothing to run
                service = verdicts.CheckService.start(run, checks_home, sandbox, jail, server_env, DEFAULT_TIMEOUT,
                                                      zygote=zygote)
                verdicts.ACTIVE = service
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # nbgrader's SQLAlchemy and nbformat chatter
                    outcome = api.autograde(aid, sid, force=True, create=True)
                result.log = (outcome.get("log") or "") + (outcome.get("error") or "")
                if not outcome.get("success"):
                    result.flags.append(_failure_flag(result.log))
        finally:
            verdicts.ACTIVE = None
            if service is not None:
                service.close()
            if jail.hit_memory_limit():
                result.flags.append(Flag("memory", f"the submission hit its memory limit ({jail.limit_note})"))
            if zygote is not None:
                zygote.kill_all()  # what the submission left in the worker's sandbox, before the next one
            jail.close(before)  # every process the submission started, detached ones included

        judged: dict = {}
        with Gradebook(config.CourseDirectory.db_url, course_id=prepared.course_id) as gb:
            try:
                sub = gb.find_submission(aid, sid)
            except Exception:
                sub = None
            if sub is not None:
                judged = _apply_verdicts(gb, sub, prepared, service, result)
                for nb in sub.notebooks:
                    for g in nb.grades:
                        result.grades.append(dict(notebook=nb.name, name=g.name, auto_score=g.auto_score,
                                                  max_score=g.max_score, needs_manual_grade=g.needs_manual_grade,
                                                  manual_score=g.manual_score, cell_type=g.cell_type))
                    for cm in nb.comments:
                        result.comments.append(dict(notebook=nb.name, name=cm.name, auto_comment=cm.auto_comment))

        for name in prepared.release:
            path = autograded_dir / f"{name}.ipynb"
            if path.exists():
                result.autograded[name] = path.read_bytes()
        collect_cells(result, prepared, judged)
        _runtime_flags(result, [access_log, checks_log])

        if result.autograded:
            fb = api.generate_feedback(aid, sid, force=True)
            if not fb.get("success"):
                cause = _failure_flag((fb.get("log") or "") + (fb.get("error") or "")).detail
                result.flags.append(Flag("error", f"feedback could not be generated: {cause}"))
            for name in prepared.release:
                html = root / "feedback" / sid / aid / f"{name}.html"
                if html.exists():
                    result.feedback[name] = html.read_bytes()
    result.seconds = time.perf_counter() - start
    return result


def _apply_verdicts(gb, sub, prepared: PreparedAssignment, service, result: GradeResult) -> dict:
    """Zero every graded cell of ``sub`` whose hidden checks did not all pass, as the grader saw them.

    nbgrader's own score (the cell raised no error) is necessary, not sufficient. The private
    gradebook ``gb`` is corrected before feedback is rendered and the grades are collected, so the
    feedback, the course gradebook, the Formgrader and ``nbgrader export`` all hold the true score.
    Returns ``(notebook, grade_id) -> message`` for the cells it zeroed.
    """
    from .verdicts import judge

    seen = service.verdicts if service is not None else {}
    zeroed: dict[tuple[str, str], str] = {}
    for nb in sub.notebooks:
        for grade in nb.grades:
            checks = prepared.checks.get((nb.name, grade.name))
            if not checks or not grade.auto_score:
                continue
            verdict = judge(checks, seen.get((nb.name, grade.name), []))
            if verdict.scores_allowed:
                continue
            grade.auto_score = 0.0
            zeroed[(nb.name, grade.name)] = f"{verdict.reason}: {verdict.message}"
            detail = (f"cell '{grade.name}' raised no error, but {verdict.message}"
                      if verdict.reason == "checks-missing" else
                      f"cell '{grade.name}' raised no error although its hidden check failed")
            if service is not None and service.broken:
                detail += f" ({service.broken})"
            result.flags.append(Flag(verdict.reason, detail))
    gb.db.commit()
    return zeroed


def _failure_flag(log: str) -> Flag:
    """Why nbgrader could not finish a notebook, from its log."""
    lines = [ln for ln in log.splitlines() if ln.strip()]
    if any("Kernel died" in ln or "DeadKernelError" in ln for ln in lines):
        return Flag("error", "the kernel died while running the notebook (it exited or crashed)")
    if any("Timeout" in ln or "CellTimeoutError" in ln for ln in lines):
        return Flag("timeout", "the notebook did not finish within the time limit")
    errors = [ln for ln in lines if "Error" in ln or "ERROR" in ln]
    return Flag("error", (errors[-1] if errors else lines[-1] if lines else "nbgrader failed")[:300])


def failure_result(sub: Submission, prepared: PreparedAssignment, reason: str, detail: str) -> GradeResult:
    """The result of a submission that could not be graded at all: zero on every cell, flagged."""
    result = GradeResult(sub.student_id, sub.assignment, sub.timestamp, flags=[Flag(reason, detail)])
    collect_cells(result, prepared)
    return result


def collect_cells(result: GradeResult, prepared: PreparedAssignment, overrides: dict | None = None) -> None:
    """One row per graded cell, with the score and the failure message (``overrides``: the grader's
    own verdict where it overruled the cell's)."""
    scores = {(g["notebook"], g["name"]): g for g in result.grades}
    for name, release_bytes in prepared.release.items():
        release = release_notebook(release_bytes)
        graded = nbformat.reads(result.autograded[name].decode("utf-8"), as_version=4) if name in result.autograded else None
        by_id = {}
        if graded is not None:
            for cell in graded.cells:
                gid = grade_id(cell)
                if gid and gid not in by_id:
                    by_id[gid] = cell
        for cell in release.cells:
            if not (is_graded(cell) or is_task(cell)):
                continue
            gid = grade_id(cell)
            g = scores.get((name, gid), {})
            score = g.get("manual_score") if g.get("manual_score") is not None else g.get("auto_score")
            if (name, gid) in (overrides or {}):
                message = overrides[(name, gid)]
            elif gid in by_id:
                message = _error_message(by_id[gid])
            else:  # nothing ran: say why (the most recent flag is the cause)
                message = "not graded: " + (result.flags[-1].detail if result.flags else "notebook missing")
            if g.get("needs_manual_grade") and not message:
                message = "needs manual grading"
            result.cells.append(CellResult(name, gid, float(score or 0.0), points(cell),
                                           message))


def _runtime_flags(result: GradeResult, logs: list[Path]) -> None:
    messages = " ".join(c.message for c in result.cells)
    outputs = b" ".join(result.autograded.values()).decode("utf-8", "replace")
    if "CellTimeoutError" in outputs or "Timeout waiting for execute reply" in result.log:
        result.flags.append(Flag("timeout", "a cell ran longer than the time limit and was interrupted"))
    if ("MemoryError" in outputs or "MemoryError" in messages) and not any(f.reason == "memory" for f in result.flags):
        result.flags.append(Flag("memory", "the notebook hit the memory limit (address space per process)"))
    if REFERENCE_USED in messages:
        result.flags.append(Flag("reference", "submitted the course's reference implementation from `graders`"))
    if TRUNCATED in outputs:
        result.flags.append(Flag("output-limit", "a cell printed more than the output limit; output truncated"))
    lines = [ln for log in logs if log.exists() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    escapes = sorted({ln[len(ESCAPE_TAG):].replace("\t", " ") for ln in lines if ln.startswith(ESCAPE_TAG)})
    files = sorted({ln.split("\t")[-1] for ln in lines if not ln.startswith(ESCAPE_TAG)})
    if files or FORBIDDEN_MESSAGE in outputs:
        result.flags.append(Flag("forbidden-file", "tried to read course files: " + ", ".join(files[:3])))
    if escapes:
        result.flags.append(Flag("escape-attempt", "started processes, sent signals or opened connections "
                                                   "(contained by the sandbox): " + "; ".join(escapes[:3])[:300]))
