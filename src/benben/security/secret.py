"""The server secret: generated and kept in the data directory in development, mandatory in
production, and never one of the well-known development values there."""

from __future__ import annotations

import os
import secrets
from typing import Any

from pyramid.exceptions import ConfigurationError

MIN_SECRET_BYTES = 64
SECRET_FILE = "secret.key"  # noqa: S105 - a file name, not a secret
# Words that mark a secret as an example or a development value (e.g. copied from the docs).
_DEVELOPMENT_MARKERS = ("change-me", "changeme", "insecure", "development", "example", "secret-")


def ensure_secret(values: dict[str, Any], sources: dict[str, str]) -> None:
    secret = values.get("benben.secret") or ""
    production = values.get("benben.environment") == "production"
    if production:
        _check_production_secret(secret)
        return
    if not secret:
        path = os.path.join(os.path.abspath(values["benben.data_dir"]), SECRET_FILE)
        values["benben.secret"] = _load_or_create(path)
        sources["benben.secret"] = f"generated ({path})"
    elif len(secret.encode()) < MIN_SECRET_BYTES:
        raise ConfigurationError(
            f"invalid value for setting benben.secret: at least {MIN_SECRET_BYTES} bytes needed, "
            f"got {len(secret.encode())} (generate one: python -c "
            "'import secrets; print(secrets.token_urlsafe(64))')"
        )


def _check_production_secret(secret: str) -> None:
    hint = (
        "set BENBEN_SECRET to the output of: "
        "python -c 'import secrets; print(secrets.token_urlsafe(64))'"
    )
    if not secret:
        raise ConfigurationError(f"benben.secret is required in production: {hint}")
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ConfigurationError(
            f"invalid value for setting benben.secret: at least {MIN_SECRET_BYTES} bytes needed in "
            f"production, got {len(secret.encode())}: {hint}"
        )
    lowered = secret.lower()
    if any(marker in lowered for marker in _DEVELOPMENT_MARKERS):
        raise ConfigurationError(
            f"refusing to start: benben.secret looks like a development or example value: {hint}"
        )


def _load_or_create(path: str) -> str:
    try:
        with open(path, encoding="ascii") as handle:
            existing = handle.read().strip()
        if len(existing.encode()) >= MIN_SECRET_BYTES:
            return existing
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    value = secrets.token_urlsafe(MIN_SECRET_BYTES)
    # O_EXCL: two processes starting at once must not overwrite each other's secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
    return value
