"""The body limit behind a real waitress server: it de-chunks uploads and hands the app a
Content-Length, so chunked bodies are held to the same limit as sized ones."""

from __future__ import annotations

import contextlib
import http.client
import json

import pytest
from pyramid.response import Response
from webtest.http import StopableWSGIServer

LIMIT = 4096


def add_echo(config):
    config.add_route("t.echo", "/t/echo")
    config.add_view(lambda request: Response(json_body={"length": len(request.body)}),
                    route_name="t.echo")  # fmt: skip


@pytest.fixture
def server(make_app):
    app = make_app({"benben.security.max_body_size": str(LIMIT)}, include=add_echo)
    # Listening from here on: connections wait in the backlog until its thread serves them.
    server = StopableWSGIServer.create(app.app)
    yield server
    server.shutdown()
    server.runner.join(timeout=10)


def post(server, body, *, chunked):
    connection = http.client.HTTPConnection(server.adj.host, server.adj.port, timeout=10)
    with contextlib.closing(connection):
        if chunked:
            chunks = (body[i : i + 1000] for i in range(0, len(body), 1000))
            connection.request("POST", "/t/echo", body=chunks, encode_chunked=True,
                               headers={"Transfer-Encoding": "chunked"})  # fmt: skip
        else:
            connection.request("POST", "/t/echo", body=body)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), json.loads(response.read())


@pytest.mark.parametrize("chunked", [False, True], ids=["sized", "chunked"])
def test_body_within_the_limit(server, chunked):
    status, _, body = post(server, b"a" * LIMIT, chunked=chunked)
    assert (status, body) == (200, {"length": LIMIT})


@pytest.mark.parametrize("chunked", [False, True], ids=["sized", "chunked"])
def test_body_over_the_limit(server, chunked):
    status, content_type, body = post(server, b"a" * (LIMIT * 3), chunked=chunked)
    assert status == 413
    assert content_type == "application/problem+json"
    assert body["max_body_size"] == LIMIT
