"""``config.add_body_limit``: paths with their own body limit (uploads), streamed to the view
without the buffering and the retry copy other bodies get."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pyramid.exceptions import ConfigurationError
from pyramid.response import Response
from webob import Request as WebObRequest

LIMIT = 2048
UPLOAD_LIMIT = 64 * 1024


def _routes(config: Any) -> None:
    config.add_body_limit(r"/up/[a-z]+", UPLOAD_LIMIT)

    def receive(request: Any) -> Response:
        received = 0
        while chunk := request.body_file_raw.read(8192):
            received += len(chunk)
        return Response(
            json_body={
                "received": received,
                # The server's own stream (a test passes it as test.input), not a copy.
                "same_stream": request.environ["wsgi.input"] is request.environ.get("test.input"),
                "attempt": request.environ.get("retry.attempt"),
            }
        )

    for name, pattern in (("up", "/up/{name}"), ("other", "/other")):
        config.add_route(name, pattern)
        config.add_view(receive, route_name=name, request_method="POST")


@pytest.fixture
def app(make_app: Any) -> Any:
    return make_app({"benben.security.max_body_size": str(LIMIT)}, include=_routes)


def test_a_path_with_its_own_limit_accepts_more_than_the_default(app: Any) -> None:
    body = b"x" * (LIMIT * 10)
    answer = app.post("/up/files", body, headers={"Content-Type": "application/octet-stream"})
    assert answer.json["received"] == len(body)
    refused = app.post("/other", body, status=413)
    assert refused.json["max_body_size"] == LIMIT
    # The pattern matches whole paths only.
    app.post("/up/files/more", body, status=413)


def test_its_own_limit_is_enforced_with_the_limit_in_the_problem(app: Any) -> None:
    refused = app.post("/up/files", b"x" * (UPLOAD_LIMIT + 1), status=413)
    assert refused.content_type == "application/problem+json"
    assert refused.json["max_body_size"] == UPLOAD_LIMIT


def _post(app: Any, path: str, body: bytes) -> Any:
    stream = io.BytesIO(body)
    request = WebObRequest.blank(path, method="POST")
    request.environ.update({"wsgi.input": stream, "test.input": stream})
    request.environ["CONTENT_LENGTH"] = str(len(body))
    return request.get_response(app.app)


def test_a_seekable_body_is_rewound_for_retries_not_copied(app: Any) -> None:
    body = b"z" * (LIMIT * 4)
    answer = _post(app, "/up/files", body)
    assert answer.json == {"received": len(body), "same_stream": True, "attempt": 0}
    # Elsewhere pyramid_retry copies it (a small body, into memory), as before.
    small = _post(app, "/other", b"z" * 100)
    assert small.json["same_stream"] is False


def test_a_body_of_unknown_length_is_streamed_to_the_view_not_buffered(app: Any) -> None:
    body = b"y" * (UPLOAD_LIMIT * 3)
    request = WebObRequest.blank("/up/files", method="POST")
    request.environ["wsgi.input"] = io.BytesIO(body)
    request.environ["wsgi.input_terminated"] = True
    request.environ.pop("CONTENT_LENGTH", None)
    answer = request.get_response(app.app)
    # Counted by the view (which, for an upload, enforces its own limit as it reads).
    assert answer.status_int == 200
    assert answer.json["received"] == len(body)
    elsewhere = WebObRequest.blank("/other", method="POST")
    elsewhere.environ["wsgi.input"] = io.BytesIO(body)
    elsewhere.environ["wsgi.input_terminated"] = True
    elsewhere.environ.pop("CONTENT_LENGTH", None)
    assert elsewhere.get_response(app.app).status_int == 413


def test_a_bad_pattern_or_limit_stops_start_up(make_app: Any) -> None:
    with pytest.raises(ConfigurationError, match="regular expression"):
        make_app(include=lambda config: config.add_body_limit("(", 10))
    with pytest.raises(ConfigurationError, match="number of bytes"):
        make_app(include=lambda config: config.add_body_limit("/x", -1))
