"""The console's tests: the plugin enabled with the others, cheap password hashing."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path
from typing import Any

import pytest

from benben.testing_auth import FAST_PASSWORD_HASHING

_SOURCE = Path(__file__).parents[2] / "plugins" / "benben-console" / "src"


def _console_entry_points(installed: tuple[Any, ...]) -> tuple[Any, ...]:
    """The installed plugins, with the console's entry point when the installed metadata lacks
    it (a checkout not reinstalled since pyproject.toml declared it)."""
    if any(ep.name == "console" for ep in installed):
        return installed
    if str(_SOURCE) not in sys.path:
        sys.path.append(str(_SOURCE))
    console = importlib.metadata.EntryPoint("console", "benben_console", "benben.plugins")
    return (*installed, console)


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    return {**app_settings, **FAST_PASSWORD_HASHING}


@pytest.fixture
def make_app(make_app: Any, backends: Any) -> Any:
    def factory(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault(
            "entry_points", _console_entry_points(backends.shared.plugin_entry_points())
        )
        return make_app(*args, **kwargs)

    return factory
