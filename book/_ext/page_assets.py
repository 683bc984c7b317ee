"""Sphinx extension: fixes two console errors that Jupyter Book 1.0's theme stack prints.

* sphinx-thebe registers its inline configuration script once per read phase, so
  pages can carry it twice and the browser reports
  "Identifier 'THEBE_JS_URL' has already been declared". Duplicate scripts are dropped.
* pydata-sphinx-theme reads ``default_mode`` from the page context; Jupyter Book
  leaves it unset, so every first visit logs "Got invalid theme mode". It is set to
  "auto" (follow the reader's system light/dark preference).

The browser test (tests/book/test_book_browser.py) fails on any console error.
"""


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts:
        seen, unique = set(), []
        for script in scripts:
            # The same inline script is registered once with filename None and once with "".
            attributes = getattr(script, "attributes", {}) or {}
            key = (getattr(script, "filename", None) or "", tuple(sorted(attributes.items())))
            if key not in seen:
                seen.add(key)
                unique.append(script)
        context["script_files"] = unique
    context.setdefault("default_mode", "auto")
    if not context["default_mode"]:
        context["default_mode"] = "auto"


def setup(app):
    # Run after every other extension has added its scripts to the page.
    app.connect("html-page-context", _dedupe_scripts, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
