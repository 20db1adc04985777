"""The files page of the admin console (``/admin/plugins/files``: the collections' attachment
policies): the ES modules under ``static/``, served by a static view of this plugin and listed
with ``add_admin_page``.

Their URL carries a digest of their content, as the console's own assets do: browsers may keep
them a year, and an upgrade changes the URL instead of leaving a stale module next to a newer
API.  Without the console plugin the page is listed by nobody and the modules go unused.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from benben.plugin import Configurator

__all__ = ["STATIC_DIR", "assets_version", "includeme"]

STATIC_DIR = Path(__file__).parent / "static"
YEAR = 365 * 24 * 3600


def assets_version(root: Path = STATIC_DIR) -> str:
    """A digest of every module's path and content."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def includeme(config: Configurator) -> None:
    version = assets_version()
    config.add_static_view(
        name=f"files-ui/{version}", path="benben_files:static", cache_max_age=YEAR
    )
    config.add_admin_page(
        "files", "Files", f"/files-ui/{version}/page.js", icon="bi-paperclip", order=30
    )
    # Fixed, year-cached files, as the console's own assets: never counted against rate limits.
    config.add_ratelimit_exemption("/files-ui/")
