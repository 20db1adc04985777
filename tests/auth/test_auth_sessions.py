"""Refresh rotation with re-use detection, logout, and ending a user's other sessions."""

from __future__ import annotations

import datetime

import pytest
import transaction
from sqlalchemy import select

from benben.testing import eventually
from benben.testing_auth import bearer, login

PROBLEM = "application/problem+json"


def refresh(app, token, **kwargs):
    return app.post_json("/api/v1/auth/refresh", {"refresh_token": token}, **kwargs)


def test_refresh_rotates_the_refresh_token_and_issues_a_working_access_token(app, alice):
    pair = refresh(app, alice["tokens"]["refresh_token"]).json
    assert set(pair) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert pair["refresh_token"] != alice["tokens"]["refresh_token"]
    assert pair["access_token"] != alice["tokens"]["access_token"]
    assert app.get("/api/v1/auth/me", headers=bearer(pair["access_token"])).json["user"]["id"]
    assert refresh(app, pair["refresh_token"]).json["refresh_token"]


def test_refresh_tokens_are_stored_hashed(app, alice, dbsession):
    from benben.security.models import RefreshToken

    hashes = dbsession.scalars(select(RefreshToken.token_hash)).all()
    assert hashes
    assert alice["tokens"]["refresh_token"] not in hashes


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(app, alice):
    stolen = alice["tokens"]["refresh_token"]
    legitimate = refresh(app, stolen).json
    reused = refresh(app, stolen, status=401)
    assert reused.content_type == PROBLEM
    assert "already used" in reused.json["detail"]
    # The family is gone: the newest token of it no longer works either.
    after = refresh(app, legitimate["refresh_token"], status=401)
    assert "revoked" in after.json["detail"]
    # Other sessions of the same user are untouched.
    other = login(app, "alice")
    assert refresh(app, other["refresh_token"]).json["access_token"]


def test_unknown_malformed_and_missing_refresh_tokens(app, alice):
    assert refresh(app, "bbr_" + "A" * 43, status=401).content_type == PROBLEM
    assert refresh(app, alice["tokens"]["access_token"], status=401).content_type == PROBLEM
    assert refresh(app, "x" * 2000, status=400).json["errors"][0]["pointer"] == "/refresh_token"
    problem = app.post_json("/api/v1/auth/refresh", {}, status=400).json
    assert problem["errors"][0]["pointer"] == "/refresh_token"


def test_an_expired_refresh_token_is_refused(app, alice, registry):
    from benben.security.models import RefreshToken

    with registry["benben.db.engine"].begin() as connection:
        connection.execute(
            RefreshToken.__table__.update().values(
                expires_at=datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC)
            )
        )
    assert "expired" in refresh(app, alice["tokens"]["refresh_token"], status=401).json["detail"]


def test_a_deactivated_user_cannot_refresh(app, alice, registry):
    from benben.accounts.models import User

    with registry["benben.db.engine"].begin() as connection:
        connection.execute(
            User.__table__.update().where(User.id == alice["id"]).values(is_active=False)
        )
    detail = refresh(app, alice["tokens"]["refresh_token"], status=401).json["detail"]
    assert "deactivated" in detail


def test_logout_revokes_the_access_token_and_its_refresh_family(app, alice):
    app.post("/api/v1/auth/logout", headers=alice["headers"], status=204)
    refused = app.get("/api/v1/auth/me", headers=alice["headers"], status=401)
    assert refused.json["detail"] == "the token has been revoked"
    assert "revoked" in refresh(app, alice["tokens"]["refresh_token"], status=401).json["detail"]
    # A second session of the same user lives on.
    other = login(app, "alice")
    assert app.get("/api/v1/auth/me", headers=bearer(other["access_token"])).status_int == 200


def test_logout_also_ends_older_access_tokens_of_the_same_session(app, alice):
    earlier = alice["headers"]  # still valid after the refresh below
    latest = bearer(refresh(app, alice["tokens"]["refresh_token"]).json["access_token"])
    app.get("/api/v1/auth/me", headers=earlier, status=200)
    app.post("/api/v1/auth/logout", headers=latest, status=204)
    refused = app.get("/api/v1/auth/me", headers=earlier, status=401)
    assert refused.json["detail"] == "the session has been revoked; log in again"


def test_refresh_reuse_also_ends_the_sessions_access_tokens(app, alice):
    legitimate = refresh(app, alice["tokens"]["refresh_token"]).json
    refresh(app, alice["tokens"]["refresh_token"], status=401)  # the replay
    for access in (alice["tokens"]["access_token"], legitimate["access_token"]):
        app.get("/api/v1/auth/me", headers=bearer(access), status=401)


def test_logout_is_recorded_in_the_database_until_the_token_expires(app, alice, dbsession):
    import jwt

    from benben.security.models import RevokedAccessToken

    claims = jwt.decode(alice["tokens"]["access_token"], options={"verify_signature": False})
    app.post("/api/v1/auth/logout", headers=alice["headers"], status=204)
    row = dbsession.get(RevokedAccessToken, claims["jti"])
    assert row is not None
    assert int(row.expires_at.timestamp()) == claims["exp"]


def test_logout_needs_a_credential(app):
    assert app.post("/api/v1/auth/logout", status=401).content_type == PROBLEM


# Instances share a PostgreSQL database (an embedded SQLite is one process), with Redis or
# with private memory caches (which then cache no identity: they cannot hear of a logout).
@pytest.mark.parametrize(
    "backends", [("postgresql", "redis"), ("postgresql", "memory")], indirect=True
)
def test_logout_across_two_instances_sharing_the_database_and_cache(make_app, create_user):
    first, second = make_app(), make_app()
    create_user("alice")
    tokens = login(first, "alice")
    headers = bearer(tokens["access_token"])
    # The second instance has seen (and cached) the token as valid before the logout.
    assert second.get("/api/v1/auth/me", headers=headers).status_int == 200
    first.post("/api/v1/auth/logout", headers=headers, status=204)
    refused = eventually(lambda: second.get("/api/v1/auth/me", headers=headers, status=401))
    assert refused.json["detail"] == "the token has been revoked"


def test_end_other_sessions_keeps_only_the_named_family(app, registry, alice):
    from benben.accounts.models import User
    from benben.auth import issue_token_pair
    from benben.db import SESSION_FACTORY_KEY, get_tm_session
    from benben.security.models import RefreshToken
    from benben.security.sessions import end_other_sessions
    from benben.security.tokens import digest

    other = login(app, "alice")  # a second session, e.g. a stolen one
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        session = get_tm_session(registry[SESSION_FACTORY_KEY], manager)
        family = session.scalars(
            select(RefreshToken.family_id).where(
                RefreshToken.token_hash == digest(alice["tokens"]["refresh_token"])
            )
        ).one()
        request = _request(registry, session, manager)
        user = session.get(User, alice["id"])
        end_other_sessions(request, user, keep_family_id=family)
        fresh = issue_token_pair(request, user, family)
    # Every access token issued before now is refused, the caller's own included...
    app.get("/api/v1/auth/me", headers=alice["headers"], status=401)
    app.get("/api/v1/auth/me", headers=bearer(other["access_token"]), status=401)
    # ...the other session cannot refresh, the kept one can, and the fresh pair works.
    refresh(app, other["refresh_token"], status=401)
    assert refresh(app, alice["tokens"]["refresh_token"]).json["access_token"]
    assert app.get("/api/v1/auth/me", headers=bearer(fresh["access_token"])).status_int == 200


def _request(registry, session, manager):
    """A request as a view would get it, bound to the test's own transaction."""
    from pyramid.request import Request

    from benben.cache import CacheService

    request = Request.blank("/")
    request.registry = registry
    request.dbsession = session
    request.tm = manager
    request.cache = CacheService(
        registry["benben.cache.region"], registry["benben.cache.stats"], manager
    )
    return request
