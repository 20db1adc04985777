"""Changes to who may do what, made by another process on the same database, are seen by the
very next request: the auth epoch (benben.security.epoch).

A second app on the same database models the other process (``benben users`` next to a running
server, or another instance): its memory caches are its own, as another process's would be.
The real ``benben users`` process is in tests/cli/test_cli_users_revocation.py.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from benben.db import get_engine
from benben.security.epoch import epoch_watcher
from benben.security.identity import IDENTITY_CACHE_KEY
from benben.testing import eventually
from benben.testing_auth import FAST_PASSWORD_HASHING, add_user, bearer, login

# Processes sharing a database: the embedded default (SQLite file, memory caches), instances on
# PostgreSQL with private memory caches, and with Redis.
SHARED_DATABASE = pytest.mark.parametrize(
    "backends",
    [("sqlite", "memory"), ("postgresql", "memory"), ("postgresql", "redis")],
    indirect=True,
    ids=["sqlite-memory", "postgresql-memory", "postgresql-redis"],
)


@pytest.fixture
def app_settings(backends):
    return {**backends.settings(), **FAST_PASSWORD_HASHING}


@pytest.fixture
def pair(make_app, backends):
    """(server, other): two apps on one database; alice logged in and cached on the server."""
    server, other = make_app(), make_app()
    registry = server.app.registry
    add_user(registry, "admin", is_admin=True)
    alice_id = add_user(registry, "alice", groups=["staff"])
    alice = bearer(login(server, "alice")["access_token"])
    admin = bearer(login(other, "admin")["access_token"])
    # Twice: the second answer comes from the server's caches.
    for _ in range(2):
        assert server.get("/api/v1/auth/me", headers=alice).status_int == 200
    return server, other, {"alice": alice, "admin": admin, "alice_id": alice_id}


def refused(server, headers, backends, path="/api/v1/auth/me", status=401):
    """The very next request is refused; with Redis, once the announcement has arrived (it is
    in flight for microseconds: see docs/data-api.md)."""
    if backends.cache == "redis":
        return eventually(lambda: server.get(path, headers=headers, status=status))
    return server.get(path, headers=headers, status=status)


@SHARED_DATABASE
def test_deactivation_elsewhere_refuses_the_next_request(pair, backends):
    server, other, who = pair
    patch = {"is_active": False}
    other.patch_json(f"/api/v1/users/{who['alice_id']}", patch, headers=who["admin"])
    answer = refused(server, who["alice"], backends)
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


@SHARED_DATABASE
def test_a_password_set_elsewhere_ends_sessions_at_once(pair, backends):
    server, other, who = pair
    body = {"password": "another correct horse battery"}
    other.patch_json(f"/api/v1/users/{who['alice_id']}", body, headers=who["admin"])
    refused(server, who["alice"], backends)


@SHARED_DATABASE
def test_a_logout_elsewhere_is_refused_at_once(pair, backends):
    server, other, who = pair
    other.post("/api/v1/auth/logout", headers=who["alice"], status=204)
    assert refused(server, who["alice"], backends).json["detail"] == "the token has been revoked"


@SHARED_DATABASE
def test_a_user_deleted_elsewhere_is_refused_at_once(pair, backends):
    server, other, who = pair
    other.delete(f"/api/v1/users/{who['alice_id']}", headers=who["admin"], status=204)
    refused(server, who["alice"], backends)


@SHARED_DATABASE
def test_a_permission_granted_by_a_group_is_gone_at_once(pair, backends):
    server, other, who = pair
    body = {"id": "notes", "permissions": {"read": ["group:staff"]}}
    other.post_json("/api/v1/collections", body, headers=who["admin"], status=201)
    for _ in range(2):  # cached on the server, with alice's principals
        server.get("/api/v1/collections/notes", headers=who["alice"], status=200)
    groups = other.get("/api/v1/groups", headers=who["admin"]).json
    staff = next(group for group in _items(groups) if group["name"] == "staff")
    member = f"/api/v1/groups/{staff['id']}/members/{who['alice_id']}"
    other.delete(member, headers=who["admin"], status=204)
    # Hidden from her now: 404, as for any collection one may not read.
    refused(server, who["alice"], backends, "/api/v1/collections/notes", status=404)


@SHARED_DATABASE
def test_an_admin_flag_removed_elsewhere_is_gone_at_once(pair, backends):
    server, other, who = pair
    registry = server.app.registry
    add_user(registry, "bob", is_admin=True)
    bob = bearer(login(server, "bob")["access_token"])
    for _ in range(2):
        server.get("/api/v1/users", headers=bob, status=200)
    bob_id = server.get("/api/v1/auth/me", headers=bob).json["user"]["id"]
    other.patch_json(f"/api/v1/users/{bob_id}", {"is_admin": False}, headers=who["admin"])
    refused(server, bob, backends, "/api/v1/users", status=403)


@SHARED_DATABASE
def test_api_tokens_of_a_user_deactivated_elsewhere_are_refused_at_once(pair, backends):
    server, other, who = pair
    token = server.post_json(
        "/api/v1/tokens", {"name": "ci", "scopes": ["read"]}, headers=who["alice"]
    ).json
    api = bearer(token["token"])
    for _ in range(2):
        server.get("/api/v1/auth/me", headers=api, status=200)
    patch = {"is_active": False}
    other.patch_json(f"/api/v1/users/{who['alice_id']}", patch, headers=who["admin"])
    assert refused(server, api, backends).json["detail"] == (
        "the token's user is unknown or deactivated"
    )


@pytest.mark.parametrize("backends", [("sqlite", "memory")], indirect=True)
def test_on_sqlite_other_writes_cost_one_epoch_read_and_keep_identities(pair):
    """The hot path asks whether anything was written only; the epoch row is read when another
    connection committed, and unrelated writes leave the verified identities cached."""
    server, _other, who = pair
    registry = server.app.registry
    watcher = epoch_watcher(registry)
    identities = registry[IDENTITY_CACHE_KEY]
    reads, hits = watcher.reads, identities.hits
    for _ in range(5):
        server.get("/api/v1/auth/me", headers=who["alice"], status=200)
    assert (watcher.reads, identities.hits) == (reads, hits + 5)
    with get_engine(registry).begin() as connection:  # an unrelated foreign write
        connection.execute(text("UPDATE benben_users SET display_name = 'A' WHERE id = :id"),
                           {"id": who["alice_id"]})  # fmt: skip
    server.get("/api/v1/auth/me", headers=who["alice"], status=200)
    assert (watcher.reads, identities.hits) == (reads + 1, hits + 6)


@pytest.mark.parametrize("backends", [("sqlite", "memory")], indirect=True)
def test_the_watcher_closes_with_the_engine_and_reopens_on_use(pair):
    server, _other, who = pair
    registry = server.app.registry
    watcher = epoch_watcher(registry)
    get_engine(registry).dispose()
    assert watcher._connection is None
    server.get("/api/v1/auth/me", headers=who["alice"], status=200)
    assert watcher._connection is not None


@pytest.mark.parametrize(
    "backends", [("postgresql", "memory"), ("postgresql", "redis")], indirect=True
)
def test_only_the_embedded_default_watches_the_file(app):
    assert epoch_watcher(app.app.registry) is None


def test_a_rolled_back_change_does_not_advance_the_epoch(app, backends):
    import transaction

    from benben.db import SESSION_FACTORY_KEY, get_tm_session
    from benben.security.epoch import outdate_identities_after_commit, read_epoch

    registry = app.app.registry
    manager = transaction.TransactionManager(explicit=True)

    def epoch():
        with registry[SESSION_FACTORY_KEY]() as session:
            return read_epoch(session)

    before = epoch()
    for commit in (False, True):
        manager.begin()
        request = type("R", (), {})()
        request.registry, request.tm = registry, manager
        request.dbsession = get_tm_session(registry[SESSION_FACTORY_KEY], manager)
        outdate_identities_after_commit(request)
        outdate_identities_after_commit(request)  # once per transaction
        manager.commit() if commit else manager.abort()
        request.dbsession.close()
    # Advanced once (memory caches), or not at all (Redis carries it on the board).
    assert epoch() == before + (1 if backends.cache == "memory" else 0)


def _items(listing):
    return listing["data"]  # the list envelope (docs/api-conventions.md)


# A fresh, single-threaded interpreter forks: forking the threaded test process is unsafe.
_FORK_SCRIPT = """
import os, sqlite3, sys
from benben.security.epoch import DataVersionWatcher

class Board:
    learned = None
    def learn(self, counters):
        self.learned = counters["auth"]

path = sys.argv[1]
writer = sqlite3.connect(path, isolation_level=None)
writer.execute("PRAGMA journal_mode=WAL")
writer.execute("CREATE TABLE benben_auth_epoch (id INTEGER PRIMARY KEY, value INTEGER)")
writer.execute("INSERT INTO benben_auth_epoch VALUES (1, 1)")
watcher, board = DataVersionWatcher(path, 5), Board()
assert watcher.catch_up(board) and board.learned == 1
writer.execute("UPDATE benben_auth_epoch SET value = 2")  # another process's change
inherited = watcher._connection
pid = os.fork()
if pid == 0:
    child_board = Board()
    learned = watcher.catch_up(child_board) and child_board.learned == 2
    # SQLite connections must not cross a fork: the child asks on a connection of its own.
    own = watcher._connection is not None and watcher._connection is not inherited
    os._exit(0 if learned and own else 1)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, "the child did not learn the epoch afresh"
assert watcher.catch_up(board) and board.learned == 2, "the child took the parent's report"
"""


def test_a_forked_worker_watches_on_its_own_and_leaves_the_parents_reports(tmp_path):
    import subprocess
    import sys

    script = [sys.executable, "-c", _FORK_SCRIPT, str(tmp_path / "db.sqlite")]
    subprocess.run(script, check=True, timeout=60)
