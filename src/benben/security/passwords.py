"""Password hashing (argon2id) and the password policy.

Hashes carry their parameters, so raising the cost in settings upgrades each user's hash at their
next successful login (:meth:`PasswordHasher.needs_rehash`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pyramid.exceptions import ConfigurationError
from pyramid.registry import Registry

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "PasswordHasher",
    "check_password_policy",
    "get_password_hasher",
]

REGISTRY_KEY = "benben.security.passwords"
# Long enough for any passphrase, short enough that hashing cannot be used to burn CPU time.
MAX_PASSWORD_LENGTH = 1024


class PasswordHasher:
    """argon2id with the configured cost; never logs or returns a password."""

    def __init__(self, time_cost: int = 3, memory_cost: int = 65536, parallelism: int = 4) -> None:
        if memory_cost < 8 * parallelism:
            raise ConfigurationError(
                "invalid value for setting benben.auth.argon2_memory_cost: argon2 needs at least "
                f"8 KiB per lane, i.e. >= {8 * parallelism} with "
                f"benben.auth.argon2_parallelism = {parallelism}"
            )
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        # Verified against when the account does not exist, so that an unknown user costs as
        # much time as a wrong password (no user enumeration by timing).
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> PasswordHasher:
        return cls(
            time_cost=int(settings["benben.auth.argon2_time_cost"]),
            memory_cost=int(settings["benben.auth.argon2_memory_cost"]),
            parallelism=int(settings["benben.auth.argon2_parallelism"]),
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """True when ``password`` matches; False for a mismatch or an unusable stored hash."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True

    def verify_dummy(self, password: str) -> None:
        """Spend the time of a real verification, for a login whose account does not exist."""
        self.verify(self._dummy_hash, password)


def get_password_hasher(registry: Registry) -> PasswordHasher:
    """The application's hasher (built once from settings at configuration time)."""
    hasher = registry.get(REGISTRY_KEY)
    if hasher is None:
        hasher = PasswordHasher.from_settings(registry.settings)
        registry[REGISTRY_KEY] = hasher
    return hasher


def check_password_policy(password: Any, settings: Mapping[str, Any]) -> list[str]:
    """Problems with a new password, as messages for a problem+json ``errors`` entry; [] if fine."""
    if not isinstance(password, str):
        return ["must be a string"]
    minimum = int(settings["benben.auth.password_min_length"])
    problems = []
    if len(password) < minimum:
        problems.append(f"must be at least {minimum} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"must be at most {MAX_PASSWORD_LENGTH} characters long")
    if password and not password.strip():
        problems.append("must not be only whitespace")
    if "\x00" in password:
        problems.append("must not contain NUL characters")
    return problems
