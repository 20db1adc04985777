"""Peeking at a socket: nothing consumed, no blocking, closures and closed sockets answered."""

from __future__ import annotations

import fcntl
import resource
import socket
import sys

import pytest

from benben.cache import peek
from benben.testing import unavailable


@pytest.fixture(params=["libc", "select"])
def readable_now(request, monkeypatch):
    if request.param == "select":
        monkeypatch.setattr(peek, "_peek", None)
    elif not peek.holds_gil():  # pragma: no cover - Linux, where Benben runs, always has it
        assert not sys.platform.startswith("linux"), "the C library's recv must be used here"
        pytest.skip("no C library recv here: select is the only way")
    return peek.readable_now


def test_an_idle_socket_is_not_readable(pair, readable_now):
    left, _ = pair
    assert readable_now(left) is False


def test_waiting_bytes_are_seen_and_left_in_place(pair, readable_now):
    left, right = pair
    right.sendall(b"announcement")
    assert readable_now(left) is True
    assert readable_now(left) is True  # still there: peeking consumed nothing
    assert left.recv(100) == b"announcement"
    assert readable_now(left) is False


def test_a_peer_that_closed_counts_as_readable(pair, readable_now):
    left, right = pair
    right.close()
    assert readable_now(left) is True  # whoever reads next meets the closure


def test_a_closed_socket_is_not_readable(pair, readable_now):
    left, _ = pair
    left.close()
    assert readable_now(left) is False


def test_a_blocking_socket_is_peeked_without_blocking(pair, readable_now):
    left, _ = pair
    left.setblocking(True)
    assert readable_now(left) is False  # returned at once: MSG_DONTWAIT or a zero timeout


def test_a_socket_with_a_timeout_is_peeked_without_waiting_for_it(pair, readable_now):
    left, right = pair
    left.settimeout(30)
    assert readable_now(left) is False  # at once, not after 30 s
    right.sendall(b"x")
    assert readable_now(left) is True


def test_a_descriptor_above_1024_is_peeked(request, pair, readable_now):
    """select() cannot watch a descriptor above FD_SETSIZE (1024); a busy server has them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft <= 1200:
        if hard != resource.RLIM_INFINITY and hard <= 1200:
            unavailable(f"a hard open-file limit above 1200 (it is {hard} here)")
        resource.setrlimit(resource.RLIMIT_NOFILE, (1201, hard))
        request.addfinalizer(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard)))
    left, right = pair
    high = socket.socket(fileno=fcntl.fcntl(left.fileno(), fcntl.F_DUPFD, 1100))
    with high:
        assert high.fileno() >= 1100
        assert readable_now(high) is False
        right.sendall(b"x")
        assert readable_now(high) is True
