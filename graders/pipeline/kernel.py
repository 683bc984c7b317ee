"""The kernel that runs students' notebooks during grading.

``python -m graders.pipeline.kernel -f CONNECTION_FILE`` is an ordinary IPython
kernel, started inside the submission's OS sandbox (``isolation``: bubblewrap, or
Landlock rules it applies to itself before anything else), after
``sandbox.apply_from_environment()`` has capped its memory and installed the audit hook
that records attempts to open course files. It also caps
what one cell may print (``GRADERS_OUTPUT_LIMIT`` characters), so that a notebook that
prints 100 MB does not flood the grader: the excess is dropped inside the kernel,
with a note. The grading pipeline starts submissions in this kernel through
``preprocessors.SandboxedKernelManager``; the notebooks themselves are not changed.
"""
import os
import sys

from graders.runtime.landlock import enter_from_environment
from graders.runtime.guard import TRUNCATED, apply_from_environment

OUTPUT_LIMIT_ENV = "GRADERS_OUTPUT_LIMIT"


def cap_output(shell, limit: int) -> None:
    """Let each cell write at most ``limit`` characters to stdout and stderr together."""
    state = {"left": limit, "noted": False}

    def reset(*_args, **_kwargs):
        state["left"], state["noted"] = limit, False

    def capped(write):
        def write_capped(text):
            if state["left"] <= 0:
                if not state["noted"]:
                    state["noted"] = True
                    write(f"\n... {TRUNCATED} (more than {limit:,} characters) ...\n")
                return len(text)
            kept = text[: state["left"]]
            state["left"] -= len(kept)
            write(kept)
            return len(text)
        return write_capped

    for stream in (sys.stdout, sys.stderr):
        stream.write = capped(stream.write)
    shell.events.register("pre_run_cell", reset)


def main() -> None:
    enter_from_environment()  # the OS sandbox's Landlock rules, if that is the mechanism
    apply_from_environment()
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize()
    limit = int(os.environ.get(OUTPUT_LIMIT_ENV, "0") or 0)
    if limit > 0:
        cap_output(app.shell, limit)
    app.start()


if __name__ == "__main__":
    main()
