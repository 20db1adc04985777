"""benben serve sends response header names as the application spells them (not waitress's)."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from benben.serving_headers import create_server

HEADERS = [
    ("ETag", '"1"'),
    ("X-Request-ID", "abc"),
    ("WWW-Authenticate", "Bearer"),
    ("content-type", "text/plain"),
]


def _app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", HEADERS)
    return [b"ok: yes\r\nEtag: in the body, untouched"]


@pytest.fixture(scope="module")
def ports() -> Iterator[list[int]]:
    # Two listening sockets: each of waitress's servers must answer with our spelling.
    server = create_server(_app, listen="127.0.0.1:0 127.0.0.1:0", threads=1)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield [port for _host, port in server.effective_listen]
    finally:
        server.task_dispatcher.shutdown()
        server.close()
        thread.join(timeout=5)


def test_header_names_keep_the_applications_spelling(ports: list[int]) -> None:
    assert len(ports) == 2
    for port in ports:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/")
            response = connection.getresponse()
            names = [name for name, _value in response.getheaders()]
            body = response.read()
        finally:
            connection.close()
        assert {"ETag", "X-Request-ID", "WWW-Authenticate", "content-type"} <= set(names)
        assert "Etag" not in names
        # waitress's own headers are still there, in its spelling
        assert {"Content-Length", "Date", "Server"} <= set(names)
        assert response.getheader("etag") == '"1"'
        assert body == b"ok: yes\r\nEtag: in the body, untouched"
