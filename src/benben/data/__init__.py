"""The data API: collections of JSON records with JSON Schema validation, ACLs, list queries,
concurrency control (ETags, preconditions) and history.

REST (Cornice, under ACLs, see :mod:`.resources`): ``/api/v1/collections``,
``/api/v1/collections/{cid}``, ``/api/v1/collections/{cid}/records``,
``/api/v1/collections/{cid}/records/{rid}`` and ``/api/v1/collections/{cid}/history``.
Writes go through :mod:`.storage` and :mod:`.records` (shared with the batch endpoint) and
announce what they committed through :mod:`.announce` to the read cache (:mod:`.readcache`); list
queries through :mod:`.query` and :mod:`.sql`.  Retention: ``benben data purge``
(:mod:`.retention`).  The guide: docs/data-api.md.
"""

from __future__ import annotations

import hashlib
import hmac

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request
from pyramid.response import Response

from benben.data.announce import set_announcer
from benben.data.readcache import NEAR_CACHE_KEY, ReadCacheAnnouncer
from benben.data.storage import CollectionChangedError
from benben.data.validation import PRINCIPAL_RE
from benben.errors import problem_response

__all__ = ["includeme"]

# Derives the list cursors' HMAC key from benben.secret: a distinct key per use.
_CURSOR_KEY_LABEL = b"benben.data.cursor-key"


def _collection_changed_view(exc: CollectionChangedError, request: Request) -> Response:
    # Replayed (pyramid_retry) until the attempts ran out: the collection keeps changing.
    return problem_response(
        request,
        409,
        type="urn:benben:problem:conflict",
        detail=f"Collection {exc.args[0]} kept changing while the record was being written; retry.",
    )


def _check_collection_creators(creators: tuple[str, ...]) -> None:
    wrong = [principal for principal in creators if not PRINCIPAL_RE.fullmatch(principal)]
    if wrong:
        raise ConfigurationError(
            f"invalid value for setting benben.data.collection_creators: {', '.join(wrong)} "
            "(principals: system.Authenticated, system.Everyone, role:admin, group:<name>, "
            "user:<id>)"
        )


def includeme(config: Configurator) -> None:
    # The views (Cornice services) load when the data API is included, not whenever a module of
    # the package is imported: the models alone stay cheap to import (migrations, the CLI).
    from benben.data import collection_views, history_views, record_views

    settings = config.get_settings()
    _check_collection_creators(settings["benben.data.collection_creators"])
    secret = (settings.get("benben.secret") or "").encode()
    config.registry[record_views.CURSOR_SECRET_KEY] = hmac.new(
        secret, _CURSOR_KEY_LABEL, hashlib.sha256
    ).digest()
    for service in (
        collection_views.collections,
        collection_views.collection_item,
        record_views.records,
        record_views.record_item,
        history_views.history,
    ):
        config.add_cornice_service(service)
    from benben.data.members import add_record_member

    config.add_directive("add_record_member", add_record_member)
    config.include("benben.data.batch")
    config.include("benben.data.openapi")  # collections' schemas in the OpenAPI document
    config.add_exception_view(_collection_changed_view, context=CollectionChangedError)
    # Search: SQLite's triggers call a function of ours; PostgreSQL builds indexes in the
    # background (see .search and .search_index).
    from benben.data.search import install_sqlite_functions
    from benben.data.search_index import SEARCH_INDEX_TASK, build_search_index
    from benben.db import get_engine

    install_sqlite_functions(get_engine(config.registry))
    config.add_task(SEARCH_INDEX_TASK, build_search_index)
    # Writes announce committed versions through this (see .announce): the read cache hears.
    set_announcer(config.registry, ReadCacheAnnouncer())
    if settings["benben.data.cache.enabled"]:
        from benben.cache import version_board
        from benben.cache.process_cache import ProcessCache
        from benben.observability.metrics import get_metrics

        near = ProcessCache(
            settings["benben.data.cache.max_items"], settings["benben.data.cache.max_age"]
        )
        config.registry[NEAR_CACHE_KEY] = near
        version_board(config.registry).on_forget(near.clear)
        get_metrics(config.registry).watch_process_cache("data", near)
    config.add_api_capability(
        "collections",
        "Collections of JSON records: JSON Schema, permissions, queries, ETags, history",
        "/api/v1/collections",
    )
