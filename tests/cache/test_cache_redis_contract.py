"""What Benben uses of redis-py beyond its public API, checked on the installed release.

The version board peeks its subscription's socket (see benben.cache.redis_versions), which
redis-py keeps only at ``connection._sock``; the release is bounded in pyproject.toml.  When
this fails on a new release, check the attribute there and move the bound.
"""

from __future__ import annotations

import socket
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from benben.cache.redis_versions import subscription_socket
from benben.testing import require_redis

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def redis_requirement() -> Requirement:
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    [line] = [r for r in extras["redis"] if Requirement(r).name == "redis"]
    return Requirement(line)


def test_the_installed_redis_is_within_the_bound():
    import redis

    requirement = redis_requirement()
    assert any(spec.operator == "<" for spec in requirement.specifier), "redis needs an upper bound"
    assert requirement.specifier.contains(redis.__version__)


def test_a_subscription_keeps_its_socket_at_connection_sock():
    import redis

    client = redis.Redis.from_url(require_redis())
    pubsub = client.pubsub()
    try:
        pubsub.subscribe("benben-test-contract")
        sock = subscription_socket(pubsub)
        assert type(sock) is socket.socket
        assert sock is pubsub.connection._sock
        assert sock.getpeername()  # connected: the live socket, not a placeholder
    finally:
        pubsub.close()
        client.close()


def test_a_release_without_it_is_refused_clearly():
    class Connection:
        pass

    class PubSub:
        connection = Connection()

    with pytest.raises(RuntimeError, match=r"PubSub\.connection\._sock"):
        subscription_socket(PubSub())
