"""Benben: a self-hosted, plugin-based REST data platform."""

from __future__ import annotations

from typing import Any

from benben.version import __version__

__all__ = ["__version__", "main"]


def main(global_config: dict[str, Any], **settings: Any) -> Any:
    """The PasteDeploy app factory (``use = egg:benben``)."""
    from benben.config import make_wsgi_app

    return make_wsgi_app(settings, setup_logging=True)
