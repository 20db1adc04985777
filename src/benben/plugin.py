"""The public API for plugin authors: the only Benben module a plugin needs to import.

A plugin is a distribution with an entry point in the ``benben.plugins`` group naming a module
(or callable) that Pyramid can ``config.include``; the module declares what it is written for::

    from benben.plugin import PLUGIN_API_LEVEL, PluginMetadata, Setting, as_int

    benben_plugin = PluginMetadata(
        api=1,  # the plugin API level it was written for: refused by a core that lacks it
        settings=[Setting("benben.myplugin.page_size", as_int(1, 500), 50, "Items per page.")],
    )

    def includeme(config):
        settings = plugin_settings(config)   # {"page_size": 50}
        config.add_route("things", "/things")          # served under /myplugin/things

Everything exported here (``__all__``), the directives Benben adds to the Configurator, the
``benben_*`` pytest fixtures and the entry point groups are the stable plugin API: see
docs/plugin-api.md for the list, what each does, and the deprecation policy;
docs/writing-plugins.md for how to write a plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.router import Router

from benben.admin_pages import AdminPage, admin_pages
from benben.backup.participants import BackupFile, BackupFiles
from benben.cache.service import ICacheService
from benben.cli.common import CommandError, add_ini_argument
from benben.deprecation import Deprecation
from benben.errors import problem_response
from benben.events.event import EVENT_TYPES, START, Event, FeedGapError, FeedPosition
from benben.events.feed import (
    advance_consumer,
    consumer_position,
    latest_position,
    read_events,
)
from benben.events.feed import publish as publish_event
from benben.listing import (
    Listing,
    ListParams,
    Page,
    fetch_page,
    invalid_parameter,
    list_envelope,
    list_response,
    list_schema,
)
from benben.plugins.compat import PLUGIN_API_LEVEL, BenbenDeprecationWarning
from benben.plugins.installed import enabled_plugins, including_plugin
from benben.plugins.metadata import PluginInfo, PluginMetadata
from benben.rest import Parameter, Response, Service
from benben.security.permissions import CHANGE_PERMISSIONS, CREATE, READ, WRITE
from benben.security.principals import ADMIN_ROLE, user_principal
from benben.settings import Setting, as_bool, as_choice, as_float, as_int, as_list, as_str
from benben.timestamps import as_utc, iso
from benben.worker.tasks import TaskContext, TaskFunction, enqueue_task

if TYPE_CHECKING:
    from pathlib import Path

    from prometheus_client import CollectorRegistry

    from benben.data.members import CollectionContext, RecordContext
    from benben.data.snapshots import RecordSnapshot
    from benben.db.meta import Base

__all__ = [
    "ADMIN_ROLE",
    "CHANGE_PERMISSIONS",
    "CREATE",
    "EVENT_TYPES",
    "PLUGIN_API_LEVEL",
    "READ",
    "START",
    "WRITE",
    "AdminPage",
    "BackupFile",
    "BackupFiles",
    "Base",
    "BenbenDeprecationWarning",
    "CollectionContext",
    "CommandError",
    "ConfigurationError",
    "Configurator",
    "Deprecation",
    "Event",
    "FeedGapError",
    "FeedPosition",
    "HealthCheck",
    "ICacheService",
    "ListParams",
    "Listing",
    "Page",
    "Parameter",
    "PluginInfo",
    "PluginMetadata",
    "RecordContext",
    "Registry",
    "Request",
    "Response",
    "Router",
    "Service",
    "Setting",
    "TaskContext",
    "TaskFunction",
    "add_ini_argument",
    "admin_pages",
    "advance_consumer",
    "as_bool",
    "as_choice",
    "as_float",
    "as_int",
    "as_list",
    "as_str",
    "as_utc",
    "command_app",
    "consumer_position",
    "core_version",
    "current_plugin",
    "data_directory",
    "enabled_plugins",
    "enqueue_task",
    "fetch_page",
    "instance_errors",
    "invalid_parameter",
    "iso",
    "latest_position",
    "list_envelope",
    "list_response",
    "list_schema",
    "live_collections",
    "live_records",
    "metrics_registry",
    "openapi_document",
    "plugin_settings",
    "problem_response",
    "public_url",
    "publish_event",
    "read_events",
    "record_member",
    "schema_errors",
    "set_record_member",
    "use_primary",
    "user_may_read",
    "user_principal",
]

HealthCheck = Callable[[Request], str | None]


def __getattr__(name: str) -> Any:
    # Base brings in SQLAlchemy and the database package (~1.5 s): imported when a plugin asks
    # for it, so that plugins' commands do not slow down every `benben` command.
    if name == "Base":
        from benben.db.meta import Base

        return Base
    if name in ("RecordContext", "CollectionContext"):
        from benben.data import members

        return getattr(members, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def current_plugin(config: Configurator) -> PluginInfo:
    """The plugin whose ``includeme`` is running; ConfigurationError outside of one."""
    plugin = including_plugin(config.registry)
    if plugin is None:
        raise ConfigurationError("current_plugin() called outside of a Benben plugin's includeme")
    return plugin


def plugin_settings(config: Configurator) -> Mapping[str, Any]:
    """This plugin's settings (its own namespace only), ``benben.<plugin>.`` stripped."""
    prefix = current_plugin(config).namespace
    settings = config.get_settings()
    return {key[len(prefix) :]: value for key, value in settings.items() if key.startswith(prefix)}


def openapi_document(request: Request) -> dict[str, Any]:
    """This instance's OpenAPI 3.1 document as ``GET /api/v1/openapi.json`` serves it: core's
    and every plugin's operations, and each collection's schema.  Do not modify it."""
    from benben.openapi.document import document

    return document(request)


def metrics_registry(registry: Registry) -> CollectorRegistry | None:
    """The app's Prometheus registry, which ``GET /metrics`` serves: a plugin registers its own
    metrics there (``Counter(..., registry=metrics_registry(config.registry))``).  None when
    ``benben.metrics.enabled = off``; prometheus_client then leaves such a metric unregistered,
    which is the no-op wanted."""
    from benben.observability.metrics import get_metrics

    return get_metrics(registry).registry


def core_version() -> str:
    """The version of Benben's core that is running."""
    from benben.version import __version__

    return __version__


def public_url(request: Request) -> str:
    """The URL clients reach this instance at, without a trailing slash: ``benben.public_url``
    when set, else the one this request came in on (``X-Forwarded-*`` honoured only from
    trusted proxies)."""
    configured = str(request.registry.settings.get("benben.public_url") or "").strip()
    return configured.rstrip("/") or request.application_url


def use_primary(request: Request) -> None:
    """Make the rest of this request read the primary database, not the read replica
    (``benben.database.read_url``): call it in a GET before reading what it will write back.
    Writes always go to the primary; without a replica this does nothing."""
    from benben.db import use_primary as use_primary_session

    use_primary_session(request.dbsession)


def user_may_read(
    session: Any,
    user_id: str,
    collection_id: str,
    record_id: str | None = None,
    *,
    former: Mapping[str, Any] | None = None,
) -> bool:
    """Whether the user ``user_id`` may read, now, the collection (``record_id``: that record of
    it) as ``GET`` would allow them: for work done on a user's behalf outside of their request
    (a webhook's delivery).  Their current principals (active, administrator, groups) against
    the collection's and record's ACLs.  ``former``: a deleted collection's last fields
    (``permissions``, ``created_by``), else a missing collection is readable by nobody.  See
    :mod:`benben.data.visibility`."""
    from benben.data.visibility import user_may_read as may_read

    return may_read(session, user_id, collection_id, record_id, former=former)


def data_directory(registry: Registry) -> Path:
    """The instance's data directory (``benben.data_dir``, absolute): where a plugin keeps
    its local state by default (the files plugin's local storage)."""
    from pathlib import Path

    return Path(registry.settings["benben.data_dir"])


def set_record_member(
    request: Request, context: RecordContext, name: str, value: Any
) -> RecordSnapshot:
    """Set the member ``name`` (``config.add_record_member``) of the context's live record to
    ``value`` (None removes it) in the request's transaction: a change of the record (new
    ``last_modified``, the collection's version, a history entry, ``record.updated``).  When the
    record changed since the context read it, the whole request is replayed, as any record
    write's: what the view did before must be safe to do again.  The record as written."""
    from benben.data.members import set_record_member as set_member

    return set_member(request, context, name, value)


def record_member(record: Any, name: str) -> Any:
    """The member ``name`` of a record (``context.record``), None when it has none."""
    from benben.data.members import record_member as member

    return member(record, name)


def live_records(session: Any, collection_id: str, record_ids: Iterable[str]) -> set[str]:
    """Which of ``record_ids`` are live records of the collection (neither deleted nor gone with
    their collection): for a plugin cleaning up what it keeps per record."""
    from benben.data.members import live_records as live

    return live(session, collection_id, record_ids)


def live_collections(session: Any, collection_ids: Iterable[str]) -> set[str]:
    """Which of ``collection_ids`` exist: for a plugin cleaning up what it keeps per
    collection."""
    from benben.data.members import live_collections as live

    return live(session, collection_ids)


def schema_errors(schema: Any, prefix: tuple[Any, ...] = ("schema",)) -> list[dict[str, str]]:
    """Why ``schema`` cannot be used as a JSON Schema in Benben (the dialects and safe
    patterns of collections' schemas): ``{"location", "pointer", "message"}`` entries with
    pointers under ``prefix``; empty when it can."""
    from benben.data.schema_safety import collection_schema_errors

    return collection_schema_errors(schema, prefix)


def instance_errors(
    schema: Any, instance: Any, prefix: tuple[Any, ...] = ()
) -> list[dict[str, str]]:
    """How ``instance`` violates ``schema`` (checked first with :func:`schema_errors`), in the
    words and pointers (under ``prefix``) of record validation errors; empty when it is valid."""
    from benben.data.record_schema import data_errors
    from benben.jsonschemas import make_validator

    return data_errors(make_validator(schema), instance, prefix)


@contextmanager
def command_app(ini: str | None) -> Iterator[Router]:
    """For a plugin's command: the WSGI app ``benben serve`` would run with this ini file
    (``None``: the embedded defaults) and the ``BENBEN_*`` environment, not serving.

    Settings, core and the enabled plugins are configured (``app.registry``), and the embedded
    database is migrated as at start-up; ``ApplicationCreated`` is not notified, so nothing a
    plugin starts with the server runs.  Database connections are closed on exit.
    """
    from benben.cli.common import read_app_settings
    from benben.config import configure, should_auto_migrate
    from benben.db import get_engine, migration_sources
    from benben.db.migrations import upgrade

    registry = configure(read_app_settings(ini)).registry
    engine = get_engine(registry)
    try:
        if should_auto_migrate(registry.settings):
            upgrade(engine, migration_sources(registry))
        yield Router(registry)
    finally:
        engine.dispose()
