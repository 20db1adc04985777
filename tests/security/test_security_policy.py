"""The security policy: identity once per request, cached principals, scopes, 401 vs 403."""

from __future__ import annotations

import logging

import pytest
from pyramid.authorization import Allow, Authenticated, Everyone

from benben.security.permissions import (
    ADMIN,
    ALL_PERMISSIONS,
    CREATE,
    READ,
    SCOPE_PERMISSIONS,
    WRITE,
    scopes_allow,
)
from benben.security.principals import (
    ADMIN_ROLE,
    AUTHENTICATED,
    EVERYONE,
    group_principal,
    principals_cache_key,
    user_principal,
)

FAST_HASHING = {
    "benben.auth.argon2_time_cost": "1",
    "benben.auth.argon2_memory_cost": "64",
    "benben.auth.argon2_parallelism": "1",
}
PASSWORD = "correct horse battery staple"


def test_fixed_names():
    assert (READ, WRITE, CREATE, ADMIN) == ("read", "write", "create", "admin")
    assert Everyone == EVERYONE
    assert Authenticated == AUTHENTICATED
    assert ADMIN_ROLE == "role:admin"
    assert user_principal("42") == "user:42"
    assert group_principal("staff") == "group:staff"
    assert "some.plugin.permission" in ALL_PERMISSIONS
    assert SCOPE_PERMISSIONS["admin"] is ALL_PERMISSIONS


def test_scopes_allow():
    assert scopes_allow(None, "anything")
    assert scopes_allow(frozenset({"read"}), READ)
    assert not scopes_allow(frozenset({"read"}), WRITE)
    assert scopes_allow(frozenset({"write"}), CREATE)
    assert not scopes_allow(frozenset({"write"}), ADMIN)
    assert scopes_allow(frozenset({"admin"}), "plugin.export")
    assert not scopes_allow(frozenset({"read", "write"}), "plugin.export")
    assert not scopes_allow(frozenset(), READ)
    assert not scopes_allow(frozenset({"bogus"}), READ)


class Members:
    __acl__ = [(Allow, group_principal("staff"), READ)]

    def __init__(self, request):
        pass


def whoami(request):
    identity = request.identity
    return {
        "principals": sorted(identity.principals) if identity else None,
        "user": request.user.username if request.user is not None else None,
    }


def probe_routes(config):
    config.add_route("whoami", "/test/whoami")
    config.add_view(whoami, route_name="whoami", renderer="json")
    config.add_route("staff", "/test/staff", factory=Members)
    config.add_view(lambda request: {"ok": True}, route_name="staff", renderer="json",
                    permission=READ)  # fmt: skip


@pytest.fixture
def app(make_app):
    return make_app(FAST_HASHING, include=probe_routes)


def add_user(registry, username, **fields):
    import transaction

    from benben.accounts.models import Group, User
    from benben.db import SESSION_FACTORY_KEY, get_tm_session
    from benben.security import get_password_hasher

    groups = fields.pop("groups", [])
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        session = get_tm_session(registry[SESSION_FACTORY_KEY], manager)
        user = User(username=username, password_hash=get_password_hasher(registry).hash(PASSWORD),
                    **fields)  # fmt: skip
        user.groups = [Group(name=name) for name in groups]
        session.add(user)
        session.flush()
        return user.id


def token_for(app, username):
    body = {"username": username, "password": PASSWORD}
    access = app.post_json("/api/v1/auth/login", body).json["access_token"]
    return {"Authorization": f"Bearer {access}"}


def test_principals_of_an_admin_in_groups(app):
    registry = app.app.registry
    user_id = add_user(registry, "root", is_admin=True, groups=["staff", "ops"])
    body = app.get("/test/whoami", headers=token_for(app, "root")).json
    assert body["principals"] == sorted(
        {Everyone, Authenticated, f"user:{user_id}", "group:staff", "group:ops", "role:admin"}
    )
    assert body["user"] == "root"
    assert app.get("/test/whoami").json == {"principals": None, "user": None}


def test_identity_is_computed_once_per_request(app, monkeypatch):
    import benben.security.policy as policy

    add_user(app.app.registry, "alice")
    headers = token_for(app, "alice")
    calls = []
    original = policy.compute_identity
    monkeypatch.setattr(policy, "compute_identity", lambda r: calls.append(1) or original(r))
    # The rate limiter, pyramid_tm's user annotation, permits() and the view all ask.
    app.get("/api/v1/auth/me", headers=headers)
    assert len(calls) == 1


def test_principals_are_cached_and_invalidated_after_commit(app, monkeypatch):
    import benben.security.identity as identity_module
    from benben.accounts.models import Group, User

    registry = app.app.registry
    user_id = add_user(registry, "alice")
    headers = token_for(app, "alice")
    loads = []
    original = identity_module.load_principal_facts
    monkeypatch.setattr(identity_module, "load_principal_facts",
                        lambda s, u: loads.append(u) or original(s, u))  # fmt: skip
    app.get("/test/staff", headers=headers, status=403)
    app.get("/test/staff", headers=headers, status=403)
    assert len(loads) <= 1  # at most the first request reads the database

    # Join the group the way the accounts service does: change, invalidate, commit.
    import transaction

    from benben.cache import CacheService
    from benben.db import SESSION_FACTORY_KEY, get_tm_session
    from benben.security import invalidate_principals

    manager = transaction.TransactionManager(explicit=True)
    with manager:
        session = get_tm_session(registry[SESSION_FACTORY_KEY], manager)
        user = session.get(User, user_id)
        user.groups.append(Group(name="staff"))
        request = type("R", (), {})()
        request.registry, request.tm = registry, manager
        request.cache = CacheService(registry["benben.cache.region"],
                                     registry["benben.cache.stats"], manager)  # fmt: skip
        invalidate_principals(request, user_id)
        # Not before the commit: a rolled-back change must not be half-visible.
        assert registry["benben.cache.region"].get(principals_cache_key(user_id)) is not None
    app.get("/test/staff", headers=headers, status=200)


def test_an_uninvalidated_change_is_not_seen_which_proves_the_cache_is_used(app):
    from benben.accounts.models import User

    registry = app.app.registry
    user_id = add_user(registry, "alice")
    headers = token_for(app, "alice")
    app.get("/test/whoami", headers=headers)
    with registry["benben.db.engine"].begin() as connection:
        connection.execute(User.__table__.update().where(User.id == user_id).values(is_admin=True))
    assert "role:admin" not in app.get("/test/whoami", headers=headers).json["principals"]
    registry["benben.cache.region"].delete(principals_cache_key(user_id))
    # Still not seen: the verified token itself is held in process (benben.cache.near)...
    assert "role:admin" not in app.get("/test/whoami", headers=headers).json["principals"]
    registry["benben.security.identity_cache"].clear()  # ...until it is dropped too
    assert "role:admin" in app.get("/test/whoami", headers=headers).json["principals"]


def test_revocation_answers_are_cached_only_where_every_instance_sees_them(app):
    import jwt

    registry = app.app.registry
    add_user(registry, "alice")
    headers = token_for(app, "alice")
    app.get("/test/whoami", headers=headers)
    jti = jwt.decode(headers["Authorization"][7:], options={"verify_signature": False})["jti"]
    region = registry["benben.cache.region"]
    negative = region.get(f"not-revoked:{jti}")
    if registry.settings["benben.cache.backend"] == "redis":
        assert negative is True
    else:
        assert negative is not True  # a private memory cache would hide another's logout
    app.post("/api/v1/auth/logout", headers=headers, status=204)
    assert region.get(f"revoked:{jti}") is True


def test_the_access_log_names_the_user(app, caplog):
    add_user(app.app.registry, "alice")
    headers = token_for(app, "alice")
    with caplog.at_level(logging.INFO, logger="benben.access"):
        app.get("/test/whoami", headers=headers)
    # This request's lines only: another thread of the process (a worker's) may log meanwhile.
    records = [
        r for r in caplog.records
        if r.name == "benben.access" and "/test/whoami" in r.getMessage()
    ]  # fmt: skip
    assert records
    assert [r.user for r in records] == ["alice"] * len(records)
