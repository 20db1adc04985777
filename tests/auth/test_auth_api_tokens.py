"""/api/v1/tokens: personal API tokens, and what a token may do with its scopes."""

from __future__ import annotations

import datetime

import pytest
from pyramid.authorization import Allow
from sqlalchemy import select

from benben.security.permissions import ADMIN, CREATE, READ, WRITE
from benben.security.principals import ADMIN_ROLE, AUTHENTICATED
from benben.testing_auth import bearer, login

PROBLEM = "application/problem+json"


def create_token(app, headers, **fields):
    body = {"name": "ci", "scopes": ["read"], **fields}
    return app.post_json("/api/v1/tokens", body, headers=headers, status=201)


def test_create_shows_the_secret_once_and_stores_only_its_digest(app, alice, dbsession):
    from benben.security.models import ApiToken

    response = create_token(app, alice["headers"], scopes=["write", "read", "write"],
                            expires_in=3600)  # fmt: skip
    created = response.json
    assert created["token"].startswith("bbn_")
    assert len(created["token"]) >= 4 + 43
    assert created["scopes"] == ["read", "write"]
    assert response.headers["Location"].endswith(f"/api/v1/tokens/{created['id']}")
    expires = datetime.datetime.fromisoformat(created["expires_at"])
    assert 3500 < (expires - datetime.datetime.now(datetime.UTC)).total_seconds() <= 3600
    stored = dbsession.scalars(select(ApiToken.token_hash)).all()
    assert created["token"] not in stored
    listed = app.get("/api/v1/tokens", headers=alice["headers"]).json["data"]
    assert [item["id"] for item in listed] == [created["id"]]
    assert "token" not in listed[0]
    assert "token" not in app.get(response.headers["Location"], headers=alice["headers"]).json


def test_an_api_token_authenticates_and_records_its_last_use(app, alice):
    created = create_token(app, alice["headers"]).json
    assert created["last_used_at"] is None
    me = app.get("/api/v1/auth/me", headers=bearer(created["token"])).json
    assert me["user"]["id"] == alice["id"]
    assert me["credential"] == "api_token"
    assert me["scopes"] == ["read"]
    item = app.get(f"/api/v1/tokens/{created['id']}", headers=alice["headers"]).json
    assert item["last_used_at"] is not None


def test_revoked_expired_and_unknown_api_tokens_are_refused(app, alice, registry):
    from benben.security.models import ApiToken

    revoked = create_token(app, alice["headers"], name="revoked").json
    app.delete(f"/api/v1/tokens/{revoked['id']}", headers=alice["headers"], status=204)
    app.delete(f"/api/v1/tokens/{revoked['id']}", headers=alice["headers"], status=204)
    refused = app.get("/api/v1/auth/me", headers=bearer(revoked["token"]), status=401)
    assert refused.content_type == PROBLEM
    assert refused.json["detail"] == "the API token has been revoked"

    expired = create_token(app, alice["headers"], name="expired").json
    with registry["benben.db.engine"].begin() as connection:
        connection.execute(
            ApiToken.__table__.update()
            .where(ApiToken.id == expired["id"])
            .values(expires_at=datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC))
        )
    detail = app.get("/api/v1/auth/me", headers=bearer(expired["token"]), status=401).json
    assert detail["detail"] == "the API token has expired"

    wrong = "bbn_" + "A" * 43
    assert app.get("/api/v1/auth/me", headers=bearer(wrong), status=401).json["detail"] == (
        "the API token is not valid"
    )
    too_long = "bbn_" + "A" * 500
    app.get("/api/v1/auth/me", headers=bearer(too_long), status=401)


def test_a_deactivated_users_api_token_is_refused(app, alice, registry):
    from benben.accounts.models import User
    from benben.security.principals import principals_cache_key

    created = create_token(app, alice["headers"]).json
    app.get("/api/v1/auth/me", headers=bearer(created["token"]), status=200)
    with registry["benben.db.engine"].begin() as connection:
        connection.execute(
            User.__table__.update().where(User.id == alice["id"]).values(is_active=False)
        )
    registry["benben.cache.region"].delete(principals_cache_key(alice["id"]))
    app.get("/api/v1/auth/me", headers=bearer(created["token"]), status=401)


def test_other_users_tokens_are_invisible(app, alice, create_user):
    create_user("bob")
    bob = bearer(login(app, "bob")["access_token"])
    created = create_token(app, alice["headers"]).json
    assert app.get("/api/v1/tokens", headers=bob).json["data"] == []
    for method in (app.get, app.delete):
        response = method(f"/api/v1/tokens/{created['id']}", headers=bob, status=404)
        assert response.content_type == PROBLEM
    # Still alive: bob's DELETE did nothing.
    app.get("/api/v1/auth/me", headers=bearer(created["token"]), status=200)


def test_token_names_are_unique_per_user(app, alice, create_user):
    create_token(app, alice["headers"], name="deploy")
    conflict = app.post_json("/api/v1/tokens", {"name": "deploy", "scopes": ["read"]},
                             headers=alice["headers"], status=409)  # fmt: skip
    assert conflict.json["errors"][0]["pointer"] == "/name"
    create_user("bob")
    create_token(app, bearer(login(app, "bob")["access_token"]), name="deploy")


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"scopes": ["read"]}, "/name"),
        ({"name": "   ", "scopes": ["read"]}, "/name"),
        ({"name": "x" * 101, "scopes": ["read"]}, "/name"),
        ({"name": "a"}, "/scopes"),
        ({"name": "a", "scopes": []}, "/scopes"),
        ({"name": "a", "scopes": "read"}, "/scopes"),
        ({"name": "a", "scopes": ["read", "root"]}, "/scopes/1"),
        ({"name": "a", "scopes": ["read"], "expires_in": "soon"}, "/expires_in"),
        ({"name": "a", "scopes": ["read"], "expires_in": 5}, "/expires_in"),
        ({"name": "a", "scopes": ["read"], "expires_at": "tomorrow"}, "/expires_at"),
        ({"name": "a", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"}, "/expires_at"),
        ({"name": "a", "scopes": ["read"], "expires_at": "2999-01-01T00:00:00"}, "/expires_at"),
        ({"name": "a", "scopes": ["read"], "expires_in": 60, "expires_at": "x"}, "/expires_at"),
    ],
)
def test_invalid_token_requests_name_the_field(app, alice, body, pointer):
    problem = app.post_json("/api/v1/tokens", body, headers=alice["headers"], status=400).json
    assert problem["errors"][0]["pointer"] == pointer


def test_expires_at_is_accepted(app, alice):
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)
    created = create_token(app, alice["headers"], expires_at=moment.isoformat()).json
    assert abs(datetime.datetime.fromisoformat(created["expires_at"]) - moment).total_seconds() < 1


class Everything:
    """A test context: any authenticated caller may do anything; only scopes limit tokens."""

    __acl__ = [(Allow, AUTHENTICATED, (READ, WRITE, CREATE, ADMIN))]

    def __init__(self, request):
        pass


class AdminsOnly:
    __acl__ = [(Allow, ADMIN_ROLE, READ)]

    def __init__(self, request):
        pass


def add_probe_routes(config):
    for permission in (READ, WRITE, CREATE, ADMIN):
        config.add_route(f"probe.{permission}", f"/test/probe/{permission}", factory=Everything)
        config.add_view(lambda request: {"ok": True}, route_name=f"probe.{permission}",
                        renderer="json", permission=permission)  # fmt: skip
    config.add_route("probe.admins", "/test/probe-admins", factory=AdminsOnly)
    config.add_view(lambda request: {"ok": True}, route_name="probe.admins", renderer="json",
                    permission=READ)  # fmt: skip


ALLOWED = {
    "read": {READ},
    "write": {READ, WRITE, CREATE},
    "admin": {READ, WRITE, CREATE, ADMIN},
}


@pytest.mark.parametrize("scope", ["read", "write", "admin"])
def test_scopes_limit_what_a_token_may_do(make_app, create_user, scope):
    app = make_app(include=add_probe_routes)
    create_user("carol")
    session = bearer(login(app, "carol")["access_token"])
    token = create_token(app, session, scopes=[scope]).json["token"]
    for permission in (READ, WRITE, CREATE, ADMIN):
        # The login session (no scopes) may do everything the ACL allows.
        app.get(f"/test/probe/{permission}", headers=session, status=200)
        expected = 200 if permission in ALLOWED[scope] else 403
        response = app.get(f"/test/probe/{permission}", headers=bearer(token), status=expected)
        if expected == 403:
            assert response.content_type == PROBLEM
            assert f"do not allow the '{permission}' permission" in response.json["detail"]
    # Only a token with the admin scope may mint more tokens.
    status = 201 if scope == "admin" else 403
    app.post_json("/api/v1/tokens", {"name": "child", "scopes": ["read"]},
                  headers=bearer(token), status=status)  # fmt: skip


def test_401_anonymous_403_authenticated_but_not_allowed_200_allowed(make_app, create_user):
    app = make_app(include=add_probe_routes)
    create_user("dave")
    create_user("root", is_admin=True)
    anonymous = app.get("/test/probe-admins", status=401)
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="benben"'
    forbidden = app.get("/test/probe-admins", headers=bearer(login(app, "dave")["access_token"]),
                        status=403)  # fmt: skip
    assert forbidden.content_type == PROBLEM
    assert "WWW-Authenticate" not in forbidden.headers
    app.get("/test/probe-admins", headers=bearer(login(app, "root")["access_token"]), status=200)
