"""nbgrader preprocessors used by the grading pipeline."""
from __future__ import annotations

import re

import nbformat

from nbgrader.preprocessors import NbGraderPreprocessor as Preprocessor  # enabled by default, unlike nbconvert's
from nbgrader.preprocessors import Execute
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from traitlets import Dict, Integer

from graders.cells import BEGIN_HIDDEN, END_HIDDEN, grade_id
from graders.runtime.guard import TRUNCATED

HIDDEN_TESTS = re.compile(rf"^[ \t]*{re.escape(BEGIN_HIDDEN)}.*?{re.escape(END_HIDDEN)}[ \t]*\n?", re.S | re.M)
HIDDEN_PLACEHOLDER = "# (hidden tests: their result is shown below)\n"


class SandboxedKernelManager(AsyncKernelManager):
    """Starts ``graders.pipeline.kernel`` inside the submission's OS sandbox and jail.

    The kernel talks to nbgrader over jupyter_client's ``ipc`` transport (Unix sockets in the
    submission's run folder, which is bound into the sandbox): TCP on loopback is gone with the
    sandbox's network. Interrupts go as messages, since the kernel is in a PID namespace and a
    session of its own. The launch command comes from ``graders.pipeline.task`` (per submission).
    """

    sandbox_env = Dict({}, help="The kernel's whole environment (nothing else of the grader's).").tag(config=True)
    python = Dict({}, help="{'executable': path to the Python that runs the kernel}").tag(config=True)
    launch = Dict({}, help="{'sandbox': Sandbox, 'jail': Jail, 'writable': [...], 'cwd': str}: how to confine it"
                  ).tag(config=True)

    @property
    def kernel_spec(self):
        import sys

        if self._kernel_spec is None:
            argv = [self.python.get("executable", sys.executable), "-m", "graders.pipeline.kernel",
                    "-f", "{connection_file}"]
            launch = self.launch
            if launch:
                argv = launch["jail"].command(launch["sandbox"].command(argv, launch["writable"], dict(self.sandbox_env),
                                                                        launch["cwd"]))
            self._kernel_spec = KernelSpec(argv=argv, env={}, display_name="Python 3 (grading)", language="python",
                                           resource_dir="", interrupt_mode="message" if launch else "signal")
        return self._kernel_spec

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        """With a warm template (``warm``): the kernel is forked from it instead of started cold."""
        zygote = (self.launch or {}).get("zygote")
        if zygote is None:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        launch = self.launch
        proc = zygote.spawn("graders.pipeline.kernel", ["-f", self.connection_file], dict(self.sandbox_env),
                            launch["cwd"], launch["sandbox"].landlock.rules(launch["writable"]), launch["jail"],
                            cwd_on_path=True)
        provisioner = self.provisioner
        provisioner.process, provisioner.pid, provisioner.pgid = proc, proc.pid, None
        provisioner.cwd = launch["cwd"]
        self._reconcile_connection_info(provisioner.connection_info)


class SandboxedExecute(Execute):
    """nbgrader's Execute, with every notebook run in a :class:`SandboxedKernelManager` kernel,
    and each graded cell announced to the submission's check service (``verdicts``)."""

    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = SandboxedKernelManager
        super().__init__(*args, **kwargs)

    def preprocess_cell(self, cell, resources, index):
        from . import verdicts

        service = verdicts.ACTIVE
        gid = grade_id(cell) if cell.cell_type == "code" else None
        if service is None or not gid:
            return super().preprocess_cell(cell, resources, index)
        service.begin(str((resources or self.resources or {}).get("unique_key", "")), gid)
        try:
            return super().preprocess_cell(cell, resources, index)
        finally:
            service.end()


class LimitOutputSize(Preprocessor):
    """Caps what one cell's outputs may hold, so a notebook that prints 100 MB stays small.

    nbgrader's LimitOutput counts lines; one enormous line, or a flood of small
    stream messages, passes it. This keeps at most ``max_chars`` characters of text
    per cell (over all its outputs) and drops images larger than ``max_image_bytes``.
    """

    max_chars = Integer(20_000, help="characters of text output kept per cell").tag(config=True)
    max_image_bytes = Integer(2_000_000, help="largest embedded image kept").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        budget, dropped, kept = self.max_chars, 0, []
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                text = out.text
                if len(text) > budget:
                    dropped += len(text) - budget
                    text = text[:budget]
                budget -= len(text)
                if not text:
                    continue
                out.text = text
            elif out.output_type in ("execute_result", "display_data"):
                data = out.get("data", {})
                for mime, value in list(data.items()):
                    size = len(value) if isinstance(value, str) else len(str(value))
                    if mime.startswith("image/"):
                        if size > self.max_image_bytes:
                            dropped += size
                            del data[mime]
                    elif size > budget:
                        dropped += size
                        del data[mime]
                    else:
                        budget -= size
                if not data:
                    continue
            kept.append(out)
        if dropped:
            kept.append(nbformat.v4.new_output("stream", name="stderr",
                                               text=f"\n... {TRUNCATED} ({dropped:,} characters dropped) ...\n"))
        cell.outputs = kept
        return cell, resources


class StripHiddenTests(Preprocessor):
    """Removes hidden-test code from graded cells before feedback is rendered for students.

    nbgrader's feedback shows the autograded notebook, in which the hidden tests were
    put back; the student sees their result (pass, or the failure message) but not their code.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and BEGIN_HIDDEN in cell.source:
            cell.source = HIDDEN_TESTS.sub(HIDDEN_PLACEHOLDER, cell.source)
            # A traceback quotes the lines of the cell that failed: keep only the message.
            for out in cell.get("outputs", []):
                if out.output_type == "error":
                    out.traceback = [f"{out.ename}: {out.evalue}"]
        return cell, resources
