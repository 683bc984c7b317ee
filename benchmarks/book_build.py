"""Clean and cached build times of the book, measured in one run.

Copies the tracked files of the repository to a temporary directory, builds the
book there from scratch (every notebook executed), then builds it again with
nothing changed (everything from the jupyter-cache), and prints both times, their
ratio and each chapter's execution time as recorded by the cache.

    .venv/bin/python benchmarks/book_build.py
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def copy_tracked_files(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split("\n")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def build(where: Path) -> float:
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}", TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONHASHSEED="0")
    start = time.perf_counter()
    subprocess.run([str(BIN / "jupyter-book"), "build", ".", "-W", "-n", "--keep-going"], cwd=where, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def chapter_times(where: Path) -> list[tuple[str, float]]:
    from jupyter_cache import get_cache

    cache = get_cache(where / "_build" / ".jupyter_cache")
    rows = [(Path(r.uri).name, float((r.data or {}).get("execution_seconds", float("nan"))))
            for r in cache.list_cache_records()]
    return sorted(rows)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="book-bench-") as tmp:
        where = Path(tmp)
        copy_tracked_files(where)
        clean = build(where)
        cached = build(where)
        print(f"clean build : {clean:7.1f} s   (target <= 360 s)")
        print(f"cached build: {cached:7.1f} s   (target <= 30 s)")
        print(f"ratio clean/cached: {clean / cached:5.1f}x")
        print("execution time per page (jupyter-cache), target <= 90 s each:")
        for name, seconds in chapter_times(where):
            print(f"  {name:32s} {seconds:6.1f} s")


if __name__ == "__main__":
    main()
