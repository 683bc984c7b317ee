"""Helpers for tests of the built book in _build/html."""
from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
TEXT_SUFFIXES = {".html", ".js", ".txt", ".md", ".ipynb", ".json", ".css", ".py", ".svg", ".inv"}

REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)(.*?)### END \1", re.S)
MARK_SCHEME = re.compile(r"=== BEGIN MARK SCHEME ===(.*?)=== END MARK SCHEME ===", re.S)
# A leak is a run of this many consecutive lines of a solution (or of a reference
# function the assignments ask for): single lines such as `model = keras.Sequential([`
# or `restore_best_weights=True)` are lesson content that the book must teach.
WINDOW = 3


def _code_lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def _windows(lines: list[str]) -> set[str]:
    if len(lines) < WINDOW:
        return {"\n".join(lines)} if len(lines) == WINDOW - 1 and sum(map(len, lines)) >= 40 else set()
    return {"\n".join(lines[i:i + WINDOW]) for i in range(len(lines) - WINDOW + 1)}


def secret_snippets() -> dict[str, str]:
    """Runs of consecutive lines of solution code and hidden tests in solutions/, with their origin."""
    snippets = {}
    for nb_path in sorted((ROOT / "solutions").rglob("*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        for cell in nb.cells:
            for match in list(REGION.finditer(cell.source)) + list(MARK_SCHEME.finditer(cell.source)):
                for w in _windows(_code_lines(match.group(match.lastindex))):
                    snippets.setdefault(w, str(nb_path.relative_to(ROOT)))
    return snippets


def reference_snippets() -> dict[str, str]:
    """Runs of lines of the reference functions that the assignments ask students to write."""
    import ast
    import inspect

    import graders

    snippets = {}
    for name in graders.__all__:
        source = inspect.getsource(getattr(graders, name))
        func = ast.parse(source).body[0]
        body = func.body[1:] if ast.get_docstring(func) else func.body
        code = "\n".join(ast.get_source_segment(source, stmt) for stmt in body)
        for w in _windows(_code_lines(code)):
            snippets.setdefault(w, f"graders.{name}")
    return snippets


def page_text(path: Path) -> str:
    """What a reader can see or download from a built file, one stripped line per line."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".html":
        from bs4 import BeautifulSoup

        raw = BeautifulSoup(raw, "html.parser").get_text("\n")
    elif path.suffix == ".ipynb":
        try:
            raw = "\n".join(c.source for c in nbformat.reads(raw, as_version=4).cells)
        except Exception:
            pass
    return "\n".join(_code_lines(raw))


def leaks(snippets: dict[str, str], files, site: Path = SITE) -> list[str]:
    """Every snippet found in a readable file of ``files`` (paths shown relative to ``site``)."""
    found = []
    for path in files:
        if path.suffix not in TEXT_SUFFIXES or "_static" in path.parts:
            continue
        text = page_text(path)
        found += [f"{path.relative_to(site)}: {w!r} (from {origin})" for w, origin in snippets.items() if w in text]
    return found


def content_pages() -> list[Path]:
    """Every page of the book proper (not Sphinx's genindex/search helpers)."""
    return sorted(p for p in (SITE / "book").rglob("*.html"))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class SiteServer:
    """Serves _build/html on an ephemeral localhost port for the browser."""

    def __init__(self, root: Path = SITE):
        handler = functools.partial(QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
