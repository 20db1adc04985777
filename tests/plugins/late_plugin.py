"""A plugin registering a route while the plugins' commit runs (from one of its actions): the
loader saw no such action in its include, so the report attributes it by file."""

from __future__ import annotations

from typing import Any

from benben.plugin import PluginMetadata

benben_plugin = PluginMetadata(api=1, description="Registers during the commit.")


def includeme(config: Any) -> None:
    config.add_route("lateplugin.early", "/early")

    def register_late() -> None:
        config.add_route("lateplugin.late", "/late")

    config.action(None, register_late, order=-30)  # before the routes are (order -10)
