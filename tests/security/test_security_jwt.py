"""The access-token codec: keys from settings, RS256/ES256 with a JWKS, strict reading."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pyramid.exceptions import ConfigurationError

from benben.security.jwt import AccessTokenCodec, InvalidToken

SECRET = "s" * 40 + "0123456789abcdefghijklmnopqrstuvwxyz"


def settings(**overrides):
    base = {
        "benben.secret": SECRET,
        "benben.jwt.algorithm": "HS256",
        "benben.jwt.secret": "",
        "benben.jwt.private_key_file": "",
        "benben.jwt.public_key_file": "",
        "benben.jwt.issuer": "benben",
        "benben.jwt.audience": "benben",
        "benben.jwt.access_ttl": 900,
        "benben.jwt.leeway": 10,
    }
    base.update({f"benben.jwt.{k}": v for k, v in overrides.items()})
    return base


def write_key(tmp_path, name, key, public=False):
    path = tmp_path / name
    if public:
        data = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    else:
        data = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    path.write_bytes(data)
    return str(path)


def test_hs256_key_is_derived_from_the_server_secret_when_not_configured():
    codec = AccessTokenCodec(settings())
    token = codec.issue("user-1", sid="s").token
    derived = hmac.new(SECRET.encode(), b"benben access-token signing key v1", "sha512").digest()
    assert jwt.decode(token, derived, algorithms=["HS256"], audience="benben")["sub"] == "user-1"
    # Never the raw server secret itself.
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, SECRET.encode(), algorithms=["HS256"], audience="benben")
    assert codec.jwks() is None


def test_a_configured_hs256_secret_is_used_and_must_be_64_bytes():
    key = "k" * 64
    token = AccessTokenCodec(settings(secret=key)).issue("u", sid="s").token
    assert jwt.decode(token, key, algorithms=["HS256"], audience="benben")["sub"] == "u"
    with pytest.raises(ConfigurationError, match=r"benben\.jwt\.secret.*64 bytes"):
        AccessTokenCodec(settings(secret="k" * 63))


def test_a_short_server_secret_cannot_be_derived_from():
    with pytest.raises(ConfigurationError, match=r"benben\.secret"):
        AccessTokenCodec({**settings(), "benben.secret": "short"})


def test_issued_tokens_carry_every_required_claim():
    codec = AccessTokenCodec(settings(issuer="https://id.example", audience="api", access_ttl=60))
    issued = codec.issue("user-7", sid="family")
    claims = codec.decode(issued.token)
    assert claims["sub"] == "user-7"
    assert claims["iss"] == "https://id.example"
    assert claims["aud"] == "api"
    assert claims["exp"] - claims["iat"] == 60
    assert claims["jti"] == issued.jti
    assert claims["sid"] == "family"
    assert claims["iat"] * 1000 <= claims["iat_ms"] < (claims["iat"] + 1) * 1000 + 1000
    assert issued.expires_in == 60
    assert int(issued.expires_at.timestamp()) == claims["exp"]


def test_leeway_tolerates_small_clock_skew_only():
    codec = AccessTokenCodec(settings(leeway=30))
    key = codec._codec.private_key
    now = int(time.time())
    claims = {"sub": "u", "iss": "benben", "aud": "benben", "jti": "j", "iat": now,
              "iat_ms": now * 1000, "sid": "s"}  # fmt: skip
    assert codec.decode(jwt.encode({**claims, "exp": now - 20}, key, algorithm="HS256"))
    with pytest.raises(InvalidToken, match="expired"):
        codec.decode(jwt.encode({**claims, "exp": now - 40}, key, algorithm="HS256"))


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_asymmetric_tokens_verify_with_the_published_jwks(tmp_path, algorithm):
    key = rsa.generate_private_key(65537, 2048) if algorithm == "RS256" else (
        ec.generate_private_key(ec.SECP256R1()))  # fmt: skip
    codec = AccessTokenCodec(
        settings(
            algorithm=algorithm,
            private_key_file=write_key(tmp_path, "private.pem", key),
            public_key_file=write_key(tmp_path, "public.pem", key, public=True),
        )
    )
    token = codec.issue("user-1", sid="s").token
    jwks = codec.jwks()
    (jwk,) = jwks["keys"]
    assert jwk["alg"] == algorithm
    assert jwk["use"] == "sig"
    assert "d" not in jwk  # never the private part
    assert jwt.get_unverified_header(token)["kid"] == jwk["kid"]
    # The kid is the RFC 7638 thumbprint.
    members = ("e", "kty", "n") if algorithm == "RS256" else ("crv", "kty", "x", "y")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    expected = jwt.utils.base64url_encode(hashlib.sha256(canonical.encode()).digest()).decode()
    assert jwk["kid"] == expected
    public = jwt.PyJWK(jwk).key
    assert jwt.decode(token, public, algorithms=[algorithm], audience="benben")["sub"] == "user-1"
    # The HMAC-with-the-public-key confusion attack is refused.
    with pytest.raises(InvalidToken):
        codec.decode(jwt.encode({"sub": "x"}, b"p" * 64, algorithm="HS256"))


def test_key_file_problems_name_the_setting(tmp_path):
    with pytest.raises(ConfigurationError, match=r"benben\.jwt\.private_key_file is required"):
        AccessTokenCodec(settings(algorithm="RS256"))
    with pytest.raises(ConfigurationError, match=r"benben\.jwt\.private_key_file: cannot read"):
        AccessTokenCodec(settings(algorithm="RS256", private_key_file=str(tmp_path / "missing")))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    with pytest.raises(ConfigurationError, match=r"private_key_file.*not an unencrypted PEM"):
        AccessTokenCodec(settings(algorithm="RS256", private_key_file=str(garbage)))
    ec_key = write_key(tmp_path, "ec.pem", ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(ConfigurationError, match="RS256 needs an RSA key"):
        AccessTokenCodec(settings(algorithm="RS256", private_key_file=ec_key))
    p384 = write_key(tmp_path, "p384.pem", ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(ConfigurationError, match="ES256 needs an EC key on curve P-256"):
        AccessTokenCodec(settings(algorithm="ES256", private_key_file=p384))
    small = write_key(tmp_path, "small.pem", rsa.generate_private_key(65537, 1024))  # noqa: S505 - refused
    with pytest.raises(ConfigurationError, match="at least 2048 bits"):
        AccessTokenCodec(settings(algorithm="RS256", private_key_file=small))
    other = write_key(tmp_path, "other.pub", ec.generate_private_key(ec.SECP256R1()), public=True)
    with pytest.raises(ConfigurationError, match=r"public_key_file: it is not the public half"):
        AccessTokenCodec(
            settings(algorithm="ES256", private_key_file=ec_key, public_key_file=other)
        )
    with pytest.raises(ConfigurationError, match=r"public_key_file.*not a PEM public key"):
        AccessTokenCodec(
            settings(algorithm="ES256", private_key_file=ec_key, public_key_file=str(garbage))
        )


def test_jwks_endpoint_serves_the_public_key_and_is_absent_for_hs256(make_app, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    app = make_app(
        {
            "benben.jwt.algorithm": "ES256",
            "benben.jwt.private_key_file": write_key(tmp_path, "private.pem", key),
        }
    )
    response = app.get("/.well-known/jwks.json")
    assert response.json["keys"][0]["kty"] == "EC"
    assert "public" in response.headers["Cache-Control"]
    assert make_app().get("/.well-known/jwks.json", status=404).content_type == (
        "application/problem+json"
    )


def test_a_bad_key_file_stops_the_app_at_start_up(make_app, tmp_path):
    with pytest.raises(ConfigurationError, match=r"benben\.jwt\.private_key_file"):
        make_app({"benben.jwt.algorithm": "RS256", "benben.jwt.private_key_file": "/nonexistent"})
