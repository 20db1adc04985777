"""The version board and the hot-path command sender over TLS (``rediss://``).

A throwaway ``redis-server`` with TLS (Debian's links libssl), on a self-signed certificate made
here; skipped where no redis-server binary is installed (CI has it: it runs the Redis service).
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from benben.cache.redis_direct import DirectRedis
from benben.cache.redis_versions import RedisVersionBoard
from benben.testing import unavailable


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "benben-test-redis")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "redis.crt", directory / "redis.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def tls_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server, to run one with TLS")
    directory = tmp_path_factory.mktemp("redis-tls")
    cert_file, key_file = self_signed(directory)
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(cert_file), "--tls-key-file", str(key_file),
         "--tls-ca-cert-file", str(cert_file), "--tls-auth-clients", "no",
         "--save", "", "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert_file}"
    try:
        deadline = time.monotonic() + 10
        while True:
            client = redis.Redis.from_url(url, socket_timeout=1)
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("the TLS redis-server did not start")
                time.sleep(0.05)
            finally:
                client.close()
        yield url
    finally:
        server.terminate()
        server.wait(10)


def wait_for(predicate, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


def test_announcements_reach_another_board_over_tls(tls_url):
    channel = f"benben-test-{uuid.uuid4().hex[:12]}:versions"
    boards = [RedisVersionBoard(tls_url, channel, socket_timeout=2, retry_interval=0.2)
              for _ in range(2)]  # fmt: skip
    try:
        for board in boards:
            board.current("any")
            wait_for(lambda b=board: b.trusted, "subscribed over TLS")
        first, second = boards
        for version in range(1, 6):
            first.announce({"books": version})
            wait_for(lambda v=version: second.current("books") == v, "the announcement arrived")
        first.bump_counter("auth")
        wait_for(lambda: second.counter("auth") == 1, "the shared counter arrived")
    finally:
        for board in boards:
            board.close()


def test_hot_path_commands_over_tls(tls_url):
    import redis

    client = redis.Redis.from_url(tls_url, socket_timeout=0.5)
    direct = DirectRedis(client.connection_pool)
    key = f"benben-test-{uuid.uuid4().hex}"
    try:
        assert direct.execute("INCR", key) == 1
        assert direct.execute("INCR", key) == 2
        with pytest.raises(redis.ResponseError):
            direct.execute("NOSUCHCOMMAND")
        assert direct.execute("GET", key) == b"2"  # still answering after a refusal
        started = time.monotonic()
        with pytest.raises((redis.ConnectionError, redis.TimeoutError)):
            direct.execute("BLPOP", f"{key}:list", 5)  # would wait 5 s: the timeout holds
        assert time.monotonic() - started < 4
        assert direct.execute("PING") in (b"PONG", True)
    finally:
        direct.close()
        client.delete(key)
        client.close()
