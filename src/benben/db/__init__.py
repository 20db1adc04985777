"""Database: the engine, one session per request joined to the request's transaction, migrations.

``request.dbsession`` is committed or aborted by pyramid_tm; pyramid_retry replays a request that
hit a serialization failure or deadlock (PostgreSQL) or a locked database (SQLite). With
``benben.database.read_url`` set, the reads of safe requests go to that replica
(:mod:`benben.db.replica`).
"""

from __future__ import annotations

import logging
from typing import Any

import transaction
import zope.sqlalchemy
import zope.sqlalchemy.datamanager
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request
from pyramid.response import Response
from pyramid_retry import mark_error_retryable
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from benben.db.engine import (
    READ_URL_SETTING,
    URL_SETTING,
    WRITER_OPTION,
    create_engine_from_settings,
    database_url,
)
from benben.db.meta import Base
from benben.db.migrations import MigrationSource, pending, resolve_location
from benben.db.replica import REPLICA_ENGINE_KEY, RoutingSession, use_primary
from benben.errors import problem_response, unexpected_error_view
from benben.plugins.installed import including_plugin

__all__ = [
    "Base",
    "DirectCommitError",
    "RoutingSession",
    "database_url",
    "get_engine",
    "get_replica_engine",
    "get_tm_session",
    "manage_transactions",
    "migration_sources",
    "refuse_direct_commits",
    "use_primary",
]

log = logging.getLogger(__name__)

ENGINE_KEY = "benben.db.engine"
SESSION_FACTORY_KEY = "benben.db.session_factory"
MIGRATIONS_KEY = "benben.db.migrations"
MIGRATIONS_CURRENT_KEY = "benben.db.migrations_current"


def get_engine(registry: Any) -> Engine:
    return registry[ENGINE_KEY]


def session_factory(registry: Any) -> sessionmaker[Any]:
    """The app's session factory (sessions outside a request: bind them to a transaction)."""
    return registry[SESSION_FACTORY_KEY]


def get_replica_engine(registry: Any) -> Engine | None:
    """The read replica's engine, or None when ``benben.database.read_url`` is empty."""
    return registry.get(REPLICA_ENGINE_KEY)


def migration_sources(registry: Any) -> list[MigrationSource]:
    """Core's source first, then each plugin's, in the order the plugins were included."""
    return list(registry.get(MIGRATIONS_KEY, []))


# On a session's info: the transaction manager whose transaction it joins, and the
# zope.sqlalchemy events that join it (see get_tm_session).
_MANAGER_INFO_KEY = "benben.db.transaction_manager"
_EVENTS_INFO_KEY = "benben.db.transaction_events"


class DirectCommitError(RuntimeError):
    """A session joined to a transaction manager was committed directly: its changes would
    escape the request's transaction (and its abort).  Commit the transaction instead."""


def manage_transactions(session_factory: sessionmaker[Any]) -> None:
    """Let :func:`get_tm_session` join the sessions of ``session_factory`` to a transaction
    manager, and refuse their direct commits (:func:`refuse_direct_commits`).

    zope.sqlalchemy's ``register(session)`` adds seven listeners to each session, ~350 us of
    every request.  Here the listeners are added once, to the factory, and hand each event to
    the ``ZopeTransactionEvents`` (zope.sqlalchemy's exported class, whose methods are the ones
    ``register`` listens with) that :func:`get_tm_session` puts on the session's info; a session
    without one (made outside a request) is left alone.
    """
    event.listen(session_factory, "after_begin", _after_begin)
    event.listen(session_factory, "after_attach", _after_attach)
    event.listen(session_factory, "after_flush", _after_flush)
    event.listen(session_factory, "after_bulk_update", _after_bulk_update)
    event.listen(session_factory, "after_bulk_delete", _after_bulk_delete)
    event.listen(session_factory, "do_orm_execute", _do_orm_execute)
    refuse_direct_commits(session_factory)


def _after_begin(session: Session, transaction: Any, connection: Any) -> None:
    if (events := session.info.get(_EVENTS_INFO_KEY)) is not None:
        events.after_begin(session, transaction, connection)


def _after_attach(session: Session, instance: Any) -> None:
    if (events := session.info.get(_EVENTS_INFO_KEY)) is not None:
        events.after_attach(session, instance)


def _after_flush(session: Session, flush_context: Any) -> None:
    if (events := session.info.get(_EVENTS_INFO_KEY)) is not None:
        events.after_flush(session, flush_context)


def _after_bulk_update(update_context: Any) -> None:
    if (events := update_context.session.info.get(_EVENTS_INFO_KEY)) is not None:
        events.after_bulk_update(update_context)


def _after_bulk_delete(delete_context: Any) -> None:
    if (events := delete_context.session.info.get(_EVENTS_INFO_KEY)) is not None:
        events.after_bulk_delete(delete_context)


def _do_orm_execute(orm_execute_state: Any) -> None:
    if (events := orm_execute_state.session.info.get(_EVENTS_INFO_KEY)) is not None:
        events.do_orm_execute(orm_execute_state)


def refuse_direct_commits(session_factory: sessionmaker[Any]) -> None:
    """Refuse (:class:`DirectCommitError`) a direct ``commit()`` of the sessions of
    ``session_factory`` that :func:`get_tm_session` joined to a transaction manager.
    zope.sqlalchemy refuses it with an ``assert``, gone under ``python -O``.  Its
    ``ZopeStatus`` is not documented API: bounded in pyproject.toml, contract in
    tests/db/test_db_zope_sqlalchemy_contract.py."""
    event.listen(session_factory, "before_commit", _refuse_direct_commit)


def _refuse_direct_commit(session: Session) -> None:
    manager = session.info.get(_MANAGER_INFO_KEY)
    if manager is None or session.in_nested_transaction():
        return
    if manager.get().status != zope.sqlalchemy.datamanager.ZopeStatus.COMMITTING:
        raise DirectCommitError("Transaction must be committed using the transaction manager")


def get_tm_session(
    session_factory: sessionmaker[Session],
    transaction_manager: transaction.TransactionManager,
    *,
    replica: Engine | None = None,
) -> Session:
    """A session whose commit and rollback follow ``transaction_manager`` (as in a request);
    ``session_factory`` must be one :func:`manage_transactions` prepared (the app's is).

    Joined as "changed" from the start: zope.sqlalchemy otherwise commits only after an ORM
    flush and silently rolls back Core ``insert(table)`` and ``text()`` writes. ``replica``:
    plain reads go there (the factory must make :class:`RoutingSession`).
    """
    session = session_factory() if replica is None else session_factory(replica=replica)
    if not event.contains(session_factory, "after_begin", _after_begin):
        # Its writes would never join the transaction, and be rolled back without a word.
        raise TypeError("get_tm_session() needs a factory prepared by manage_transactions()")
    session.info[_MANAGER_INFO_KEY] = transaction_manager
    session.info[_EVENTS_INFO_KEY] = zope.sqlalchemy.ZopeTransactionEvents(
        initial_state=zope.sqlalchemy.datamanager.STATUS_CHANGED,
        transaction_manager=transaction_manager,
    )
    return session


# Methods that may write: their transaction starts as a writer (BEGIN IMMEDIATE on SQLite).
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _request_dbsession(request: Request) -> Session:
    # Only safe requests may read a replica: an unsafe one reads what it is about to change.
    # And only requests served inside pyramid_tm: a scripted request (benben shell, users...)
    # is a GET too, but may read what it then changes.
    safe = request.method in _SAFE_METHODS
    served = bool(request.environ.get("tm.active"))
    replica = get_replica_engine(request.registry) if safe and served else None
    session = get_tm_session(session_factory(request.registry), request.tm, replica=replica)
    if not safe:
        engine = get_engine(request.registry)
        if engine.dialect.name == "sqlite":
            session.bind = engine.execution_options(**{WRITER_OPTION: True})
    return session


def add_migrations(config: Configurator, location: str) -> None:
    """Directive: register a directory of Alembic revisions for core or the calling plugin."""
    plugin = including_plugin(config.registry)
    if plugin is not None:
        name, table = plugin.name, plugin.version_table
    else:
        name, table = "core", "benben_version_core"
    source = MigrationSource(name, resolve_location(location), table)

    def register() -> None:
        config.registry.setdefault(MIGRATIONS_KEY, []).append(source)

    intr = config.introspectable("benben migrations", name, source.location, "benben migrations")
    intr.update(owner=name, location=source.location, version_table=table)
    config.action(("benben-migrations", name), register, introspectables=(intr,))


def check_database(request: Request) -> None:
    with get_engine(request.registry).connect() as connection:
        connection.execute(text("SELECT 1"))


def check_database_replica(request: Request) -> None:
    engine = get_replica_engine(request.registry)
    if engine is not None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))


def _replica_engine(settings: Any, primary: Engine) -> Engine | None:
    """The replica's engine when ``benben.database.read_url`` is set; only with PostgreSQL."""
    if not settings.get(READ_URL_SETTING):
        return None
    if primary.dialect.name != "postgresql":
        raise ConfigurationError(
            f"{READ_URL_SETTING} is set but {URL_SETTING} is {primary.dialect.name}: a read "
            "replica needs PostgreSQL (the embedded SQLite database has none); leave it empty"
        )
    url = database_url(settings, READ_URL_SETTING)
    if url.get_backend_name() != "postgresql":
        raise ConfigurationError(
            f"invalid value for setting {READ_URL_SETTING}: backend {url.get_backend_name()!r} "
            "is not supported (a read replica is a PostgreSQL server)"
        )
    return create_engine_from_settings(settings, READ_URL_SETTING, application_name="benben-read")


def check_migrations(request: Request) -> str | None:
    """Down while any source's schema is behind its head; once up to date, free (cached)."""
    registry = request.registry
    if registry.get(MIGRATIONS_CURRENT_KEY):
        return None
    behind = pending(get_engine(registry), migration_sources(registry))
    if behind:
        return f"schema behind for {', '.join(behind)} (run benben migrate)"
    # Migrations only move forward while the app runs: a schema found current stays current.
    registry[MIGRATIONS_CURRENT_KEY] = True
    return None


def database_error_view(exc: DBAPIError, request: Request) -> Response:
    """A database that is busy or unreachable is a 503 the client may retry, not a bug."""
    if _is_transient(exc):
        mark_error_retryable(exc)
        log.warning("transient database error (attempt will be retried if possible): %s", exc.orig)
    elif exc.connection_invalidated and exc.statement is not None:
        # A pooled connection that died (server restarted, connection dropped) failed a
        # statement: its transaction died with it, so the request may be replayed on a fresh
        # connection.  Not when COMMIT failed (no statement): it may have committed.
        mark_error_retryable(exc)
        log.warning("database connection lost (the request will be replayed): %s", exc.orig)
    elif _is_programming_error(exc):
        return unexpected_error_view(exc, request)
    else:
        log.error("database unavailable: %s", exc.orig)
    return _unavailable(request)


def pool_timeout_view(exc: SQLAlchemyTimeoutError, request: Request) -> Response:
    """Every pooled connection busy for ``benben.database.pool_timeout``: overloaded, not broken."""
    log.error("no database connection available: %s", exc)
    return _unavailable(request)


def _unavailable(request: Request) -> Response:
    return problem_response(
        request,
        503,
        detail="The database is unavailable or busy; retry shortly.",
        headers={"Retry-After": "1"},
    )


def _is_transient(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    if sqlstate.startswith("40"):  # PostgreSQL: serialization failure, deadlock
        return True
    message = str(exc.orig).lower()
    return "database is locked" in message or "database table is locked" in message


# sqlite3 reports mistakes in the SQL itself as OperationalError too; those are bugs (500).
_SQLITE_PROGRAMMING_ERRORS = ("no such table", "no such column", "syntax error", "has no column")


def _is_programming_error(exc: DBAPIError) -> bool:
    if exc.orig is None or type(exc.orig).__module__ != "sqlite3":
        return False
    message = str(exc.orig).lower()
    return any(marker in message for marker in _SQLITE_PROGRAMMING_ERRORS)


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    # pyramid_tm would resolve the identity inside its tween to annotate the transaction: a
    # refused credential or a locked database there escapes the exception views as a 500.
    settings["tm.annotate_user"] = False
    settings["retry.attempts"] = settings["benben.database.retry_attempts"]
    config.include("pyramid_tm")
    config.include("pyramid_retry")

    engine = create_engine_from_settings(settings)
    config.registry[ENGINE_KEY] = engine
    session_factory = sessionmaker(bind=engine, class_=RoutingSession)
    manage_transactions(session_factory)
    config.registry[SESSION_FACTORY_KEY] = session_factory
    replica = _replica_engine(settings, engine)
    if replica is not None:
        config.registry[REPLICA_ENGINE_KEY] = replica
    config.add_request_method(_request_dbsession, "dbsession", reify=True)

    config.add_directive("add_migrations", add_migrations)
    config.add_migrations("benben.db:versions")
    config.add_health_check("database", check_database)
    config.add_health_check("migrations", check_migrations)
    if replica is not None:
        config.add_health_check("database_replica", check_database_replica)
    config.add_exception_view(database_error_view, context=OperationalError)
    config.add_exception_view(pool_timeout_view, context=SQLAlchemyTimeoutError)
