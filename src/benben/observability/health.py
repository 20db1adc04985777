"""Health: ``/health/live`` touches nothing; ``/health/ready`` runs every registered check.

Checks come from ``config.add_health_check(name, check)`` (core's and plugins' alike).  They run in
parallel, each with a deadline, so one hung dependency cannot hang the probe.

A failing check makes the instance not ready (503), unless it is non-critical (registered with
``critical=False``, or named in ``benben.health.noncritical``; by default the cache): requests are
served without what it checks, so the instance stays ready (200) and reports itself
``degraded``. Taking every instance out of the load balancer because a shared cache is down would
turn a slower service into no service.

What a check says when it fails (the exception text: hosts, ports, database names, paths) is not
for everyone: each failed check is reported with a stable reason code (``timeout``,
``unreachable``, ``error``, ``failed``) and its ``message`` is shown only to callers allowed to see
details (:func:`may_see_details`: an administrator, or the holder of ``benben.metrics.token``).
The message is always logged, once per failed check and probe, with the probe's request id.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request
from pyramid.response import Response
from sqlalchemy.exc import DBAPIError

from benben.errors import problem_response
from benben.observability.metrics_view import ACCESS_KEY, MetricsAccess
from benben.plugins.installed import including_plugin
from benben.security.permissions import ADMIN
from benben.security.resources import Root

CHECKS_KEY = "benben.health.checks"
EXECUTOR_KEY = "benben.health.executor"

# Guards the lazy creation of a registry's executor (a lock is not registry state).
_EXECUTOR_LOCK = threading.Lock()

HealthCheck = Callable[[Request], str | None]

log = logging.getLogger(__name__)

# The reason codes a failed check is reported with: stable, and saying nothing about the setup.
TIMEOUT = "timeout"  # no answer within benben.health.timeout
UNREACHABLE = "unreachable"  # raised an error connecting to (or talking to) what it checks
ERROR = "error"  # raised another exception
FAILED = "failed"  # returned a message: what it checks answered, but is not right
REASONS = (TIMEOUT, UNREACHABLE, ERROR, FAILED)
# Exception classes (by name, anywhere in the class hierarchy: redis', requests', builtins...)
# that mean the dependency could not be reached.
_UNREACHABLE_NAMES = frozenset({"ConnectionError", "TimeoutError", "DisconnectionError"})


@dataclass(frozen=True)
class RegisteredCheck:
    name: str
    check: HealthCheck
    owner: str
    critical: bool = True


def add_health_check(
    config: Configurator, name: str, check: HealthCheck, *, critical: bool = True
) -> None:
    """Directive. ``check(request)`` raises, or returns a message, when what it checks is down.

    ``critical=False``: the app serves requests without it, so its failure reports the instance
    degraded but leaves it ready."""
    try:
        check = config.maybe_dotted(check)  # a dotted name is accepted too
    except (ImportError, ValueError):
        check = None
    if not name or not callable(check):
        raise ConfigurationError("add_health_check needs a name and a callable")
    plugin = including_plugin(config.registry)
    owner = plugin.name if plugin is not None else "core"

    def register() -> None:
        checks = config.registry.setdefault(CHECKS_KEY, {})
        checks[name] = RegisteredCheck(name, check, owner, critical)

    intr = config.introspectable("benben health checks", name, name, "benben health check")
    intr["owner"] = owner
    intr["critical"] = critical
    config.action(("benben-health-check", name), register, introspectables=(intr,))


def health_checks(registry: Any) -> dict[str, RegisteredCheck]:
    """Every check registered with ``config.add_health_check``, by name."""
    return dict(registry.get(CHECKS_KEY, {}))


def _run(check: RegisteredCheck, request: Request) -> tuple[str | None, str | None, float]:
    """(reason, message, milliseconds): no reason when the check passed."""
    started = time.perf_counter()
    reason: str | None = None
    try:
        message = check.check(request)
        if message:
            reason = FAILED
    except Exception as exc:
        reason = _reason(exc)
        message = f"{type(exc).__name__}: {exc}".strip()
    return reason, message or None, (time.perf_counter() - started) * 1000


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):  # ConnectionRefusedError, socket.timeout, ...
        return UNREACHABLE
    if isinstance(exc, DBAPIError) and (exc.statement is None or exc.connection_invalidated):
        # No statement: connecting failed (refused, unknown host, a SQLite file it cannot open).
        # A statement that failed (no such table) is an error of what is there, not unreachable.
        return UNREACHABLE
    if any(cls.__name__ in _UNREACHABLE_NAMES for cls in type(exc).__mro__):
        return UNREACHABLE
    return ERROR


def run_checks(request: Request, details: bool = False) -> dict[str, dict[str, Any]]:
    """Each check's result: ``status`` up, down (critical) or degraded (non-critical, failed),
    with a ``reason`` when it failed; its ``message`` too when ``details``.  Every failure's
    message is logged (in this thread: with the request's id)."""
    registry = request.registry
    checks = health_checks(registry)
    timeout = float(registry.settings["benben.health.timeout"])
    noncritical = set(registry.settings.get("benben.health.noncritical") or ())
    executor, in_flight = _executor(registry)
    futures = {}
    for name, check in checks.items():
        # A check still hanging from an earlier probe is waited for again, not started again:
        # probes every few seconds must not pile hung calls up until the pool is exhausted.
        future = in_flight.get(name)
        if future is None or future.done():
            future = in_flight[name] = executor.submit(_run, check, request)
        futures[future] = name
    done, _ = concurrent.futures.wait(futures, timeout=timeout)
    results: dict[str, dict[str, Any]] = {}
    for future, name in futures.items():
        critical = checks[name].critical and name not in noncritical
        failed = "down" if critical else "degraded"
        entry: dict[str, Any]
        if future not in done:
            reason, message = TIMEOUT, f"no answer within {timeout:g}s"
            entry = {"status": failed, "reason": reason}
        else:
            reason, message, elapsed = future.result()
            entry = {"status": failed if reason else "up", "duration_ms": round(elapsed, 2)}
            if reason:
                entry["reason"] = reason
        if reason:
            log.warning("readiness check %s is %s (%s): %s", name, failed, reason, message)
            if details:
                entry["message"] = message
        if not critical:
            entry["critical"] = False
        results[name] = entry
    return dict(sorted(results.items()))


def may_see_details(request: Request) -> bool:
    """Whether the caller may read why checks failed: an administrator (a session of an admin,
    or an API token with the admin scope), or a caller presenting ``benben.metrics.token``
    (which needs no database: it works during the outage it is asked about).  Not anyone from
    ``benben.metrics.allowed_networks``: a load balancer's or a proxy's clients come from there."""
    if not request.environ.get("HTTP_AUTHORIZATION"):
        return False  # probes: no credential to verify
    access: MetricsAccess | None = request.registry.get(ACCESS_KEY)
    if access is not None and access.token_presented(request):
        return True
    try:
        return bool(request.has_permission(ADMIN, Root(request)))
    except Exception:  # a refused credential, or one that cannot be verified (database down)
        return False


def _executor(
    registry: Any,
) -> tuple[concurrent.futures.ThreadPoolExecutor, dict[str, concurrent.futures.Future[Any]]]:
    with _EXECUTOR_LOCK:
        if EXECUTOR_KEY not in registry:
            registry[EXECUTOR_KEY] = (
                concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="health"),
                {},
            )
        return registry[EXECUTOR_KEY]


def live_view(request: Request) -> dict[str, str]:
    return {"status": "ok"}


def _listed(results: dict[str, dict[str, Any]], names: list[str]) -> str:
    return ", ".join(f"{name} ({results[name]['reason']})" for name in names)


def ready_view(request: Request) -> Response | dict[str, Any]:
    results = run_checks(request, details=True)
    # Asked only when there is something to hide: a healthy probe never looks a credential up.
    if any("message" in result for result in results.values()) and not may_see_details(request):
        for result in results.values():
            result.pop("message", None)
    down = [name for name, result in results.items() if result["status"] == "down"]
    degraded = [name for name, result in results.items() if result["status"] == "degraded"]
    if down:
        detail = "Down: " + _listed(results, down)
        if degraded:
            detail += "; degraded: " + _listed(results, degraded)
        return problem_response(
            request,
            503,
            title="Not ready",
            detail=detail,
            checks=results,
            headers={"Cache-Control": "no-store"},
        )
    request.response.headers["Cache-Control"] = "no-store"
    return {"status": "degraded" if degraded else "ok", "checks": results}


_CHECK_RESULTS = {
    "type": "object",
    "description": "Every registered check, by name.",
    "additionalProperties": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {
                "enum": ["up", "down", "degraded"],
                "description": "degraded: a non-critical check failed; the instance serves "
                "without what it checks.",
            },
            "duration_ms": {"type": "number", "minimum": 0},
            "reason": {
                "enum": list(REASONS),
                "description": "Why it failed, without details: timeout (no answer in time), "
                "unreachable (could not connect), error (raised an error), failed (answered "
                "that something is wrong).",
            },
            "message": {
                "type": "string",
                "description": "What failed, in words (hosts, names...): shown to "
                "administrators and to holders of the metrics token only; always logged.",
            },
            "critical": {
                "const": False,
                "description": "Present on non-critical checks (registered so, or named in "
                "`benben.health.noncritical`).",
            },
        },
        "additionalProperties": False,
    },
}
LIVENESS = {
    "title": "Liveness",
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"const": "ok"}},
    "additionalProperties": False,
}
READINESS = {
    "title": "Readiness",
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {
            "enum": ["ok", "degraded"],
            "description": "degraded: a non-critical check failed (the instance is still ready).",
        },
        "checks": _CHECK_RESULTS,
    },
    "additionalProperties": False,
}
NOT_READY = {
    "title": "NotReadyProblem",
    "allOf": [
        {"$ref": "#/components/schemas/Problem"},
        {
            "type": "object",
            "required": ["checks"],
            "properties": {"status": {"const": 503}, "checks": _CHECK_RESULTS},
        },
    ],
}


def includeme(config: Configurator) -> None:
    from benben.openapi.operations import add_openapi_operation
    from benben.rest import Response as Documented

    config.add_directive("add_health_check", add_health_check)
    config.add_route("health.live", "/health/live")
    config.add_route("health.ready", "/health/ready")
    config.add_view(live_view, route_name="health.live", renderer="json", request_method="GET")
    config.add_view(ready_view, route_name="health.ready", renderer="json", request_method="GET")
    add_openapi_operation(
        config,
        "health.live",
        "GET",
        operation_id="getLiveness",
        tags=["operations"],
        summary="Liveness probe",
        description="Answers as long as the process serves requests; touches no dependency, so "
        "an outage elsewhere never gets the process restarted.",
        responses={200: Documented("Alive.", LIVENESS)},
    )
    no_store = {"Cache-Control": "`no-store`: probe results are never cached."}
    add_openapi_operation(
        config,
        "health.ready",
        "GET",
        operation_id="getReadiness",
        tags=["operations"],
        summary="Readiness probe",
        description="Runs every registered health check (core's and plugins') in parallel, "
        "each within `benben.health.timeout` seconds; ready when every critical check is up. "
        "A failed non-critical check (`benben.health.noncritical`, by default the cache) leaves "
        "the instance ready and reports it `degraded`. A failed check has a `reason` code; "
        "its `message` (what failed, in words) is shown to administrators and to callers "
        "presenting `benben.metrics.token` only, and always logged.",
        responses={
            200: Documented(
                "Every critical check is up (`status` is `degraded` when a non-critical one "
                "failed).",
                READINESS,
                no_store,
            ),
            503: Documented(
                "A critical check is down: `detail` names it and its reason, `checks` has "
                "them all.",
                NOT_READY,
                no_store,
                media_type="application/problem+json",
            ),
        },
    )
