"""Compatibility between plugins and this core: the plugin API level a plugin declares
(``PluginMetadata(api=...)``) and deprecations (``BenbenDeprecationWarning``).

The plugins are inline: entry points naming functions of this module, each carrying its
``benben_plugin`` metadata, so that every case declares exactly one thing differently.
"""

from __future__ import annotations

import importlib.metadata
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import webtest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from benben import __version__
from benben.cli.plugins import inspect_plugins
from benben.config import configure
from benben.plugin import PLUGIN_API_LEVEL, BenbenDeprecationWarning, PluginMetadata, Request
from benben.plugins.compat import SUPPORTED_API_LEVELS, warn_deprecated

GROUP = "benben.plugins"
UNSUPPORTED = max(SUPPORTED_API_LEVELS) + 1


def _ping(request: Request) -> dict[str, str]:
    return {"pong": request.matched_route.name}


def _plugin(name: str, metadata: PluginMetadata) -> Callable[[Configurator], None]:
    """An ``includeme`` serving ``/<name>/ping``, declaring ``metadata``."""

    def includeme(config: Configurator) -> None:
        config.add_route(f"{name}.ping", "/ping")
        config.add_view(_ping, route_name=f"{name}.ping", renderer="json")

    includeme.benben_plugin = metadata  # type: ignore[attr-defined]
    return includeme


# What the entry points below name (``module:attribute``).
current = _plugin("current", PluginMetadata(api=PLUGIN_API_LEVEL))
future = _plugin("future", PluginMetadata(api=UNSUPPORTED))
textual = _plugin("textual", PluginMetadata(api=str(PLUGIN_API_LEVEL)))  # type: ignore[arg-type]
boolean = _plugin("boolean", PluginMetadata(api=True))
undeclared = _plugin("undeclared", PluginMetadata())


def entry_point(name: str) -> importlib.metadata.EntryPoint:
    return importlib.metadata.EntryPoint(name, f"{__name__}:{name}", GROUP)


@pytest.fixture
def make_config(tmp_path: Path) -> Iterator[Callable[..., Configurator]]:
    configs: list[Configurator] = []

    def factory(*names: str) -> Configurator:
        settings = {"benben.data_dir": str(tmp_path / "var")}
        config = configure(settings, environ={}, entry_points=[entry_point(n) for n in names])
        configs.append(config)
        return config

    yield factory
    for config in configs:
        config.registry["benben.db.engine"].dispose()


def test_the_current_level_is_one_this_core_runs() -> None:
    assert PLUGIN_API_LEVEL in SUPPORTED_API_LEVELS
    assert isinstance(PLUGIN_API_LEVEL, int)
    assert all(isinstance(level, int) for level in SUPPORTED_API_LEVELS)
    assert max(SUPPORTED_API_LEVELS) == PLUGIN_API_LEVEL


def test_a_plugin_for_the_current_level_runs_without_a_warning(
    make_config: Callable[..., Configurator],
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", BenbenDeprecationWarning)
        config = make_config("current")
    app = webtest.TestApp(config.make_wsgi_app())
    assert app.get("/current/ping").json == {"pong": "current.ping"}


def test_a_plugin_for_a_level_this_core_lacks_is_refused_at_start_up(
    make_config: Callable[..., Configurator],
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_config("current", "future")
    supported = ", ".join(str(level) for level in SUPPORTED_API_LEVELS)
    assert str(caught.value) == (
        f"plugin 'future': written for plugin API level {UNSUPPORTED}, but benben {__version__} "
        f"provides level {PLUGIN_API_LEVEL} (runs plugins written for level {supported}): "
        "upgrade Benben to a release providing it"
    )


def test_benben_plugins_reports_the_refused_plugin_as_an_error(tmp_path: Path) -> None:
    report = inspect_plugins(
        {"benben.data_dir": str(tmp_path / "var")},
        {},
        [entry_point("current"), entry_point("future")],
    )
    by_name = {plugin.name: plugin for plugin in report.plugins}
    assert by_name["future"].status == "error"
    assert by_name["future"].reason.startswith(
        f"written for plugin API level {UNSUPPORTED}, but benben {__version__} provides level "
        f"{PLUGIN_API_LEVEL}"
    )
    assert by_name["current"].status == "enabled"
    assert not report.ok  # the command exits non-zero


def test_a_level_older_than_every_supported_one_advises_the_plugins_release(
    make_config: Callable[..., Configurator], monkeypatch: pytest.MonkeyPatch
) -> None:
    # No core supports a level below 1 today: ask for what a core dropping level 1 would say.
    monkeypatch.setattr("benben.plugins.compat.SUPPORTED_API_LEVELS", (PLUGIN_API_LEVEL + 1,))
    monkeypatch.setattr("benben.plugins.compat.PLUGIN_API_LEVEL", PLUGIN_API_LEVEL + 1)
    with pytest.raises(ConfigurationError) as caught:
        make_config("current")
    assert str(caught.value).startswith(
        f"plugin 'current': written for plugin API level {PLUGIN_API_LEVEL}, but benben "
    )
    assert str(caught.value).endswith(
        "install a release of the plugin written for a supported level"
    )


@pytest.mark.parametrize(
    ("name", "shown"), [("textual", repr(str(PLUGIN_API_LEVEL))), ("boolean", "True")]
)
def test_a_level_that_is_not_an_integer_is_refused(
    make_config: Callable[..., Configurator], name: str, shown: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_config(name)
    assert str(caught.value) == (
        f"plugin {name!r}: PluginMetadata.api must be an integer plugin API level, not {shown}"
    )


def test_a_plugin_declaring_no_level_runs_with_a_deprecation_warning(
    make_config: Callable[..., Configurator],
) -> None:
    with pytest.warns(BenbenDeprecationWarning) as caught:
        config = make_config("undeclared")
    messages = {str(w.message) for w in caught if w.category is BenbenDeprecationWarning}
    assert messages == {
        "plugin 'undeclared' declaring no plugin API level is deprecated and will be removed in "
        f"Benben 2.0: add api={PLUGIN_API_LEVEL} to its PluginMetadata (benben_plugin) once it "
        "runs on this core (docs/plugin-api.md)"
    }
    app = webtest.TestApp(config.make_wsgi_app())
    assert app.get("/undeclared/ping").json == {"pong": "undeclared.ping"}


def test_the_deprecation_warning_is_a_deprecation_warning_of_the_public_module() -> None:
    assert issubclass(BenbenDeprecationWarning, DeprecationWarning)
    # What `-W error::benben.plugin.BenbenDeprecationWarning` resolves, as docs/plugin-api.md says.
    module, _, name = "benben.plugin.BenbenDeprecationWarning".rpartition(".")
    assert getattr(importlib.import_module(module), name) is BenbenDeprecationWarning


def _old_api() -> None:
    warn_deprecated("old_api()", "call new_api() instead", removed_in="3.0")


def _a_plugins_code() -> None:
    _old_api()  # the line the warning points at: the caller of the deprecated API


def test_warn_deprecated_names_the_replacement_and_points_at_the_caller() -> None:
    with pytest.warns(BenbenDeprecationWarning) as caught:
        _a_plugins_code()
    (warning,) = caught
    assert warning.category is BenbenDeprecationWarning
    assert str(warning.message) == (
        "old_api() is deprecated and will be removed in Benben 3.0: call new_api() instead"
    )
    assert warning.filename == __file__
    assert (
        "_old_api()  # the line the warning points at"
        in Path(__file__).read_text(encoding="utf-8").splitlines()[warning.lineno - 1]
    )


def test_deprecation_warnings_can_be_made_errors_alone() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.filterwarnings("error", category=BenbenDeprecationWarning)
        warnings.warn("another library's deprecation", DeprecationWarning, stacklevel=1)
        with pytest.raises(BenbenDeprecationWarning, match=r"removed in Benben 3\.0"):
            _a_plugins_code()
