"""Pyramid's router, with the request's properties on a class built once rather than per request.

``config.add_request_method(..., reify=True)`` (``request.dbsession``, ``request.cache``, the
identity, and whatever plugins add) makes Pyramid build a new subclass of the request class for
every request and switch the request to it.  Building a class costs more than most of what a
cached read does (about a tenth of its CPU), and every new class invalidates CPython's type
attribute cache for the whole process.  The same properties, set once on a subclass of the
request factory, behave the same: a reified value is still computed once per request and kept in
that request's ``__dict__``.

Subrequests (``request.invoke_subrequest``) still go through Pyramid's own path: their request
may be any request object, so it is given the properties the usual way.
"""

from __future__ import annotations

from typing import Any

import pyramid.router
from pyramid.config import Configurator, global_registries
from pyramid.events import ApplicationCreated
from pyramid.registry import Registry
from pyramid.threadlocal import RequestContext

__all__ = ["Router", "make_router"]


class Router(pyramid.router.Router):
    def __init__(self, registry: Registry) -> None:
        super().__init__(registry)
        factory = self.request_factory
        extensions = self.request_extensions
        # A factory function may return anything: such requests get Pyramid's way, per request.
        self._built_once = isinstance(factory, type)
        self._request_class = factory
        self._request_methods: dict[str, Any] = {}
        if not self._built_once or extensions is None:
            return
        self._request_methods = dict(extensions.methods)
        if extensions.descriptors:
            attributes = {"__module__": factory.__module__, **extensions.descriptors}
            request_class = type(factory.__name__, (factory,), attributes)
            # As Pyramid does for its per-request classes: the subclass declares exactly the
            # interfaces of its parent, so adapter lookups treat it as the parent.
            for name in ("__implemented__", "__provides__"):
                if hasattr(factory, name):
                    setattr(request_class, name, getattr(factory, name))
            self._request_class = request_class

    def request_context(self, environ: dict[str, Any]) -> RequestContext:
        if not self._built_once:
            return super().request_context(environ)
        request = self._request_class(environ)
        request.registry = self.registry
        request.invoke_subrequest = self.invoke_subrequest
        for name, method in self._request_methods.items():
            setattr(request, name, method.__get__(request, type(request)))
        return RequestContext(request)


def make_router(config: Configurator) -> Router:
    """``config.make_wsgi_app()``, with :class:`Router`: commit, build, announce."""
    config.commit()
    app = Router(config.registry)
    global_registries.add(config.registry)  # for pshell and friends, as Pyramid does
    config.begin()
    try:
        config.registry.notify(ApplicationCreated(app))
    finally:
        config.end()
    return app
