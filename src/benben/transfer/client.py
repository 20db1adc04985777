"""The real app, driven in process: what ``benben export`` and ``benben import`` send requests to.

Every request goes through the whole WSGI stack (execution policy, tweens, routing, ACLs, views,
pyramid_tm), so permissions, validation, events, history and caches are exactly the API's.  Two
things differ, both confined to the command's own app instance:

- rate limits are off (``benben.ratelimit.enabled`` forced false, over the ini and the
  environment): the operator moving data in bulk is not a client to throttle, and a shared
  Redis store must not spend the users' quotas either;
- a request marked as a dry run gets a transaction doomed from its start (see
  :func:`transfer_manager`): pyramid_tm then aborts it whatever the answer, so nothing is
  stored and, as events and history are written in the same transaction, none of them either.

Who the requests run as: a short-lived access token issued in process for the chosen user (as
``POST /api/v1/auth/login`` issues them), verified by the app like any other, so a user
deactivated meanwhile is refused at the next request.
"""

from __future__ import annotations

import datetime
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import transaction
from pyramid.request import Request
from pyramid_tm import explicit_manager
from webob import Request as WebRequest

from benben.router import Router

__all__ = [
    "DRY_RUN_ENVIRON_KEY",
    "Answer",
    "Caller",
    "Client",
    "TransferError",
    "build_app",
    "close_app",
    "collection_path",
    "fetch_collection",
    "find_caller",
    "prepare_config",
    "problem_message",
    "transfer_manager",
]

DRY_RUN_ENVIRON_KEY = "benben.transfer.dry_run"
BASE_URL = "http://localhost"
# The environment wins over the ini (settings' precedence): forced there, not in the settings.
RATE_LIMITS_OFF = {"BENBEN_RATELIMIT_ENABLED": "false"}
JSON_TYPE = "application/json"
# A token is issued again when less than this share of its lifetime is left: a long import
# never presents an expired one, and a JWT is not signed per request.
REISSUE_FRACTION = 0.5


class TransferError(Exception):
    """Ends an export or import: one line for the user, and the command's exit code (1: a
    failure at run time, 2: bad input)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _DoomingManager(transaction.TransactionManager):
    """Every transaction it begins is doomed: it may write, it can never commit."""

    def begin(self) -> Any:
        txn = super().begin()
        txn.doom()
        return txn


def transfer_manager(request: Request) -> transaction.TransactionManager:
    """pyramid_tm's manager hook of the command's app: a dry run's requests (and a batch's
    subrequests, which share the manager) get transactions that pyramid_tm aborts.  A hook
    rather than a commit veto: pyramid_retry replays a request from the same environ, so a
    replayed dry run is doomed again, and nothing in the request can commit it by accident."""
    if request.environ.get(DRY_RUN_ENVIRON_KEY):
        return _DoomingManager(explicit=True)
    manager: transaction.TransactionManager = explicit_manager(request)
    return manager


def prepare_config(config: Any) -> None:
    """Install the dry-run hook on a configured (committed) app's registry; pyramid_tm reads
    the hook at each request, after :mod:`benben.db` set its default."""
    config.registry.settings["tm.manager_hook"] = transfer_manager


def build_app(settings: Mapping[str, Any], *, environ: Mapping[str, str] | None = None) -> Router:
    """The command's app: the ini's settings, rate limits off, the dry-run hook; the embedded
    default's database migrated first (as ``benben serve`` would)."""
    from benben.config import configure, should_auto_migrate
    from benben.router import make_router

    environment = {**(os.environ if environ is None else environ), **RATE_LIMITS_OFF}
    config = configure(dict(settings), environ=environment)
    prepare_config(config)
    if should_auto_migrate(config.registry.settings):
        from benben.db import get_engine, migration_sources
        from benben.db.migrations import upgrade

        upgrade(get_engine(config.registry), migration_sources(config.registry))
    return make_router(config)


def close_app(app: Router) -> None:
    """Release the app's database connections."""
    from benben.db import get_engine, get_replica_engine

    for engine in (get_engine(app.registry), get_replica_engine(app.registry)):
        if engine is not None:
            engine.dispose()


@dataclass(frozen=True)
class Caller:
    """Who the requests run as."""

    user_id: str
    username: str


def find_caller(registry: Any, username: str | None) -> Caller:
    """The active user named ``username`` (username, email or id); without one, the oldest
    active administrator.  Refusals are :class:`TransferError`."""
    from sqlalchemy import select

    from benben.accounts.models import User
    from benben.accounts.services import NO_COLLECTIONS_USER, find_user
    from benben.db import session_factory

    session = session_factory(registry)()
    try:
        if username is None:
            query = (
                select(User)
                .options(*NO_COLLECTIONS_USER)
                .where(User.is_admin.is_(True), User.is_active.is_(True))
                .order_by(User.created_at, User.id)
                .limit(1)
            )
            user = session.scalars(query).first()
            if user is None:
                raise TransferError(
                    "no active administrator to run as: give --as USERNAME, or create one "
                    "with 'benben users create --admin NAME'"
                )
        else:
            user = find_user(session, username)
            if user is None:
                raise TransferError(f"no user {username!r} (see 'benben users list')")
            if not user.is_active:
                raise TransferError(
                    f"user {user.username} is deactivated (see 'benben users activate')"
                )
        return Caller(user_id=user.id, username=user.username)
    finally:
        session.rollback()
        session.close()


@dataclass
class Answer:
    """A response: its status, headers and JSON body (None when empty or not JSON)."""

    status: int
    headers: Mapping[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        return self.status < 400


class Client:
    """Requests to ``app`` as ``caller``; ``dry_run``: every write aborted."""

    def __init__(self, app: Router, caller: Caller, *, dry_run: bool = False) -> None:
        self.app = app
        self.caller = caller
        self.dry_run = dry_run
        self._token: str | None = None
        self._renew_at = datetime.datetime.min.replace(tzinfo=datetime.UTC)
        # One session id for every token of this run: a logout of it is never needed, and an
        # unknown refresh-token family is simply a live one.
        self._session_id = f"transfer-{uuid.uuid4().hex}"

    @property
    def registry(self) -> Any:
        return self.app.registry

    @property
    def settings(self) -> Mapping[str, Any]:
        settings: Mapping[str, Any] = self.app.registry.settings
        return settings

    def _authorization(self) -> str:
        from benben.security.jwt import get_token_codec

        now = datetime.datetime.now(datetime.UTC)
        if self._token is None or now >= self._renew_at:
            issued = get_token_codec(self.registry).issue(self.caller.user_id, sid=self._session_id)
            self._token = issued.token
            self._renew_at = now + datetime.timedelta(seconds=issued.expires_in * REISSUE_FRACTION)
        return f"Bearer {self._token}"

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Send one request (``path`` with its query string) through the whole app."""
        request = WebRequest.blank(path, base_url=BASE_URL, method=method)
        request.headers["Authorization"] = self._authorization()
        request.headers["Accept"] = JSON_TYPE
        for name, value in (headers or {}).items():
            request.headers[name] = value
        request.environ["REMOTE_ADDR"] = "127.0.0.1"
        if self.dry_run:
            request.environ[DRY_RUN_ENVIRON_KEY] = True
        if body is not None:
            request.body = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            request.content_type = JSON_TYPE
        response = request.get_response(self.app)
        parsed = None
        if response.body and response.content_type and response.content_type.endswith("json"):
            parsed = json.loads(response.body)
        return Answer(response.status_code, dict(response.headers), parsed)


def problem_message(answer: Answer) -> str:
    """A problem answer on one line: its errors (``name: message``), else detail or title."""
    problem = answer.body if isinstance(answer.body, dict) else {}
    errors = problem.get("errors") or []
    parts = []
    for error in errors:
        if not isinstance(error, dict):
            continue
        where = error.get("name") or error.get("pointer") or ""
        message = str(error.get("message", "invalid"))
        parts.append(f"{where}: {message}" if where else message)
    if parts:
        return "; ".join(parts)
    said = problem.get("detail") or problem.get("title") or f"HTTP {answer.status}"
    return " ".join(str(said).split())


def collection_path(collection_id: str) -> str:
    return f"/api/v1/collections/{quote(collection_id, safe='')}"


def fetch_collection(client: Client, collection_id: str) -> dict[str, Any]:
    """The collection as the caller sees it (its schema), or a refusal naming it."""
    from benben.data.validation import collection_id_valid

    if not collection_id_valid(collection_id):
        raise TransferError(
            f"{collection_id!r} is not a collection id (a-z, 0-9, _ and -, at most 64)", 2
        )
    answer = client.call("GET", collection_path(collection_id))
    if answer.status == 404:
        raise TransferError(
            f"no collection {collection_id!r} that {client.caller.username} may see "
            "(see GET /api/v1/collections)"
        )
    if not answer.ok or not isinstance(answer.body, dict):
        raise TransferError(f"collection {collection_id}: {problem_message(answer)}")
    collection: dict[str, Any] = answer.body
    return collection
