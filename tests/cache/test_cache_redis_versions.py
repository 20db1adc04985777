"""benben.cache.redis_versions: versions every instance learns of, through Redis."""

from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest

from benben.cache import redis_versions
from benben.cache.redis_versions import RedisVersionBoard
from benben.cache.versions import VersionBoard
from benben.testing import require_redis


def wait_for(predicate, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


def subscribed_board(url: str, channel: str, **options) -> RedisVersionBoard:
    options = {"socket_timeout": 2, "retry_interval": 0.2, **options}
    board = RedisVersionBoard(url, channel, **options)
    board.current("any")  # starts the subscription
    wait_for(lambda: board.trusted, "subscribed")
    return board


def new_channel() -> str:
    return f"benben-test-{uuid.uuid4().hex[:12]}:versions"


@pytest.fixture
def redis_boards():
    url = require_redis()
    channel = new_channel()
    boards = [subscribed_board(url, channel) for _ in range(2)]
    yield boards
    import redis

    client = redis.Redis.from_url(url)
    client.delete(f"{channel}:auth")
    client.close()
    for board in boards:
        board.close()


@pytest.fixture
def redis_client():
    import redis

    client = redis.Redis.from_url(require_redis(), decode_responses=True)
    yield client
    client.close()


def test_an_announcement_reaches_every_instance(redis_boards):
    first, second = redis_boards
    first.announce({"books": 42})
    assert first.current("books") == 42  # at once where it was made
    wait_for(lambda: second.current("books") == 42, "the other instance learned it")


def test_shared_counters_use_redis(redis_boards):
    first, second = redis_boards
    assert first.counter("auth") == second.counter("auth") == 0
    first.bump_counter("auth")
    wait_for(lambda: second.counter("auth") == 1, "the bump reached the other instance")
    # A board that lost track reads the counter back from Redis, not from zero.
    second.forget(trusted=True)
    assert second.counter("auth") == 1


def test_malformed_announcements_are_ignored(redis_boards):
    first, second = redis_boards
    first._publisher.publish(first.channel, b"not json")
    first.announce({"books": 7})
    wait_for(lambda: second.current("books") == 7, "the next good one still arrives")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_without_redis_nothing_is_trusted_and_nothing_fails():
    board = RedisVersionBoard(
        f"redis://127.0.0.1:{closed_port()}/0", "x:versions", socket_timeout=0.2,
        retry_interval=0.2,
    )  # fmt: skip
    try:
        assert board.current("books") is None
        board.announce({"books": 1})  # dropped, counted, logged: never raised
        board.bump_counter("auth")
        assert board.counter("auth") is None
        assert board.publish_errors >= 1
        time.sleep(0.3)  # a reconnection attempt or two
        assert not board.trusted
    finally:
        board.close()


def test_a_read_waits_for_what_redis_delivered(monkeypatch):
    """Only the listener reads the subscription, resting after each batch; a request that sees
    bytes waiting wakes it and waits for them to be taken in."""
    monkeypatch.setattr(redis_versions, "_LISTEN_BATCH_PAUSE", 30.0)
    url = require_redis()
    channel = new_channel()
    writer, reader = subscribed_board(url, channel), subscribed_board(url, channel)
    try:
        writer.announce({"books": 1})
        wait_for(lambda: reader.current("books") == 1, "the first announcement arrived")
        # The listener now rests for 30 s unless a request asks for what is waiting.
        writer.announce({"books": 2})
        wait_for(lambda: reader.current("books") == 2, "the second one, long before 30 s", 3)
    finally:
        reader.close()
        writer.close()


class StalledListener(RedisVersionBoard):
    """A board whose listener, once stalled, never gets to read (as on a starved CPU)."""

    def _drain(self, pubsub):
        if self.stalled.is_set():
            return 0
        return super()._drain(pubsub)


def test_a_stalled_listener_delays_a_read_by_the_settle_limit_at_most():
    url = require_redis()
    channel = new_channel()
    writer = subscribed_board(url, channel)
    reader = StalledListener(url, channel, socket_timeout=2, retry_interval=0.2)
    reader.stalled = threading.Event()
    try:
        reader.current("any")
        wait_for(lambda: reader.trusted, "subscribed")
        reader.stalled.set()
        writer.announce({"books": 1})
        wait_for(lambda: reader._socket is not None and redis_versions.readable_now(
            reader._socket), "the announcement is waiting on the socket")  # fmt: skip
        started = time.monotonic()
        assert reader.current("books") is None  # not taken in: the database answers
        assert time.monotonic() - started < 10 * redis_versions._SETTLE_LIMIT
        reader.stalled.clear()
        wait_for(lambda: reader.current("books") == 1, "taken in once the listener runs")
    finally:
        reader.close()
        writer.close()


def test_nothing_waiting_costs_no_wait(redis_boards):
    _, reader = redis_boards
    started = time.monotonic()
    for _ in range(100):
        reader.current("books")
    # Each read peeks and returns: far from 100 waits of the 50 ms settle limit.
    assert time.monotonic() - started < 100 * redis_versions._SETTLE_LIMIT / 4


def redis_client_of(board: RedisVersionBoard, client) -> dict:
    """The subscription's connection as Redis lists it ({} while there is none)."""
    sock = board._socket
    if sock is None or sock.fileno() < 0:
        return {}
    host, port = sock.getsockname()[:2]
    entries = [c for c in client.client_list() if c["addr"] == f"{host}:{port}"]
    return entries[0] if entries else {}


def test_a_silent_subscription_is_pinged(monkeypatch, redis_client):
    monkeypatch.setattr(redis_versions, "_HEALTH_CHECK_INTERVAL", 1)
    board = subscribed_board(require_redis(), new_channel())
    try:
        wait_for(lambda: redis_client_of(board, redis_client).get("cmd") == "ping",
                 "a PING was sent")  # fmt: skip
        time.sleep(2.5)  # several intervals: each PING was answered, or it would reconnect
        assert board.trusted
        assert redis_client_of(board, redis_client)["cmd"] == "ping"
    finally:
        board.close()


def test_a_dropped_subscription_is_made_again_at_once(redis_client):
    url = require_redis()
    channel = new_channel()
    # Retrying only every minute: a dropped subscription must not wait for that.
    writer, reader = (subscribed_board(url, channel, retry_interval=60) for _ in range(2))
    try:
        dropped = redis_client_of(reader, redis_client)
        redis_client.client_kill_filter(_id=dropped["id"])
        wait_for(
            lambda: (
                redis_client_of(reader, redis_client).get("id", dropped["id"]) != dropped["id"]
                and reader.trusted
            ),
            "subscribed again",
        )
        writer.announce({"books": 11})
        wait_for(lambda: reader.current("books") == 11, "announcements arrive again")
    finally:
        reader.close()
        writer.close()


def test_a_socket_closed_while_a_request_peeks_is_never_read_reused(monkeypatch, redis_client):
    """The fd window: the subscription fails (as on an unanswered PING) while a request checks
    for pending bytes.  The socket cannot be closed under the peek, and a socket opened later,
    whatever descriptor it takes, is neither read nor drained by the board."""
    board = subscribed_board(require_redis(), new_channel())
    subscription = board._socket
    connection = redis_client_of(board, redis_client)
    open_during_peek = []
    real_peek = redis_versions.readable_now

    def peek_while_the_connection_fails(sock):
        if not open_during_peek:
            redis_client.client_kill_filter(_id=connection["id"])
            time.sleep(0.5)  # the listener meets the failure meanwhile
            open_during_peek.append(sock.fileno() >= 0)
        return real_peek(sock)

    monkeypatch.setattr(redis_versions, "readable_now", peek_while_the_connection_fails)
    try:
        request = threading.Thread(target=board.current, args=("books",))
        request.start()
        request.join(5)
        assert open_during_peek == [True]  # its closure waited for the peek
        wait_for(lambda: subscription.fileno() < 0, "the failed subscription closed")
        bystander, peer = socket.socketpair()  # likely on the descriptor just freed
        with bystander, peer:
            peer.sendall(b"not for the board")
            wait_for(lambda: board.trusted, "subscribed again")
            for _ in range(20):
                board.current("books")
            assert board._socket is not bystander
            assert bystander.recv(100, socket.MSG_DONTWAIT) == b"not for the board"
    finally:
        board.close()


class ScriptedPubSub:
    """What redis-py's PubSub answers, scripted: None for a PING's answer or a partial message."""

    health_check_response_counter = 0

    def __init__(self, replies, *, endless_partial=False) -> None:
        self.replies = list(replies)
        self.endless_partial = endless_partial
        self.connection = self
        self.reads = 0

    def get_message(self, timeout):
        self.reads += 1
        return self.replies.pop(0) if self.replies else None

    def can_read(self, timeout):
        return bool(self.replies) or self.endless_partial


def unstarted_board() -> RedisVersionBoard:
    return RedisVersionBoard(f"redis://127.0.0.1:{closed_port()}/0", "x:versions",
                             socket_timeout=0.2, retry_interval=0.2)  # fmt: skip


def test_a_drain_reads_past_ping_answers_to_the_messages_behind_them():
    board = unstarted_board()
    try:
        board.forget(trusted=True)
        announcement = {"type": "message", "channel": b"x", "data": b'{"books": 3}'}
        assert board._drain(ScriptedPubSub([None, None, announcement])) == 1
        assert VersionBoard.current(board, "books") == 3  # (no listener started)
        # A message still arriving (bytes, never a whole message) ends the drain all the same.
        partial = ScriptedPubSub([], endless_partial=True)
        assert board._drain(partial) == 0
        assert partial.reads == redis_versions._IDLE_READS_PER_DRAIN
    finally:
        board.close()
