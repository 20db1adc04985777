"""Opaque secrets: personal API tokens and refresh tokens.

Both are high-entropy random strings shown to their owner once; the server keeps only their
SHA-256 digest (a slow hash is needless for 256-bit random secrets, and lookups stay indexed).
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = [
    "API_TOKEN_PREFIX",
    "REFRESH_TOKEN_PREFIX",
    "digest",
    "new_api_token",
    "new_refresh_token",
]

# Prefixes tell credentials apart at a glance, and let secret scanners recognise leaked ones.
API_TOKEN_PREFIX = "bbn_"  # noqa: S105 - a prefix, not a secret
REFRESH_TOKEN_PREFIX = "bbr_"  # noqa: S105
_RANDOM_BYTES = 32
# Longest secret worth hashing: anything longer was not made here.
MAX_SECRET_LENGTH = 128


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_token() -> tuple[str, str]:
    """A new API token and its digest."""
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)
    return secret, digest(secret)


def new_refresh_token() -> tuple[str, str]:
    """A new refresh token and its digest."""
    secret = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)
    return secret, digest(secret)
