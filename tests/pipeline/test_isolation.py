"""The jail (graders.pipeline.isolation.Jail) on its own: what the attack suite relies on.

With cgroups (as here, as root): a detached process is killed when the jail closes, and a
submission that uses more memory than its limit is stopped and reported. Without a writable
cgroup (an unprivileged grader): the grader is the subreaper, and closing the jail still kills
a process that detached itself with ``setsid`` and whose parent has exited.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from graders.pipeline.isolation import Jail

pytestmark = pytest.mark.grading


def alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


DETACH = textwrap.dedent("""
    import subprocess, sys
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(child.pid, flush=True)
""")


def test_a_detached_process_dies_with_the_cgroup_jail():
    jail = Jail.create(f"graders-test-{uuid.uuid4().hex[:8]}", 2 * 1024**3)
    if not jail.folders:
        pytest.skip("no writable cgroup on this machine (the fallback is tested below)")
    try:
        out = subprocess.run(jail.command([sys.executable, "-c", DETACH]), capture_output=True, text=True,
                             timeout=60, check=True).stdout
        orphan = int(out.split()[0])
        assert alive(orphan)
    finally:
        jail.close()
    time.sleep(0.2)
    assert not alive(orphan)
    assert not any(folder.exists() for folder in jail.folders)


def test_the_cgroup_memory_limit_stops_the_whole_submission_and_is_reported():
    jail = Jail.create(f"graders-test-{uuid.uuid4().hex[:8]}", 128 * 1024**2)
    if not jail.folders:
        pytest.skip("no writable cgroup on this machine")
    try:
        hog = "import numpy as np; a = np.ones(512 * 1024**2 // 8); print(a.sum())"
        proc = subprocess.run(jail.command([sys.executable, "-c", hog]), capture_output=True, timeout=120)
        assert proc.returncode != 0  # killed by the cgroup's OOM killer, not finished
        assert jail.hit_memory_limit()
    finally:
        jail.close()


def test_without_cgroups_the_subreaper_fallback_kills_detached_processes():
    script = textwrap.dedent(f"""
        import subprocess, sys, time
        from graders.pipeline.isolation import Jail, _become_subreaper, current_children
        _become_subreaper()
        jail = Jail([], None, "address space per process only")
        before = current_children()
        out = subprocess.run([sys.executable, "-c", {DETACH!r}], capture_output=True, text=True, check=True).stdout
        orphan = int(out.split()[0])
        time.sleep(0.2)
        import psutil
        assert psutil.Process(orphan).ppid() != 1, "not re-parented to the grader"
        jail.close(before)
        time.sleep(0.2)
        try:
            gone = psutil.Process(orphan).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            gone = True
        print("GONE" if gone else "ALIVE", orphan)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("GONE"), proc.stdout
