"""Helpers of the restore tests: a source filled through the API, a second (empty) database
of either backend to restore into, and the tables of a database read for comparison."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import webtest
from sqlalchemy import inspect, select, text

from benben.backup.participants import backup_participants, table_columns
from benben.testing import Backends, SessionBackends, committed_session
from benben.testing_auth import add_user, bearer, login

PASSWORD = "correct horse battery staple"


@dataclass
class Target:
    """An empty database (never migrated) and the registry of an app configured on it."""

    backends: Backends
    registry: Any

    def app(self, **settings: Any) -> webtest.TestApp:
        """A new app on the target (after a restore: reads what was restored), with
        ``settings`` over the backends' ones."""
        from benben.config import configure
        from benben.router import make_router

        config = configure(
            {**self.backends.settings(), **settings},
            environ={},
            entry_points=self.backends.shared.plugin_entry_points(),
        )
        self.backends.track(config.registry)
        return webtest.TestApp(make_router(config))


@contextlib.contextmanager
def empty_target(shared: SessionBackends, tmp_path: Path, database: str) -> Iterator[Target]:
    from benben.config import configure

    backends = Backends(database, "memory", tmp_path / f"target-{uuid.uuid4().hex[:8]}", shared)
    try:
        config = configure(
            backends.settings(), environ={}, entry_points=shared.plugin_entry_points()
        )
        backends.track(config.registry)
        yield Target(backends, config.registry)
    finally:
        backends.close()


def fill(app: webtest.TestApp) -> dict[str, Any]:
    """Users, a group and its member, an API token, collections with a schema and grants,
    records with record grants, history, events, a feed consumer: what the tests then check."""
    registry = app.app.registry
    add_user(registry, "admin", PASSWORD, is_admin=True)
    add_user(registry, "alice", PASSWORD)
    add_user(registry, "bob", PASSWORD)
    admin = bearer(login(app, "admin", PASSWORD)["access_token"])
    alice = bearer(login(app, "alice", PASSWORD)["access_token"])
    group = app.post_json("/api/v1/groups", {"name": "staff"}, headers=admin).json
    bob_id = app.get("/api/v1/users", headers=admin).json["data"]
    bob_id = next(user["id"] for user in bob_id if user["username"] == "bob")
    app.put(f"/api/v1/groups/{group['id']}/members/{bob_id}", headers=admin)
    token = app.post_json("/api/v1/tokens", {"name": "ci", "scopes": ["read"]}, headers=alice).json[
        "token"
    ]
    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "t": {"type": "string"}}}
    app.post_json(
        "/api/v1/collections",
        {"id": "books", "schema": schema, "permissions": {"read": ["group:staff"]}},
        headers=alice,
    )
    records = []
    for number in range(30):
        body = {"data": {"n": number, "t": f"rëcord {number} ✓"}}
        if number % 10 == 0:
            body["permissions"] = {"read": [f"user:{bob_id}"]}
        created = app.post_json("/api/v1/collections/books/records", body, headers=alice)
        records.append(created.json["id"])
    app.put_json(
        f"/api/v1/collections/books/records/{records[1]}", {"data": {"n": 100}}, headers=alice
    )
    app.delete(f"/api/v1/collections/books/records/{records[2]}", headers=alice)
    _consume(registry, "hooks", events=5)
    return {"records": records, "token": token, "bob": bob_id, "group": group["id"]}


def _consume(registry: Any, name: str, *, events: int) -> None:
    """A durable consumer that has read the first ``events`` events of the feed."""
    from benben.events.feed import START, advance_consumer, read_events
    from benben.testing import feed_settled

    feed_settled(registry)
    with committed_session(registry) as session:
        read = read_events(session, START, limit=events)
        advance_consumer(session, name, read[-1].position)


def tables(registry: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every participant's table, rows in key order, values as the archive encodes them
    (so that SQLite's and PostgreSQL's are comparable)."""
    from benben.backup.format import encode_value, logical_type
    from benben.db import get_engine

    found = {}
    engine = get_engine(registry)
    with engine.connect() as connection:
        present = set(inspect(connection).get_table_names())
        for participant in backup_participants(registry):
            for table in participant.tables:
                if table.name not in present:
                    continue
                columns = table_columns(table)
                kinds = [logical_type(column.type) for column in columns]
                constant = [column.info.get("backup_constant") for column in columns]
                query = select(*columns).order_by(*table.primary_key.columns)
                found[table.name] = sorted(
                    (
                        tuple(
                            repr(c) if c is not None else _normal(encode_value(kind, value))
                            for kind, value, c in zip(kinds, row, constant, strict=True)
                        )
                        for row in connection.execute(query)
                    ),
                    key=repr,
                )
        connection.rollback()
    return found


def _normal(value: Any) -> Any:
    import json

    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def file_digest(path: Path) -> str | None:
    """The bytes of a file (and its -wal), or None when there is none: untouched or not."""
    if not path.exists():
        return None
    digest = hashlib.sha256(path.read_bytes())
    wal = Path(f"{path}-wal")
    if wal.exists():
        digest.update(wal.read_bytes())
    return digest.hexdigest()


def postgresql_rows(registry: Any) -> dict[str, int]:
    """Each table of the PostgreSQL schema and its rows."""
    from benben.db import get_engine

    with get_engine(registry).connect() as connection:
        names = sorted(inspect(connection).get_table_names())
        counts = {
            name: connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()  # noqa: S608
            for name in names
        }
        connection.rollback()
    return counts


def count_users(registry: Any) -> int:
    from sqlalchemy import func

    from benben.accounts.models import User

    with committed_session(registry) as session:
        return int(session.execute(select(func.count()).select_from(User)).scalar_one())
