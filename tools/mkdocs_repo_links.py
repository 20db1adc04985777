"""MkDocs hook: a link from docs/ to a file of the repository outside docs/ (README.md,
Dockerfile, conf/, helm/...) points at that file in the repository (``repo_url``), as it does
when the Markdown is read on the forge. Links inside docs/ are left to MkDocs, which checks
them (``mkdocs build --strict``); a link to nothing stays broken, so it is still reported."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

BRANCH = "main"
DOCS_DIR = "docs"  # mkdocs.yml's docs_dir
LINK = re.compile(r"(\]\()([^)\s]+)(\))")
ABSOLUTE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|#|/)")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any, **kwargs: Any) -> str:
    root = Path(config.config_file_path).resolve().parent
    # Not config["docs_dir"]: techdocs-core's monorepo plugin builds from a temporary copy.
    docs_dir = root / DOCS_DIR
    repo = str(config.get("repo_url") or "").rstrip("/")
    page_dir = (docs_dir / page.file.src_uri).parent
    if not repo:
        return markdown

    def replace(match: re.Match[str]) -> str:
        target = match.group(2)
        if ABSOLUTE.match(target):
            return match.group(0)
        path, _, anchor = target.partition("#")
        resolved = (page_dir / path).resolve()
        inside_docs = resolved == docs_dir or docs_dir in resolved.parents
        if inside_docs or root not in resolved.parents or not resolved.exists():
            return match.group(0)
        kind = "tree" if resolved.is_dir() else "blob"
        url = f"{repo}/{kind}/{BRANCH}/{resolved.relative_to(root).as_posix()}"
        return f"{match.group(1)}{url}{'#' + anchor if anchor else ''}{match.group(3)}"

    return LINK.sub(replace, markdown)
