"""Every forged or stale credential is refused with 401 problem+json, never served anonymously."""

from __future__ import annotations

import base64
import datetime
import json
import re
import time
import uuid

import jwt
import pytest

from benben.security.jwt import get_token_codec
from benben.testing_auth import bearer, login

PROBLEM = "application/problem+json"


def signing_key(registry):
    return get_token_codec(registry)._codec.private_key


def claims_for(user_id, **overrides):
    now = int(time.time())
    claims = {"sub": user_id, "iss": "benben", "aud": "benben", "iat": now, "exp": now + 600,
              "jti": uuid.uuid4().hex, "iat_ms": now * 1000, "sid": str(uuid.uuid4())}  # fmt: skip
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def forge(registry, claims, key=None, algorithm="HS256", headers=None):
    return jwt.encode(claims, key or signing_key(registry), algorithm=algorithm, headers=headers)


def assert_refused(app, token, detail_part, *, scheme="Bearer"):
    response = app.get("/api/v1/auth/me", headers={"Authorization": f"{scheme} {token}"},
                       status=401)  # fmt: skip
    assert response.content_type == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert detail_part in response.json["detail"]
    # The same credential on a route that anonymous callers may use is refused too.
    anonymous_ok = app.get("/api/v1/", headers={"Authorization": f"{scheme} {token}"},
                           expect_errors=True)  # fmt: skip
    assert anonymous_ok.status_int == 401
    return response


def test_a_correctly_forged_token_is_accepted_so_the_refusals_below_mean_something(
    app, registry, alice
):
    token = forge(registry, claims_for(alice["id"]))
    assert app.get("/api/v1/auth/me", headers=bearer(token)).json["user"]["id"] == alice["id"]


def test_alg_none_is_refused(app, alice):
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = base64.urlsafe_b64encode(json.dumps(claims_for(alice["id"])).encode())
    token = header.rstrip(b"=").decode() + "." + payload.rstrip(b"=").decode() + "."
    assert_refused(app, token, "algorithm")


def test_another_hmac_algorithm_is_refused(app, registry, alice):
    token = forge(registry, claims_for(alice["id"]), algorithm="HS512")
    assert_refused(app, token, "algorithm")


def test_wrong_signature_is_refused(app, registry, alice):
    token = forge(registry, claims_for(alice["id"]), key=b"k" * 64)
    assert_refused(app, token, "signature")
    tampered = alice["tokens"]["access_token"][:-4] + (
        "AAAA" if not alice["tokens"]["access_token"].endswith("AAAA") else "BBBB"
    )
    assert_refused(app, tampered, "signature")


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        ({"iss": "someone-else"}, "issuer"),
        ({"aud": "another-service"}, "audience"),
        ({"aud": ["benben", "another-service"]}, "audience"),
        ({"exp": int(time.time()) - 60}, "expired"),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
        ({"iat": int(time.time()) + 3600}, "not valid yet"),
        ({"jti": None}, "jti"),
        ({"exp": None}, "exp"),
        ({"iat_ms": None}, "iat_ms"),
        ({"iss": None}, "iss"),
        ({"aud": None}, "aud"),
        ({"sub": None}, "sub"),
        ({"sid": None}, "sid"),
        ({"sid": 7}, "sid"),
    ],
    ids=lambda value: re.sub(r"\d{9,}", "<now>", str(value)),  # the same in every xdist worker
)
def test_bad_claims_are_refused(app, registry, alice, overrides, detail):
    assert_refused(app, forge(registry, claims_for(alice["id"], **overrides)), detail)


def test_a_non_string_subject_is_refused(app, registry, alice):
    assert_refused(app, forge(registry, claims_for(alice["id"], sub=12345)), "sub")


def test_a_token_for_a_user_that_does_not_exist_is_refused(app, registry, alice):
    assert_refused(app, forge(registry, claims_for(str(uuid.uuid4()))), "unknown or deactivated")


def test_a_deactivated_users_token_is_refused(app, registry, alice, dbsession):
    from benben.accounts.models import User
    from benben.security.principals import principals_cache_key

    with registry["benben.db.engine"].begin() as connection:
        connection.execute(
            User.__table__.update().where(User.id == alice["id"]).values(is_active=False)
        )
    # What the accounts service does along with the change: drop the cached principals.
    registry["benben.cache.region"].delete(principals_cache_key(alice["id"]))
    assert_refused(app, alice["tokens"]["access_token"], "unknown or deactivated")


def test_garbage_and_malformed_credentials_are_refused(app):
    for garbage in ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9..", "x" * 5000]:
        assert_refused(app, garbage, "")


def test_non_bearer_schemes_and_empty_bearer_are_refused(app, alice):
    token = alice["tokens"]["access_token"]
    for header in [f"JWT {token}", f"Basic {base64.b64encode(b'alice:pw').decode()}", "Bearer",
                   "Bearer ", "", token]:  # fmt: skip
        response = app.get("/api/v1/auth/me", headers={"Authorization": header}, status=401)
        assert response.content_type == PROBLEM
        assert "Bearer" in response.headers["WWW-Authenticate"]


def test_a_refresh_token_is_not_an_access_token(app, alice):
    assert_refused(app, alice["tokens"]["refresh_token"], "malformed")


def test_session_ended_by_a_password_change_refuses_older_tokens(app, registry, alice):
    from benben.accounts.models import User
    from benben.security.principals import principals_cache_key

    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(milliseconds=5)
    time.sleep(0.01)
    with registry["benben.db.engine"].begin() as connection:
        connection.execute(
            User.__table__.update().where(User.id == alice["id"]).values(sessions_valid_after=later)
        )
    registry["benben.cache.region"].delete(principals_cache_key(alice["id"]))
    assert_refused(app, alice["tokens"]["access_token"], "session has ended")
    fresh = login(app, "alice")["access_token"]
    assert app.get("/api/v1/auth/me", headers=bearer(fresh)).json["user"]["id"] == alice["id"]


def test_anonymous_is_401_with_a_challenge_not_403(app):
    response = app.get("/api/v1/auth/me", status=401)
    assert response.content_type == PROBLEM
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="benben"'
