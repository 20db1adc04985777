"""benben.database.read_url: safe requests read a replica, every write goes to the primary.

The "replica" is the test server itself, reached through a second URL whose sessions are
read-only (``default_transaction_read_only=on``) and carry their own ``application_name``: a
statement that reaches it shows that name, and a write sent there would fail.
"""

from __future__ import annotations

import socket
import uuid

import pytest
from db_items import items, metadata
from pyramid.exceptions import ConfigurationError
from pyramid.scripting import prepare
from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from benben.accounts.models import Group
from benben.db import get_engine, get_replica_engine, use_primary
from benben.testing import postgresql_url
from benben.testing_auth import FAST_PASSWORD_HASHING

POSTGRESQL = pytest.mark.parametrize("backends", [("postgresql", "memory")], indirect=True)
SQLITE = pytest.mark.parametrize("backends", [("sqlite", "memory")], indirect=True)
WRITES = ("INSERT", "UPDATE", "DELETE", "SELECT PG_ADVISORY", "CREATE", "ALTER", "DROP")


def replica_url(backends, application_name: str, port: int | None = None) -> str:
    """The test schema's URL, read-only, named ``application_name``."""
    url = make_url(backends.database_url())
    options = f"-csearch_path={backends.schema} -cdefault_transaction_read_only=on"
    url = url.update_query_dict({"options": options, "application_name": application_name})
    if port is not None:
        url = url.set(port=port)
    return url.render_as_string(hide_password=False)


def where(session) -> dict[str, str]:
    """Which server session a plain read of ``session`` runs in."""
    row = session.execute(
        select(
            func.current_setting("application_name").label("name"),
            func.current_setting("transaction_read_only").label("read_only"),
        )
    ).one()
    return {"name": row.name, "read_only": row.read_only}


def where_view(request):
    return where(request.dbsession)


def write_in_get_view(request):
    # A GET that writes: the write must reach the primary, and what the request reads afterwards
    # must see it.
    name = request.params["name"]
    if request.params["how"] == "orm":
        # Flushed by the query's autoflush.
        request.dbsession.add(Group(name=name))
        names = request.dbsession.scalars(select(Group.name).where(Group.name.like("get-%")))
    else:
        request.dbsession.execute(insert(items).values(name=name))
        names = request.dbsession.scalars(select(items.c.name).where(items.c.name.like("get-%")))
    return {"names": sorted(names), "then": where(request.dbsession)}


def locking_read_view(request):
    request.dbsession.execute(select(items).with_for_update()).all()
    return where(request.dbsession)


def text_view(request):
    name = request.dbsession.execute(text("SELECT current_setting('application_name')"))
    return {"text": name.scalar_one(), "then": where(request.dbsession)}


def cte_view(request):
    added = insert(items).values(name="from-cte").returning(items.c.id).cte("added")
    request.dbsession.execute(select(added.c.id)).all()
    return where(request.dbsession)


def use_primary_view(request):
    use_primary(request.dbsession)
    return where(request.dbsession)


def include_views(config) -> None:
    for name, view in (
        ("where", where_view),
        ("write-in-get", write_in_get_view),
        ("locking-read", locking_read_view),
        ("text", text_view),
        ("cte", cte_view),
        ("use-primary", use_primary_view),
    ):
        config.add_route(f"test.replica.{name}", f"/test/replica/{name}")
        config.add_view(view, route_name=f"test.replica.{name}", renderer="json")


@pytest.fixture
def replica_app(backends, make_app):
    """``(app, application name of the replica, statements the replica ran)``."""
    name = f"benben-test-read-{uuid.uuid4().hex[:12]}"
    overrides = {
        "benben.database.read_url": replica_url(backends, name),
        # No cache: every read reaches a database, so where it goes shows.
        "benben.cache.backend": "null",
        **FAST_PASSWORD_HASHING,
    }
    app = make_app(overrides, include=include_views)
    registry = app.app.registry
    metadata.create_all(get_engine(registry))
    replica = get_replica_engine(registry)
    statements: list[str] = []

    @event.listens_for(replica, "before_cursor_execute")
    def record(_conn, _cursor, statement, _params, _context, _many):
        statements.append(" ".join(statement.split()).upper())

    yield app, name, statements
    replica.dispose()


def sessions_named(name: str) -> int:
    engine = create_engine(postgresql_url())
    try:
        with engine.connect() as connection:
            query = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name")
            return connection.execute(query, {"name": name}).scalar_one()
    finally:
        engine.dispose()


@POSTGRESQL
def test_the_replica_url_of_these_tests_refuses_writes(replica_app):
    # Without this, "a write routed to the replica would fail" would prove nothing.
    app, _, _ = replica_app
    replica = get_replica_engine(app.app.registry)
    with replica.connect() as connection, pytest.raises(DBAPIError, match="read-only transaction"):
        connection.execute(insert(items).values(name="x"))


@POSTGRESQL
def test_safe_requests_read_the_replica_and_others_the_primary(replica_app):
    app, name, _ = replica_app
    assert app.get("/test/replica/where").json == {"name": name, "read_only": "on"}
    assert app.head("/test/replica/where").status_code == 200
    for method in ("post", "put", "patch", "delete"):
        response = getattr(app, method)("/test/replica/where")
        assert response.json == {"name": "benben", "read_only": "off"}, method
    # The replica's pool keeps its connection: the server sees it under the replica's name.
    assert sessions_named(name) >= 1


@POSTGRESQL
@pytest.mark.parametrize("how", ["core", "orm"])
def test_a_get_that_writes_writes_the_primary_and_reads_its_own_write(replica_app, how):
    app, _, statements = replica_app
    for n in range(2):
        body = app.get("/test/replica/write-in-get", {"name": f"get-{n}", "how": how}).json
        assert body["names"] == [f"get-{i}" for i in range(n + 1)]
        assert body["then"] == {"name": "benben", "read_only": "off"}
    assert not [s for s in statements if s.startswith(WRITES)]


@POSTGRESQL
@pytest.mark.parametrize("path", ["locking-read", "cte", "use-primary"])
def test_locks_hidden_writes_and_use_primary_go_to_the_primary(replica_app, path):
    app, _, statements = replica_app
    # On the read-only replica the first two would fail (FOR UPDATE, INSERT).
    assert app.get(f"/test/replica/{path}").json == {"name": "benben", "read_only": "off"}
    assert not [s for s in statements if "FOR UPDATE" in s or "INSERT" in s]


@POSTGRESQL
def test_scripted_requests_use_the_primary(replica_app):
    # benben shell and benben users make GET requests of their own, then change what they read.
    app, _, _ = replica_app
    environment = prepare(registry=app.app.registry)
    request = environment["request"]
    request.tm.begin()
    try:
        assert where(request.dbsession) == {"name": "benben", "read_only": "off"}
    finally:
        request.tm.abort()
        environment["closer"]()


@POSTGRESQL
def test_opaque_sql_goes_to_the_primary(replica_app):
    app, _, _ = replica_app
    body = app.get("/test/replica/text").json
    assert body == {"text": "benben", "then": {"name": "benben", "read_only": "off"}}


@POSTGRESQL
def test_data_api_reads_come_from_the_replica_writes_never_do(replica_app, create_user):
    app, _, statements = replica_app
    create_user("reader")
    token = app.post_json(
        "/api/v1/auth/login", {"username": "reader", "password": "correct horse battery staple"}
    ).json["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    app.post_json("/api/v1/collections", {"id": "books"}, headers=auth, status=201)
    records = "/api/v1/collections/books/records"
    for version in range(3):
        app.put_json(f"{records}/dune", {"data": {"v": version}}, headers=auth)
    assert not [s for s in statements if "BENBEN_RECORDS" in s]  # unsafe requests: primary

    assert app.get(f"{records}/dune", headers=auth).json["data"] == {"v": 2}
    page = app.get(records, headers=auth).json
    assert [record["data"] for record in page["data"]] == [{"v": 2}]
    read = [s for s in statements if "BENBEN_RECORDS" in s]
    assert read
    assert all(s.startswith("SELECT") for s in read)
    assert not [s for s in statements if s.startswith(WRITES)]


@POSTGRESQL
def test_readiness_reports_the_replica(replica_app, backends, make_app):
    app, _, _ = replica_app
    body = app.get("/health/ready").json
    assert body["checks"]["database_replica"]["status"] == "up"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    down = make_app(
        {"benben.database.read_url": replica_url(backends, "benben-down", port=closed),
         "benben.database.connect_timeout": "1"}
    )  # fmt: skip
    try:
        body = down.get("/health/ready", status=503).json
        assert body["checks"]["database_replica"]["status"] == "down"
        assert body["checks"]["database"]["status"] == "up"
        # Reads need the replica: they are refused as a database outage is, writes still work.
        problem = down.get("/api/v1/collections", status=503).json
        assert problem["detail"] == "The database is unavailable or busy; retry shortly."
    finally:
        get_replica_engine(down.app.registry).dispose()


@POSTGRESQL
def test_no_replica_by_default_and_the_environment_sets_one(backends, make_app):
    assert "database_replica" not in make_app().get("/health/ready").json["checks"]
    url = replica_url(backends, "benben-env")
    app = make_app(environ={"BENBEN_DATABASE_READ_URL": url})
    replica = get_replica_engine(app.app.registry)
    try:
        assert replica is not None
        assert replica.url.query["application_name"] == "benben-env"
    finally:
        replica.dispose()


@POSTGRESQL
def test_the_replica_gets_its_own_application_name_unless_its_url_has_one(backends, make_app):
    url = make_url(replica_url(backends, "unused")).difference_update_query(["application_name"])
    app = make_app({"benben.database.read_url": url.render_as_string(hide_password=False)})
    replica = get_replica_engine(app.app.registry)
    try:
        with replica.connect() as connection:
            name = connection.execute(text("SELECT current_setting('application_name')"))
            assert name.scalar_one() == "benben-read"
    finally:
        replica.dispose()


@SQLITE
def test_sqlite_refuses_a_replica(make_app):
    with pytest.raises(ConfigurationError) as raised:
        make_app({"benben.database.read_url": "postgresql://u@db/replica"})
    assert str(raised.value) == (
        "benben.database.read_url is set but benben.database.url is sqlite: a read replica "
        "needs PostgreSQL (the embedded SQLite database has none); leave it empty"
    )


@POSTGRESQL
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("sqlite:///replica.sqlite", "backend 'sqlite' is not supported"),
        ("mysql://u@db/x", "backend 'mysql' is not supported"),
        ("not a url", "not a database URL"),
    ],
)
def test_a_replica_that_is_not_postgresql_is_refused(make_app, raw, message):
    with pytest.raises(ConfigurationError, match=r"benben\.database\.read_url") as raised:
        make_app({"benben.database.read_url": raw})
    assert message in str(raised.value)
