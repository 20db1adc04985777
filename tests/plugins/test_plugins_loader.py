"""The loader's guard against core overrides, on a hand-built core using a predicate that only
exists once core is committed (Cornice's ``content_type``)."""

from __future__ import annotations

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request

from benben.plugins import include_plugins, record_core_discriminators
from benben.plugins.metadata import PluginInfo


def things_view(request: Request) -> dict[str, str]:
    return {"owner": "core"}


def core_with_a_predicate_view() -> Configurator:
    config = Configurator(settings={"handle_exceptions": False})
    config.include("cornice")
    config.add_route("things", "/things")
    config.add_view(
        things_view,
        route_name="things",
        renderer="json",
        request_method="POST",
        content_type="application/json",
    )
    record_core_discriminators(config)
    config.commit()
    return config


def replace_things_view(config: Configurator) -> None:
    config.add_view(
        things_view,
        route_name="things",
        renderer="json",
        request_method="POST",
        content_type="application/json",
    )


def add_another_things_view(config: Configurator) -> None:
    config.add_view(things_view, route_name="things", renderer="json", request_method="GET")


def inline_plugin(target: object) -> PluginInfo:
    return PluginInfo(
        name="inline",
        entry_point=f"{__name__}:{getattr(target, '__name__', '?')}",
        distribution=None,
        version="1.0",
        target=target,
        location=__file__,
    )


def test_core_views_with_late_predicates_are_recorded() -> None:
    config = core_with_a_predicate_view()
    recorded = config.registry["benben.core_discriminators"]
    assert ("route", "things") in recorded


def test_replacing_a_core_view_with_a_late_predicate_is_refused() -> None:
    config = core_with_a_predicate_view()
    with pytest.raises(ConfigurationError) as caught:
        include_plugins(config, [inline_plugin(replace_things_view)])
    assert str(caught.value).startswith(
        "plugin 'inline' tries to replace core's view for route 'things' (at "
    )


def test_adding_a_view_to_a_core_route_is_allowed() -> None:
    config = core_with_a_predicate_view()
    include_plugins(config, [inline_plugin(add_another_things_view)])
    methods = {
        intr["request_methods"]
        for intr in (
            v["introspectable"] for v in config.registry.introspector.get_category("views")
        )
        if intr["route_name"] == "things"
    }
    assert methods == {"GET", "POST"}
