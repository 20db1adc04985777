"""benben.hardening.params: NUL characters and lone surrogates in a URL or a header are refused
for every route, a plain Pyramid view as much as a Service, before the view runs."""

from __future__ import annotations

import pytest

from benben.errors import VALIDATION_TYPE


def include_echo(config):
    calls = config.registry.setdefault("test.echo.calls", [])

    def echo(request):
        calls.append(request.path)
        return {"matched": dict(request.matchdict), "query": dict(request.GET)}

    config.add_route("test.echo", "/test/echo/{name}/*rest")
    config.add_view(echo, route_name="test.echo", renderer="json")


@pytest.fixture
def echo_app(make_app):
    return make_app(include=include_echo)


def _refused(response):
    assert response.content_type == "application/problem+json"
    assert response.json["type"] == VALIDATION_TYPE
    return [(error["location"], error["name"]) for error in response.json["errors"]]


def test_clean_text_reaches_the_view(echo_app):
    response = echo_app.get("/test/echo/caf%C3%A9/a/b", {"q": "line\nbreak", "x": "😀"})
    assert response.json == {
        "matched": {"name": "café", "rest": ["a", "b"]},
        "query": {"q": "line\nbreak", "x": "😀"},
    }


@pytest.mark.parametrize(
    ("url", "headers", "refused"),
    [
        ("/test/echo/a%00b/c", {}, [("path", "name")]),
        ("/test/echo/ab/c/d%00", {}, [("path", "rest")]),
        ("/test/echo/ab/c?q=%00", {}, [("querystring", "q")]),
        ("/test/echo/ab/c?%00=1", {}, [("querystring", "\x00")]),
        ("/test/echo/ab/c", {"X-Custom": "a\x00b"}, [("header", "X-Custom")]),
        ("/test/echo/a%00/c?q=%00", {}, [("path", "name"), ("querystring", "q")]),
    ],
)
def test_nul_anywhere_in_the_url_or_a_header_is_a_400_naming_it(echo_app, url, headers, refused):
    response = echo_app.get(url, headers=headers, status=400)
    assert _refused(response) == refused
    assert echo_app.app.registry["test.echo.calls"] == []  # the view never ran
