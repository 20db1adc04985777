"""The server secret: generated and kept in the data directory in development, mandatory in
production, and never one of the well-known development values there."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from typing import Any

from pyramid.exceptions import ConfigurationError

from benben.files import PRIVATE_FILE_MODE, private_directory, tighten_file

MIN_SECRET_BYTES = 64
SECRET_FILE = "secret.key"  # noqa: S105 - a file name, not a secret
# Words that mark a secret as an example or a development value (e.g. copied from the docs).
# A random 64-byte secret uses dozens of distinct characters; "aaaa..." or "0123456789..." do not.
_MIN_DISTINCT_CHARACTERS = 16
_DEVELOPMENT_MARKERS = ("change-me", "changeme", "insecure", "development", "example", "secret-")


def ensure_secret(values: dict[str, Any], sources: dict[str, str]) -> None:
    secret = values.get("benben.secret") or ""
    production = values.get("benben.environment") == "production"
    if production:
        _check_production_secret(secret)
        return
    if not secret:
        directory = os.path.abspath(values["benben.data_dir"])
        private_directory(directory, owned_names=(SECRET_FILE,))
        path = os.path.join(directory, SECRET_FILE)
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
    if len(set(secret)) < _MIN_DISTINCT_CHARACTERS:
        raise ConfigurationError(
            "refusing to start: benben.secret is not random (it repeats too few characters, "
            f"e.g. 'xxxx...' or '1234...'): {hint}"
        )


def _load_or_create(path: str) -> str:
    existing = _read_secret_file(path)
    if existing is not None:
        tighten_file(path)  # kept by an older version, or copied in with a looser mode
        return existing
    directory = os.path.dirname(path)
    # Written whole to a private temporary file, then linked into place: the secret file is
    # never seen half-written, and link() fails rather than replacing another process's secret.
    value = secrets.token_urlsafe(MIN_SECRET_BYTES)
    fd, temporary = tempfile.mkstemp(prefix=".secret-", dir=directory)  # mode 0600
    os.fchmod(fd, PRIVATE_FILE_MODE)  # 0600 exactly, even under an odd umask such as 0277
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(value + "\n")
        with contextlib.suppress(FileExistsError):  # another process won the race: use its secret
            _publish(temporary, path, value)
    finally:
        os.unlink(temporary)
    secret = _read_secret_file(path)
    if secret is None:  # pragma: no cover - deleted between link() and read
        raise ConfigurationError(f"could not keep the generated secret in {path}")
    return secret


def _publish(temporary: str, path: str, value: str) -> None:
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise
    except OSError:
        # No hard links on this filesystem: exclusive creation still never overwrites.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        os.fchmod(fd, PRIVATE_FILE_MODE)  # whatever the umask
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(value + "\n")


def _read_secret_file(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as handle:
            existing = handle.read().strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read the secret file {path}: {exc}") from None
    if len(existing.encode()) < MIN_SECRET_BYTES:
        # Never silently replace it: whatever was signed with it would become invalid.
        raise ConfigurationError(
            f"the secret file {path} holds fewer than {MIN_SECRET_BYTES} bytes: "
            "delete it to have a new secret generated, or set benben.secret"
        )
    return existing
