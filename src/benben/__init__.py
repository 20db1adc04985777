"""Benben: a self-hosted, plugin-based REST data platform."""

from __future__ import annotations

from typing import Any

from benben.version import __version__

__all__ = ["__version__", "main"]


def main(global_config: dict[str, Any], **settings: Any) -> Any:
    """The PasteDeploy app factory (``use = egg:benben``): an app for serving, which on the
    embedded default runs the background tasks itself (benben.worker.embedded)."""
    from benben.config import make_wsgi_app
    from benben.worker.embedded import serve_tasks

    return serve_tasks(make_wsgi_app(settings, setup_logging=True))
