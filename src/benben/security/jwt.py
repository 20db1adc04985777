"""Access tokens: issued with pyramid-jwt's codec, read back strictly.

pyramid-jwt's ``JWTAuthenticationPolicy`` is used only as the codec (its ``create_token``), never
as Pyramid's policy (its API is Pyramid 1's, deprecated in 2).  Its decoding swallows the reason
a token is invalid and requires none of the claims we rely on, so tokens are read with PyJWT
directly, with the codec's own key and algorithm, requiring every claim and an allow-list of one
algorithm (``none`` can never be it).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pyramid.exceptions import ConfigurationError
from pyramid.registry import Registry
from pyramid_jwt import JWTAuthenticationPolicy

__all__ = ["AccessTokenCodec", "InvalidToken", "IssuedToken", "get_token_codec"]

REGISTRY_KEY = "benben.security.jwt"
MIN_HS256_KEY_BYTES = 64
# Derives the HS256 key from benben.secret when benben.jwt.secret is empty: a distinct key per use.
_DERIVATION_LABEL = b"benben access-token signing key v1"
REQUIRED_CLAIMS = ("sub", "iat", "exp", "jti", "iss", "aud", "iat_ms", "sid")
# Nothing we issue comes near this; a bigger "token" is refused before any parsing.
MAX_TOKEN_LENGTH = 4096
# PyJWT >= 2.10 checks sub and jti types itself; older versions lack these (decode() checks too).
_INVALID_SUBJECT: Any = getattr(pyjwt.exceptions, "InvalidSubjectError", ())
_INVALID_JTI: Any = getattr(pyjwt.exceptions, "InvalidJTIError", ())


class InvalidToken(Exception):  # noqa: N818 - reads better at the raise site than InvalidTokenError
    """A presented access token that must be refused; ``str(exc)`` is safe to show the client."""


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_in: int
    expires_at: datetime.datetime


class AccessTokenCodec:
    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.algorithm: str = settings["benben.jwt.algorithm"]
        self.issuer: str = settings["benben.jwt.issuer"]
        self.audience: str = settings["benben.jwt.audience"]
        self.ttl = int(settings["benben.jwt.access_ttl"])
        self.leeway = int(settings["benben.jwt.leeway"])
        self.public_jwk: dict[str, Any] | None = None
        if self.algorithm == "HS256":
            signing_key: Any = _hs256_key(settings)
            verifying_key: Any = signing_key
        else:
            signing_key, verifying_key = _key_pair(settings, self.algorithm)
            self.public_jwk = _public_jwk(verifying_key, self.algorithm)
        self._verifying_key = verifying_key
        encoder = _encoder_adding_kid(self.public_jwk["kid"]) if self.public_jwk else None
        self._codec = JWTAuthenticationPolicy(
            private_key=signing_key,
            public_key=verifying_key,
            algorithm=self.algorithm,
            leeway=self.leeway,
            expiration=self.ttl,
            audience=self.audience,
            default_claims={"iss": self.issuer},
            auth_type="Bearer",
            json_encoder=encoder,
        )

    def issue(self, user_id: str, *, sid: str, **claims: Any) -> IssuedToken:
        """A signed access token for ``user_id`` in session ``sid`` (its refresh-token family,
        revoked together with it); extra ``claims`` are added."""
        jti = uuid.uuid4().hex
        # iat has whole seconds; iat_ms lets "sessions valid after <instant>" cut precisely
        # between a token issued just before a password change and one issued just after.
        issued_ms = int(time.time() * 1000)
        token = self._codec.create_token(str(user_id), jti=jti, iat_ms=issued_ms, sid=sid, **claims)
        expires = pyjwt.decode(token, options={"verify_signature": False})["exp"]
        return IssuedToken(
            token=token,
            jti=jti,
            expires_in=self.ttl,
            expires_at=datetime.datetime.fromtimestamp(expires, datetime.UTC),
        )

    def decode(self, token: str) -> dict[str, Any]:
        """The verified claims, or :class:`InvalidToken` saying why not."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("the token is too long")
        try:
            claims = pyjwt.decode(
                token,
                self._verifying_key,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
            )
        except pyjwt.InvalidTokenError as exc:
            raise InvalidToken(_reason(exc)) from None
        for name in ("sub", "jti", "sid"):
            if not isinstance(claims[name], str) or not claims[name]:
                raise InvalidToken(f"the {name} claim must be a non-empty string")
        if not isinstance(claims["iat_ms"], int) or isinstance(claims["iat_ms"], bool):
            raise InvalidToken("the iat_ms claim must be an integer")
        return claims

    def jwks(self) -> dict[str, Any] | None:
        """The JSON Web Key Set to verify our tokens; None for HS256 (the key is secret)."""
        return {"keys": [self.public_jwk]} if self.public_jwk else None


def get_token_codec(registry: Registry) -> AccessTokenCodec:
    codec = registry.get(REGISTRY_KEY)
    if codec is None:
        codec = registry[REGISTRY_KEY] = AccessTokenCodec(registry.settings)
    return codec


def _reason(exc: pyjwt.InvalidTokenError) -> str:
    reasons: list[tuple[Any, str]] = [
        (pyjwt.ExpiredSignatureError, "the token has expired"),
        (pyjwt.ImmatureSignatureError, "the token is not valid yet"),
        (pyjwt.InvalidIssuerError, "the token has the wrong issuer"),
        (pyjwt.InvalidAudienceError, "the token has the wrong audience"),
        (pyjwt.InvalidAlgorithmError, "the token's signature algorithm is not accepted"),
        (pyjwt.InvalidSignatureError, "the token's signature is invalid"),
        (pyjwt.InvalidIssuedAtError, "the token's iat claim is invalid"),
        (_INVALID_SUBJECT, "the sub claim must be a non-empty string"),
        (_INVALID_JTI, "the jti claim must be a non-empty string"),
        (pyjwt.MissingRequiredClaimError, ""),
        (pyjwt.DecodeError, "the token is malformed"),
    ]
    for kind, reason in reasons:
        if isinstance(exc, kind):
            if isinstance(exc, pyjwt.MissingRequiredClaimError):
                return f"the token lacks the {exc.claim} claim"
            return reason
    return "the token is invalid"


def _hs256_key(settings: Mapping[str, Any]) -> bytes:
    configured = settings.get("benben.jwt.secret") or ""
    if configured:
        key = configured.encode()
        if len(key) < MIN_HS256_KEY_BYTES:
            raise ConfigurationError(
                f"invalid value for setting benben.jwt.secret: HS256 needs at least "
                f"{MIN_HS256_KEY_BYTES} bytes, got {len(key)} (or leave it empty to derive the "
                "key from benben.secret)"
            )
        return key
    secret = (settings.get("benben.secret") or "").encode()
    if len(secret) < MIN_HS256_KEY_BYTES:
        raise ConfigurationError(
            f"benben.jwt.secret is empty and benben.secret has fewer than {MIN_HS256_KEY_BYTES} "
            "bytes to derive the HS256 key from: set one of them"
        )
    return hmac.new(secret, _DERIVATION_LABEL, hashlib.sha512).digest()


def _read_pem(setting: str, path: str) -> bytes:
    if not path:
        raise ConfigurationError(
            f"{setting} is required with benben.jwt.algorithm = RS256 or ES256 (a PEM file)"
        )
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise ConfigurationError(
            f"invalid value for setting {setting}: cannot read {path}: {exc.strerror}"
        ) from None


def _key_pair(settings: Mapping[str, Any], algorithm: str) -> tuple[Any, Any]:
    setting = "benben.jwt.private_key_file"
    path = settings.get(setting) or ""
    try:
        private = serialization.load_pem_private_key(_read_pem(setting, path), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"invalid value for setting {setting}: {path} is not an unencrypted PEM private key "
            f"({exc})"
        ) from None
    _check_key_type(setting, private, algorithm)
    public = private.public_key()
    public_setting = "benben.jwt.public_key_file"
    public_path = settings.get(public_setting) or ""
    if public_path:
        try:
            given = serialization.load_pem_public_key(_read_pem(public_setting, public_path))
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                f"invalid value for setting {public_setting}: {public_path} is not a PEM public "
                f"key ({exc})"
            ) from None
        if _der(given) != _der(public):
            raise ConfigurationError(
                f"invalid value for setting {public_setting}: it is not the public half of "
                f"{setting}"
            )
    return private, public


def _check_key_type(setting: str, key: Any, algorithm: str) -> None:
    if algorithm == "RS256":
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigurationError(f"invalid value for setting {setting}: RS256 needs an RSA key")
        if key.key_size < 2048:
            raise ConfigurationError(
                f"invalid value for setting {setting}: RSA keys need at least 2048 bits, "
                f"got {key.key_size}"
            )
    elif not (isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"):
        raise ConfigurationError(
            f"invalid value for setting {setting}: ES256 needs an EC key on curve P-256"
        )


def _der(public_key: Any) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _public_jwk(public_key: Any, algorithm: str) -> dict[str, Any]:
    if algorithm == "RS256":
        jwk: dict[str, Any] = dict(RSAAlgorithm.to_jwk(public_key, as_dict=True))
        members: tuple[str, ...] = ("e", "kty", "n")
    else:
        jwk = dict(ECAlgorithm.to_jwk(public_key, as_dict=True))
        members = ("crv", "kty", "x", "y")
    # RFC 7638 thumbprint: SHA-256 of the required members, sorted, without whitespace.
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    kid = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return {**{m: jwk[m] for m in members}, "kid": kid, "use": "sig", "alg": algorithm}


def _encoder_adding_kid(kid: str) -> type[json.JSONEncoder]:
    """A JSON encoder that adds ``kid`` to the JOSE header.

    pyramid-jwt's ``create_token`` takes no header argument, but PyJWT serialises the header with
    the same encoder class as the claims: the header is the dict with ``alg`` and no ``sub``.
    """

    class KidHeaderEncoder(json.JSONEncoder):
        def encode(self, o: Any) -> str:
            if isinstance(o, dict) and "alg" in o and "sub" not in o:
                o = {**o, "kid": kid}
            return super().encode(o)

    return KidHeaderEncoder
