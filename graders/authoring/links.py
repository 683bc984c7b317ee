"""Links into the public student repository: the book's exercise pages and its README use these.

>>> binder_url("https://github.com/org/repo", "main", "exercises/ps1/a b.ipynb")
'https://mybinder.org/v2/gh/org/repo/main?urlpath=lab/tree/exercises/ps1/a%20b.ipynb'
"""
from __future__ import annotations

from urllib.parse import quote

GITHUB = "https://github.com/"


def binder_url(repository_url: str, branch: str, path: str, hub: str = "https://mybinder.org") -> str:
    """The BinderHub URL that builds ``repository_url`` at ``branch`` and opens ``path`` in JupyterLab."""
    if not repository_url.startswith(GITHUB):
        raise ValueError(f"Expected a repository URL starting with {GITHUB}. Received: {repository_url!r}")
    owner_repo = repository_url[len(GITHUB):].strip("/")
    return f"{hub.rstrip('/')}/v2/gh/{owner_repo}/{branch}?urlpath=lab/tree/{quote(path)}"
