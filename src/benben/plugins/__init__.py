"""The plugin loader: discovery, selection, ordering and inclusion of ``benben.plugins``."""

from benben.plugins.loader import (
    ENTRY_POINT_GROUP,
    discover_plugins,
    include_plugins,
    order_plugins,
    record_core_discriminators,
    select_plugins,
)
from benben.plugins.metadata import PluginInfo, PluginMetadata

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "PluginMetadata",
    "discover_plugins",
    "include_plugins",
    "order_plugins",
    "record_core_discriminators",
    "select_plugins",
]
