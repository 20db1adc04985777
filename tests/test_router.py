"""The router builds the request class once; the request's properties behave as Pyramid's."""

from __future__ import annotations

import itertools

import webtest
from pyramid.config import Configurator
from pyramid.interfaces import IRequest
from pyramid.request import Request

from benben.router import Router, make_router


def make_app(request_factory=None) -> tuple[webtest.TestApp, list]:
    seen: list = []
    counter = itertools.count()
    config = Configurator(request_factory=request_factory)
    config.add_request_method(lambda request: next(counter), "once", reify=True)
    config.add_request_method(lambda request: next(counter), "each_time", property=True)
    config.add_request_method(lambda request, x: (request.path, x), "echo")

    def view(request):
        seen.append(request)
        return {
            "once": [request.once, request.once],
            "each_time": [request.each_time, request.each_time],
            "echo": list(request.echo(1)),
            "provides_irequest": IRequest.providedBy(request),
        }

    def outer(request):
        sub = Request.blank("/inner")  # a plain request, as plugins make them
        return {"inner": request.invoke_subrequest(sub).json}

    config.add_route("inner", "/inner")
    config.add_view(view, route_name="inner", renderer="json")
    config.add_route("outer", "/outer")
    config.add_view(outer, route_name="outer", renderer="json")
    app = make_router(config)
    assert isinstance(app, Router)
    return webtest.TestApp(app), seen


def test_requests_share_one_class_with_the_properties():
    app, seen = make_app()
    first = app.get("/inner").json
    second = app.get("/inner").json
    assert type(seen[0]) is type(seen[1])
    assert issubclass(type(seen[0]), Request)
    once_first, once_second = first["once"], second["once"]
    assert once_first[0] == once_first[1]  # reified: computed once per request...
    assert once_second[0] == once_second[1]
    assert once_first != once_second  # ...and anew for the next request
    assert first["each_time"][0] != first["each_time"][1]  # a property: every access
    assert first["echo"] == ["/inner", 1]
    assert first["provides_irequest"] is True


def test_subrequests_get_the_properties_too():
    app, _ = make_app()
    inner = app.get("/outer").json["inner"]
    assert inner["once"][0] == inner["once"][1]
    assert inner["echo"] == ["/inner", 1]


def test_a_factory_function_gets_pyramids_way():
    def factory(environ):
        return Request(environ)

    app, seen = make_app(request_factory=factory)
    first = app.get("/inner").json
    app.get("/inner")
    assert first["once"][0] == first["once"][1]
    assert first["echo"] == ["/inner", 1]
    assert type(seen[0]) is not type(seen[1])  # Pyramid builds a class per request
