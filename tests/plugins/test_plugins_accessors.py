"""The typed accessors of the public plugin API (benben.plugin): what a plugin reads of the app."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import webtest
from prometheus_client import CollectorRegistry, Counter
from pyramid.config import Configurator

from benben.plugin import current_plugin, enabled_plugins, metrics_registry

LOCAL = {"REMOTE_ADDR": "127.0.0.1"}


def test_a_plugins_metric_is_served_with_cores(make_app: Callable[..., webtest.TestApp]) -> None:
    app = make_app()
    registry = metrics_registry(app.app.registry)
    assert isinstance(registry, CollectorRegistry)
    Counter("myplugin_things", "Things done.", registry=registry).inc(3)
    text = app.get("/metrics", extra_environ=LOCAL).text
    assert "myplugin_things_total 3.0" in text
    assert "benben_build_info" in text


def test_with_metrics_off_there_is_no_registry(make_app: Callable[..., webtest.TestApp]) -> None:
    app = make_app({"benben.metrics.enabled": "off"})
    assert metrics_registry(app.app.registry) is None


def test_without_plugins_none_is_enabled(make_app: Callable[..., webtest.TestApp]) -> None:
    app = make_app(entry_points=[])
    assert enabled_plugins(app.app.registry) == []


def test_current_plugin_outside_a_plugins_includeme_is_refused() -> None:
    with pytest.raises(Exception, match="outside of a Benben plugin's includeme"):
        current_plugin(Configurator())
