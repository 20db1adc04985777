"""What the first-party plugins' code registers, measured apart from Pyramid's introspector: a
Configurator that logs every ``add_*``/``set_*`` call a plugin's own code makes, with its
arguments and call site, and what each call must show up as in the plugins' report."""

from __future__ import annotations

import linecache
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pyramid.config import Configurator

FIRST_PARTY = ("backstage", "console", "files", "webhooks")
PACKAGES = {name: f"benben_{name}" for name in FIRST_PARTY}


@dataclass(frozen=True)
class Call:
    package: str  # the plugin package whose code made the call
    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    path: str  # relative to the directory holding the package: benben_files/tasks.py
    line: int

    @property
    def source(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Spy:
    """Every call, in order; ``roots``: each plugin package's parent directory."""

    calls: list[Call] = field(default_factory=list)
    roots: dict[str, str] = field(default_factory=dict)

    def of(self, name: str) -> list[Call]:
        return [call for call in self.calls if call.package == PACKAGES[name]]


def _package_root(package: str) -> str:
    module = sys.modules[package]
    return os.path.dirname(os.path.dirname(os.path.abspath(module.__file__ or "")))


def recording_configurator(spy: Spy) -> type[Configurator]:
    """A Configurator class whose add_*/set_* calls from plugin code are logged in ``spy``
    (calls made by Benben's own directives on the plugin's behalf are not: they are details of
    the plugin's call)."""

    class Recording(Configurator):
        def __getattribute__(self, name: str) -> Any:
            found = super().__getattribute__(name)
            if not (name.startswith(("add_", "set_")) and callable(found)):
                return found
            return _recorded(spy, name, found)

        def __getattr__(self, name: str) -> Any:  # directives: Pyramid looks them up here
            found = super().__getattr__(name)
            return _recorded(spy, name, found) if callable(found) else found

    return Recording


def _recorded(spy: Spy, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        frame = sys._getframe(1)
        module = frame.f_globals.get("__name__", "")
        package = module.split(".")[0]
        if package in PACKAGES.values():
            root = spy.roots.setdefault(package, _package_root(package))
            path = os.path.relpath(os.path.abspath(frame.f_code.co_filename), root)
            spy.calls.append(Call(package, name, args, kwargs, path, frame.f_lineno))
        if hasattr(method, "__docobj__") and "_info" not in kwargs:
            # Pyramid's action methods find their caller a fixed number of frames up, which
            # this wrapper adds to: tell them the caller, as they would have found it.
            filename, line = frame.f_code.co_filename, frame.f_lineno
            source = linecache.getline(filename, line).strip()
            kwargs["_info"] = (filename, line, frame.f_code.co_name, source)
        return method(*args, **kwargs)

    return call


def dotted(obj: Any) -> str:
    target = obj if hasattr(obj, "__qualname__") else type(obj)
    return f"{target.__module__}.{target.__qualname__}"


def _methods(value: Any) -> list[str] | None:
    if value is None:
        return None
    return sorted({value} if isinstance(value, str) else set(value))


def expected(call: Call, prefix: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(group, name, details that must match) of what ``call`` registers; ``prefix``: the
    plugin's route prefix."""
    a, kw = call.args, call.kwargs
    method = call.method
    if method == "add_route":
        pattern = "/" + (prefix.rstrip("/") + "/" + a[1].lstrip("/")).lstrip("/")
        yield "routes", a[0], {"pattern": pattern}
    elif method in ("add_view", "add_exception_view"):
        details: dict[str, Any] = {"callable": dotted(a[0])}
        if method == "add_view":
            details["route"] = kw.get("route_name")
            details["methods"] = _methods(kw.get("request_method"))
            details["permission"] = kw.get("permission")
        else:
            details["context"] = dotted(kw["context"])
        yield "views", dotted(a[0]), details
    elif method == "add_cornice_service":
        service = a[0]
        yield "routes", service.name, {"pattern": service.path}
        for verb, view, options in service.definitions:
            view_name = dotted(view)
            details = {"route": service.name, "methods": [verb]}
            details["permission"] = options.get("permission")
            yield "views", view_name, details
            if options.get("permission"):
                yield "permissions", options["permission"], {}
    elif method == "add_subscriber":
        yield "subscribers", dotted(a[0]), {"interfaces": [dotted(a[1])]}
    elif method == "add_event_listener":
        yield "event_listeners", dotted(a[0]), {"event_types": list(a[1:]) or ["*"]}
    elif method == "add_task":
        yield "tasks", a[0], {"callable": dotted(a[1]), "queue": kw.get("queue") or "benben"}
    elif method == "add_periodic_task":
        yield "periodic_tasks", a[0], {"seconds": a[1]}
    elif method == "add_health_check":
        yield "health_checks", a[0], {"critical": kw.get("critical", True)}
    elif method == "add_migrations":
        location = a[0].replace(":", "/")
        yield "migrations", call.package.removeprefix("benben_"), {"location": location}
    elif method == "add_admin_page":
        yield "admin_pages", a[0], {"title": a[1], "module": a[2]}
    elif method == "add_static_assets":
        yield "static_assets", a[0], {"asset_spec": a[1]}
        yield "ratelimit_exemptions", f"/{a[0]}/", {}
    elif method == "add_record_member":
        yield "record_members", a[0], {"schema": dict(a[1])}
    elif method == "add_backup_participant":
        tables = [getattr(t, "__table__", t).name for t in a[0]]
        yield "backup_participants", call.package.removeprefix("benben_"), {"tables": tables}
    elif method == "add_api_capability":
        yield "capabilities", a[0], {"description": a[1]}
    elif method == "add_openapi_operation":
        yield "openapi_operations", f"{a[1].upper()} {a[0]}", {"route_name": a[0]}
    elif method == "add_body_limit":
        yield "body_limits", a[0], {"limit": a[1]}
    else:
        raise AssertionError(f"the spy does not know what {method} registers ({call.source})")
