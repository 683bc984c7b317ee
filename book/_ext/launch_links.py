"""Sphinx extension: the ``{launch}`` role, a link that opens a file of the public student repository
on a BinderHub, e.g. ``{launch}`exercises/ps1_penalties/penalties.ipynb```.

The chapters import the course's ``graders`` package (the reference answers, never published),
so the book has no launch button on them: only the exercises run in the public repository
(``python -m graders publish`` writes it). The repository is ``repository.url`` of
``_config.yml`` (the public one) and the hub ``course_binderhub_url`` (default mybinder.org):
one place each, so a course that forks the book changes them there.
"""
from docutils import nodes

from graders.authoring.links import binder_url


def _launch_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    config = inliner.document.settings.env.config
    theme = config.html_theme_options or {}
    try:
        url = binder_url(theme.get("repository_url", ""), theme.get("repository_branch", "main"), text.strip(),
                         config.course_binderhub_url)
    except ValueError as exc:
        message = inliner.reporter.error(str(exc), line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    return [nodes.reference(rawtext, "Open it on Binder", refuri=url)], []


def setup(app):
    app.add_config_value("course_binderhub_url", "https://mybinder.org", "html")
    app.add_role("launch", _launch_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
