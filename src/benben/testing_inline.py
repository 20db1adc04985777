"""One-off plugins a test registers inline: ``benben_make_app(plugins={"hello": includeme})``.

Each becomes a real ``benben.plugins`` entry point of a distribution that exists only in this
process, naming a module put in ``sys.modules`` for the test and removed after it, so that the
loader treats it exactly as an installed plugin: its metadata checked, its settings namespace
(``benben.hello.*``), its route prefix (``/hello``), its migrations and its listing.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import sys
import types
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["InlinePlugin", "InlinePlugins"]

# What a test may register: an includeme(config) callable, or a module that has one.
InlinePlugin = Callable[[Any], None] | types.ModuleType

_MODULE_PREFIX = "_benben_inline_"


class _InlineDistribution(importlib.metadata.Distribution):
    """The distribution an inline plugin comes from: a name, version 0.0.0, one entry point."""

    def __init__(self, name: str, entry_point: str) -> None:
        self._files = {
            "METADATA": f"Metadata-Version: 2.1\nName: benben-inline-{name}\nVersion: 0.0.0\n",
            "entry_points.txt": f"[benben.plugins]\n{name} = {entry_point}\n",
        }

    def read_text(self, filename: str) -> str | None:
        return self._files.get(filename)

    def locate_file(self, path: str | Any) -> Path:
        # Nothing of it is on disk; the loader never asks for files.
        return Path(str(path))


class InlinePlugins:
    """The inline plugins of one test: their entry points, and their modules until close()."""

    def __init__(self) -> None:
        self._modules: list[str] = []

    def entry_points(
        self, plugins: Mapping[str, InlinePlugin]
    ) -> list[importlib.metadata.EntryPoint]:
        """An entry point for each of ``plugins`` (name -> callable or module)."""
        found = []
        for name, plugin in plugins.items():
            target = _include_function(name, plugin)
            module_name = f"{_MODULE_PREFIX}{name}_{uuid.uuid4().hex[:8]}"
            module = types.ModuleType(module_name, f"inline plugin {name!r} of a test")
            module.plugin = target  # type: ignore[attr-defined]
            sys.modules[module_name] = module
            self._modules.append(module_name)
            distribution = _InlineDistribution(name, f"{module_name}:plugin")
            found.extend(distribution.entry_points)
        return found

    def close(self) -> None:
        for name in self._modules:
            sys.modules.pop(name, None)
        self._modules.clear()


def _include_function(name: str, plugin: InlinePlugin) -> Callable[[Any], None]:
    """What the entry point names: a function calling the plugin's includeme, carrying its
    metadata (``benben_plugin``, defaulting to the current API level) and posing as a function
    of the plugin's own module, so that Pyramid resolves the plugin's relative asset specs
    against the plugin's package, as it would for an installed one."""
    from benben.plugins.compat import PLUGIN_API_LEVEL
    from benben.plugins.metadata import PLUGIN_NAME, RESERVED_NAMES, PluginMetadata

    if not isinstance(name, str) or not PLUGIN_NAME.fullmatch(name):
        raise ValueError(
            f"inline plugin name {name!r} is invalid: use lowercase letters, digits and _, "
            "starting with a letter (at most 40)"
        )
    if name in RESERVED_NAMES:
        raise ValueError(f"inline plugin name {name!r} is reserved for Benben's core")
    if inspect.ismodule(plugin):
        includeme = getattr(plugin, "includeme", None)
        if not callable(includeme):
            raise TypeError(
                f"inline plugin {name!r}: module {plugin.__name__} has no includeme(config)"
            )
        module_name, function_name = plugin.__name__, "includeme"
    elif callable(plugin):
        includeme = plugin
        module_name = getattr(plugin, "__module__", None) or __name__
        function_name = getattr(plugin, "__name__", None) or "includeme"
    else:
        raise TypeError(
            f"inline plugin {name!r} is a {type(plugin).__name__}: give a callable taking the "
            "Configurator, or a module with includeme(config)"
        )
    if module_name not in sys.modules:  # Pyramid looks the module up to find the package
        module_name = __name__
    metadata = getattr(plugin, "benben_plugin", None)

    def include(config: Any) -> None:
        includeme(config)

    include.__module__ = module_name
    include.__name__ = include.__qualname__ = function_name
    include.benben_plugin = (  # type: ignore[attr-defined]
        PluginMetadata(api=PLUGIN_API_LEVEL) if metadata is None else metadata
    )
    return include
