"""Helpers for tests of the built book in _build/html."""
from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
TEXT_SUFFIXES = {".html", ".js", ".txt", ".md", ".ipynb", ".json", ".css", ".py", ".svg", ".inv"}


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
