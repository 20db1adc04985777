"""Where the test servers are (PostgreSQL, Redis, RabbitMQ), and skipping or failing when one
is missing.

The servers are found at ``BENBEN_TEST_POSTGRESQL_URL`` / ``BENBEN_TEST_REDIS_URL`` (defaults:
local servers).  A missing server skips its tests locally; with ``CI=true`` it fails them, as CI
must test every backend.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, make_url, text

__all__ = [
    "DEFAULT_POSTGRESQL_URL",
    "DEFAULT_RABBITMQ_URL",
    "DEFAULT_REDIS_URL",
    "in_ci",
    "postgresql_schema",
    "postgresql_url",
    "rabbitmq_url",
    "redis_url",
    "require_postgresql",
    "require_rabbitmq",
    "require_redis",
    "unavailable",
]

DEFAULT_POSTGRESQL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


def postgresql_url() -> str:
    return os.environ.get("BENBEN_TEST_POSTGRESQL_URL", DEFAULT_POSTGRESQL_URL)


def redis_url() -> str:
    return os.environ.get("BENBEN_TEST_REDIS_URL", DEFAULT_REDIS_URL)


def rabbitmq_url() -> str:
    return os.environ.get("BENBEN_TEST_RABBITMQ_URL", DEFAULT_RABBITMQ_URL)


def in_ci() -> bool:
    """Whether this is CI (``CI=true``), which must run every test: nothing may skip there."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(message: str) -> None:
    """Skip the test for a missing service or tool; fail it under ``CI=true``."""
    if in_ci():
        pytest.fail(f"{message}: CI must run every test", pytrace=False)
    pytest.skip(message)


def _unavailable(what: str, reason: str) -> None:
    unavailable(f"{what} is not available ({reason})")


# A server's answer to the first probe, kept for the test process: one probe per server, not one
# per test.
_probe_results: dict[str, str | None] = {}


def _probe(name: str, check: Callable[[], None]) -> str | None:
    if name not in _probe_results:
        try:
            check()
            _probe_results[name] = None
        except Exception as exc:
            _probe_results[name] = f"{type(exc).__name__}: {exc}"
    return _probe_results[name]


def require_postgresql() -> str:
    """The PostgreSQL URL, or skip (fail in CI) when the server is not reachable."""
    url = postgresql_url()

    def check() -> None:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        finally:
            engine.dispose()

    problem = _probe("postgresql", check)
    if problem:
        _unavailable(f"PostgreSQL at {url}", problem)
    return url


def require_redis() -> str:
    """The Redis URL, or skip (fail in CI) when the server is not reachable."""
    url = redis_url()

    def check() -> None:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=3)
        try:
            client.ping()
        finally:
            client.close()

    problem = _probe("redis", check)
    if problem:
        _unavailable(f"Redis at {url}", problem)
    return url


def require_rabbitmq() -> str:
    """The RabbitMQ URL (``BENBEN_TEST_RABBITMQ_URL``), or skip (fail in CI) when the broker is
    not reachable."""
    url = rabbitmq_url()

    def check() -> None:
        import kombu

        with kombu.Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)

    problem = _probe("rabbitmq", check)
    if problem:
        _unavailable(f"RabbitMQ at {url}", problem)
    return url


@contextlib.contextmanager
def postgresql_schema(base_url: str, prefix: str = "test") -> Iterator[str]:
    """A fresh schema, dropped afterwards; yields a URL of ``base_url`` whose connections use it
    (for a server or command started in another process)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
