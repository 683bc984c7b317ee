"""Opens the built book in a real headless Chromium (Debian's package, driven by Playwright).

Every page must load without console errors or failed requests, typeset its math
(MathJax is served from the build itself: the machines are offline), load every
image (each with alt text), and have internal links that resolve; the search page
must find a chapter.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import pytest

from book_site import SITE, SiteServer, content_pages

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def server():
    if not (SITE / "index.html").exists():
        pytest.fail("The book is not built: run `make book` first (make test does).")
    with SiteServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (make test installs it: make system-deps).")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def visited(server, browser):
    """Visit every page once; record what the tests below check."""
    results = {}
    for path in content_pages():
        page = browser.new_page()  # a fresh page per URL: listeners and errors don't carry over
        rel = path.relative_to(SITE).as_posix()
        errors, failed = [], []
        page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.on("requestfailed", lambda r, failed=failed: failed.append(r.url))
        page.goto(f"{server.url}/{rel}", wait_until="load")
        has_math = page.evaluate("document.querySelectorAll('.math, span.math, div.math').length") > 0
        typeset = 0
        if has_math:
            page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
            page.evaluate("MathJax.startup.promise")
            page.wait_for_function("document.querySelectorAll('mjx-container').length > 0", timeout=20000)
            typeset = page.evaluate("document.querySelectorAll('mjx-container').length")
        images = page.evaluate("""Array.from(document.querySelectorAll('main img, article img')).map(i => ({
            src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0, alt: i.getAttribute('alt') || ''}))""")
        links = page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
        math_errors = page.evaluate("document.querySelectorAll('mjx-merror').length")
        results[rel] = dict(errors=list(errors), failed=list(failed), has_math=has_math, typeset=typeset,
                            images=images, links=links, math_errors=math_errors)
        page.close()
    return results


def test_every_page_loads_without_console_errors_or_failed_requests(visited):
    assert len(visited) >= 5
    bad = {p: r["errors"] + r["failed"] for p, r in visited.items() if r["errors"] or r["failed"]}
    assert not bad, bad


def test_math_is_typeset_by_the_bundled_mathjax(visited):
    with_math = {p: r for p, r in visited.items() if r["has_math"]}
    assert with_math, "no page has math?"
    assert all(r["typeset"] > 0 for r in with_math.values()), {p: r["typeset"] for p, r in with_math.items()}
    assert not {p for p, r in with_math.items() if r["math_errors"]}


def test_every_image_loads_and_has_alt_text(visited):
    broken = {p: [i["src"] for i in r["images"] if not i["ok"]] for p, r in visited.items()}
    assert not {p: b for p, b in broken.items() if b}, broken
    no_alt = {p: [i["src"] for i in r["images"] if not i["alt"].strip()] for p, r in visited.items()}
    assert not {p: b for p, b in no_alt.items() if b}, no_alt
    assert sum(len(r["images"]) for r in visited.values()) >= 10, "the chapters should have figures"


def test_internal_links_resolve(server, visited):
    targets = set()
    for page, r in visited.items():
        for href in r["links"]:
            if href.startswith(server.url):
                targets.add(href)
    missing = []
    html_of = {}
    for href in sorted(targets):
        url, frag = urldefrag(href)
        path = urlparse(url).path.lstrip("/") or "index.html"
        file = SITE / path
        if path.endswith("/"):
            file = file / "index.html"
        if not file.exists():
            missing.append(href)
            continue
        if frag and file.suffix == ".html":
            html = html_of.setdefault(file, file.read_text(encoding="utf-8"))
            if f'id="{frag}"' not in html and f'name="{frag}"' not in html:
                missing.append(href)
    assert not missing, missing


def test_search_finds_a_chapter(server, browser):
    page = browser.new_page()
    page.goto(f"{server.url}/search.html?q=dropout", wait_until="load")
    page.wait_for_selector("#search-results li a", timeout=20000)
    hits = page.evaluate("Array.from(document.querySelectorAll('#search-results li a')).map(a => a.href)")
    page.close()
    assert any("03_dropout" in h for h in hits), hits


def test_home_page_redirects_into_the_book(server, browser):
    page = browser.new_page()
    page.goto(f"{server.url}/index.html", wait_until="load")
    page.wait_for_url("**/book/intro.html", timeout=10000)
    assert "Regularization" in page.title()
    page.close()
