"""The data API: collections of JSON records with JSON Schema validation, ACLs, list queries,
concurrency control (ETags, preconditions) and history.

REST (Cornice, under ACLs, see :mod:`.resources`): ``/api/v1/collections``,
``/api/v1/collections/{cid}``, ``/api/v1/collections/{cid}/records``,
``/api/v1/collections/{cid}/records/{rid}`` and ``/api/v1/collections/{cid}/history``.
Writes go through :mod:`.storage` and :mod:`.records` (shared with the batch endpoint); list
queries through :mod:`.query` and :mod:`.sql`.  Retention: ``benben data purge``
(:mod:`.retention`).  The guide: docs/data-api.md.
"""

from __future__ import annotations

import hashlib
import hmac

from pyramid.config import Configurator

__all__ = ["includeme"]

# Derives the list cursors' HMAC key from benben.secret: a distinct key per use.
_CURSOR_KEY_LABEL = b"benben.data.cursor-key"


def includeme(config: Configurator) -> None:
    from benben.data import collection_views, history_views, record_views

    settings = config.get_settings()
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
    config.include("benben.data.batch")
    config.add_api_capability(
        "collections",
        "Collections of JSON records: JSON Schema, permissions, queries, ETags, history",
        "/api/v1/collections",
    )
