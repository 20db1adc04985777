"""A plugin registering pyramid_services services: an instance, and a factory per request."""

from __future__ import annotations

from typing import Any

from zope.interface import Interface

from benben.plugin import PluginMetadata

benben_plugin = PluginMetadata(api=1, description="Offers a greeter service.")


class IGreeter(Interface):
    """Says hello."""


class Greeter:
    def greet(self, name: str) -> str:
        return f"hello {name}"


def greeter_factory(context: Any, request: Any) -> Greeter:
    return Greeter()


def includeme(config: Any) -> None:
    config.register_service(Greeter(), IGreeter, name="shared")
    config.register_service_factory(greeter_factory, IGreeter, name="per-request")
