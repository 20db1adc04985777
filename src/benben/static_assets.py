"""``config.add_static_assets(name, asset_spec)``: a directory of fixed files (a plugin's console
page, its scripts and styles) served under a URL that carries a digest of their content.

Browsers may keep them a year: an upgrade that changes a file changes the URL instead of leaving
a stale module beside a newer API.  They never count against rate limits (a page loads many).
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.path import AssetResolver

__all__ = ["YEAR", "add_static_assets", "assets_version", "includeme"]

YEAR = 365 * 24 * 3600
# URL segments: "stock-ui", "admin/static".
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}(/[a-z0-9_-]{1,63}){0,3}")


def assets_version(root: Path) -> str:
    """A digest of every file's path and content under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=64)
def _installed_version(root: str) -> str:
    # An installed directory does not change while the process runs (its static view is set
    # up once): digested once per process, not once per app a test or a command builds.
    return assets_version(Path(root))


def add_static_assets(config: Configurator, name: str, asset_spec: str) -> str:
    """Serve the directory ``asset_spec`` (``"myplugin:static"``) at ``/<name>/<digest>/``
    under the plugin's route prefix; returns that path (without the final slash), e.g. for
    ``add_admin_page``'s module."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigurationError(
            f"add_static_assets: {name!r} must be up to four '/'-separated segments of "
            "lowercase letters, digits, '-' or '_', starting with a letter"
        )
    directory = Path(AssetResolver().resolve(asset_spec).abspath())
    if not directory.is_dir():
        raise ConfigurationError(f"add_static_assets {name!r}: {asset_spec} is not a directory")
    prefix = f"{name}/{_installed_version(str(directory))}"
    config.add_static_view(name=prefix, path=asset_spec, cache_max_age=YEAR)
    # Pyramid serves a static view under the including plugin's route prefix (/myplugin/...).
    mount = "/".join(part for part in ((config.route_prefix or "").strip("/"), name) if part)
    served = f"/{mount}/{prefix.rsplit('/', 1)[1]}"
    config.add_ratelimit_exemption(f"/{mount}/")
    intr = config.introspectable("benben static assets", name, f"{served}/", "static assets")
    intr.update(name=name, asset_spec=asset_spec, path=f"{served}/", directory=str(directory))
    # No discriminator: the static view's route already conflicts with a namesake.
    config.action(None, introspectables=(intr,))
    return served


def includeme(config: Configurator) -> None:
    config.add_directive("add_static_assets", add_static_assets)
