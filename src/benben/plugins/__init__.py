"""The plugin loader: discovery, selection, ordering and inclusion of ``benben.plugins``."""

from benben.plugins.installed import (
    enabled_plugins,
    including_plugin,
    installed_plugins,
    record_installed,
)
from benben.plugins.loader import (
    ENTRY_POINT_GROUP,
    discover_plugins,
    include_plugins,
    order_plugins,
    select_plugins,
)
from benben.plugins.metadata import PluginInfo, PluginMetadata
from benben.plugins.registrations import (
    PluginConflictError,
    describe_discriminator,
    record_core_discriminators,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginConflictError",
    "PluginInfo",
    "PluginMetadata",
    "describe_discriminator",
    "discover_plugins",
    "enabled_plugins",
    "include_plugins",
    "including_plugin",
    "installed_plugins",
    "order_plugins",
    "record_core_discriminators",
    "record_installed",
    "select_plugins",
]
