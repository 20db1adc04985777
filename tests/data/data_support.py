"""Helpers of the data API tests."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event

from benben.cache import VERSIONS_KEY
from benben.db import get_engine
from benben.testing_auth import add_user, bearer, login

COLLECTIONS = "/api/v1/collections"


@dataclass
class User:
    id: str
    username: str
    headers: dict[str, str]

    @property
    def principal(self) -> str:
        return f"user:{self.id}"


def make_user(app: Any, username: str, **fields: Any) -> User:
    user_id = add_user(app.app.registry, username, **fields)
    return User(user_id, username, bearer(login(app, username)["access_token"]))


def records_url(cid: str) -> str:
    return f"{COLLECTIONS}/{cid}/records"


def record_url(cid: str, rid: str) -> str:
    return f"{COLLECTIONS}/{cid}/records/{rid}"


def pointers(response: Any) -> list[str]:
    assert response.content_type == "application/problem+json", response.text
    return [error.get("pointer", error.get("name")) for error in response.json.get("errors") or []]


class DataQueries:
    """Counts the SQL statements reading the data tables (identity checks may query others)."""

    def __init__(self, registry: Any, engine: Any = None) -> None:
        self.engine = engine or get_engine(registry)
        self.statements: list[str] = []
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if "benben_records" in statement or "benben_collections" in statement:
            self.statements.append(statement)

    @contextlib.contextmanager
    def counting(self) -> Iterator[list[str]]:
        start = len(self.statements)
        counted: list[str] = []
        yield counted
        counted.extend(self.statements[start:])

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def subscribed(app: Any) -> Any:
    """Wait until the app's version board listens (at once with memory; Redis: a moment)."""
    board = app.app.registry[VERSIONS_KEY]
    board.current("any")  # starts a Redis board's subscription
    wait_for(lambda: board.trusted, "the version board subscribed")
    return app


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)
