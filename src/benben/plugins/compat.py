"""Compatibility between plugins and this core: the plugin API level, and deprecations.

The plugin API level counts breaking changes of what ``benben.plugin`` promises
(docs/plugin-api.md): it goes up only with a major release of Benben, which still runs plugins
written for the level before it (``SUPPORTED_API_LEVELS``), warning about what they use that is
deprecated.  A plugin
declares the level it was written for (``PluginMetadata(api=1)``); the loader refuses one it does
not support, naming the plugin, rather than letting it fail half-loaded at its first request.
"""

from __future__ import annotations

import warnings

from benben.plugins.metadata import PluginInfo

__all__ = [
    "PLUGIN_API_LEVEL",
    "SUPPORTED_API_LEVELS",
    "BenbenDeprecationWarning",
    "api_level_problem",
    "warn_deprecated",
]

# The level this core provides; plugins written for any of SUPPORTED_API_LEVELS run.
PLUGIN_API_LEVEL = 1
SUPPORTED_API_LEVELS: tuple[int, ...] = (1,)


class BenbenDeprecationWarning(DeprecationWarning):
    """Something of the plugin API that still works, for at least one more major version of
    Benben, and is going away: the message names its replacement."""


def warn_deprecated(what: str, replacement: str, *, removed_in: str, stacklevel: int = 3) -> None:
    """Warn that ``what`` is deprecated: ``replacement`` instead; gone in Benben ``removed_in``."""
    warnings.warn(
        f"{what} is deprecated and will be removed in Benben {removed_in}: {replacement}",
        BenbenDeprecationWarning,
        stacklevel=stacklevel,
    )


def api_level_problem(plugin: PluginInfo, core_version: str) -> str:
    """Why this core cannot run ``plugin`` for its declared API level ("" when it can)."""
    level = plugin.metadata.api
    if level is None:
        warn_deprecated(
            f"plugin {plugin.name!r} declaring no plugin API level",
            f"add api={PLUGIN_API_LEVEL} to its PluginMetadata (benben_plugin) once it runs on "
            f"this core (docs/plugin-api.md)",
            removed_in="2.0",
        )
        return ""
    if isinstance(level, bool) or not isinstance(level, int):
        return f"PluginMetadata.api must be an integer plugin API level, not {level!r}"
    if level in SUPPORTED_API_LEVELS:
        return ""
    supported = ", ".join(str(n) for n in SUPPORTED_API_LEVELS)
    advice = (
        "upgrade Benben to a release providing it"
        if level > PLUGIN_API_LEVEL
        else "install a release of the plugin written for a supported level"
    )
    return (
        f"written for plugin API level {level}, but benben {core_version} provides level "
        f"{PLUGIN_API_LEVEL} (runs plugins written for level {supported}): {advice}"
    )
