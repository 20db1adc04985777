"""Security headers on every response (errors included), HSTS, Cache-Control for credentialed
requests, and the request body size limit (with and without Content-Length)."""

from __future__ import annotations

import io

import pytest
from pyramid.response import Response
from webob import Request as WebObRequest

from benben.hardening.headers import API_CSP, HTML_CSP, set_headers

LIMIT = 2048


def add_test_routes(config):
    def crash(request):
        raise RuntimeError("boom")

    def page(request):
        return Response("<html><body>hi</body></html>", content_type="text/html")

    def cached(request):
        response = Response(json_body={"public": True})
        response.cache_control = "public, max-age=60"
        return response

    def echo(request):
        return Response(json_body={"length": len(request.body)})

    def framed(request):
        # A view that sets a fixed header itself (any case) and its own request id.
        response = Response(json_body={}, headerlist=[("Content-Type", "application/json")])
        response.headerlist.extend([("x-frame-options", "SAMEORIGIN"), ("X-Request-ID", "mine")])
        return response

    views = (("crash", crash), ("page", page), ("cached", cached), ("echo", echo),
             ("framed", framed))  # fmt: skip
    for name, view in views:
        config.add_route(f"t.{name}", f"/t/{name}")
        config.add_view(view, route_name=f"t.{name}")


@pytest.fixture
def app(make_app):
    return make_app({"benben.security.max_body_size": str(LIMIT)}, include=add_test_routes)


def assert_security_headers(response, csp=API_CSP):
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"] == csp
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_headers_on_success(app):
    assert_security_headers(app.get("/api/v1/"))


def test_headers_on_not_found(app):
    assert_security_headers(app.get("/nowhere", status=404))


def test_headers_on_server_error(app):
    response = app.get("/t/crash", status=500)
    assert response.content_type == "application/problem+json"
    assert_security_headers(response)


def test_headers_on_health_probes(app):
    assert_security_headers(app.get("/health/live"))


def test_html_gets_a_workable_csp_that_still_forbids_framing(app):
    response = app.get("/t/page")
    assert_security_headers(response, csp=HTML_CSP)
    assert "script-src 'self'" in HTML_CSP


def test_no_hsts_by_default(app):
    assert "Strict-Transport-Security" not in app.get("/api/v1/").headers


def test_hsts_when_configured(make_app):
    app = make_app({"benben.security.hsts_max_age": "31536000"})
    for response in (app.get("/api/v1/"), app.get("/nowhere", status=404)):
        hsts = response.headers["Strict-Transport-Security"]
        assert hsts == "max-age=31536000; includeSubDomains"


def test_credentialed_responses_are_not_stored(app):
    response = app.get("/api/v1/auth/me", headers={"Authorization": "Bearer forged"}, status=401)
    assert response.headers["Cache-Control"] == "no-store"
    anonymous = app.get("/api/v1/")
    assert "no-store" not in (anonymous.headers.get("Cache-Control") or "")


def test_a_view_chosen_cache_control_is_kept(app):
    response = app.get("/t/cached", headers={"Authorization": "Bearer forged"}, status=401)
    assert response.headers["Cache-Control"] == "no-store"  # refused: our problem, no-store
    anonymous = app.get("/t/cached")
    assert anonymous.headers["Cache-Control"] == "public, max-age=60"


def test_each_header_is_sent_once(app):
    response = app.get("/api/v1/", headers={"Authorization": "Bearer forged"}, status=401)
    names = [name.lower() for name, _ in response.headerlist]
    assert len(names) == len(set(names)), names


def test_a_fixed_header_a_view_set_is_replaced_not_repeated(app):
    response = app.get("/t/framed", headers={"X-Request-ID": "given"})
    assert_security_headers(response)
    names = [name.lower() for name, _ in response.headerlist]
    assert names.count("x-frame-options") == 1
    assert names.count("x-request-id") == 1
    assert response.headers["X-Request-ID"] == "given"


# -- body limit ----------------------------------------------------------------------------
class Unreadable(io.RawIOBase):
    """A request body that must not be touched."""

    def read(self, size=-1):
        raise AssertionError("the body was read")


def test_body_within_the_limit_is_accepted(app):
    response = app.post("/t/echo", b"x" * LIMIT, content_type="application/octet-stream")
    assert response.json == {"length": LIMIT}


def test_body_over_the_limit_is_refused_with_413(app):
    response = app.post("/t/echo", b"x" * (LIMIT + 1), content_type="application/octet-stream",
                        status=413)  # fmt: skip
    assert response.content_type == "application/problem+json"
    assert response.json["status"] == 413
    assert response.json["max_body_size"] == LIMIT
    assert_security_headers(response)


def test_declared_length_over_the_limit_is_refused_before_reading(app):
    request = WebObRequest.blank("/t/echo", method="POST")
    request.environ.update({"wsgi.input": Unreadable(), "CONTENT_LENGTH": str(10 * LIMIT)})
    response = request.get_response(app.app)
    assert response.status_code == 413


def test_invalid_content_length_is_a_400(app):
    request = WebObRequest.blank("/t/echo", method="POST")
    request.environ.update({"wsgi.input": Unreadable(), "CONTENT_LENGTH": "lots"})
    response = request.get_response(app.app)
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"


def chunked_request(body: bytes) -> WebObRequest:
    """A request whose body has no Content-Length, as servers pass on chunked uploads."""
    request = WebObRequest.blank("/t/echo", method="POST")
    request.environ.pop("CONTENT_LENGTH", None)
    request.environ.update({"wsgi.input": io.BytesIO(body), "HTTP_TRANSFER_ENCODING": "chunked",
                            "wsgi.input_terminated": True})  # fmt: skip
    return request


def test_chunked_body_over_the_limit_is_refused(app):
    stream = io.BytesIO(b"y" * (LIMIT * 50))
    request = chunked_request(b"")
    request.environ["wsgi.input"] = stream
    response = request.get_response(app.app)
    assert response.status_code == 413
    assert response.content_type == "application/problem+json"
    assert stream.tell() == LIMIT + 1  # read no further than needed to know


def test_chunked_body_within_the_limit_reaches_the_view(app):
    response = chunked_request(b"z" * LIMIT).get_response(app.app)
    assert response.status_code == 200
    assert response.json == {"length": LIMIT}


def test_undecodable_url_is_a_400_problem_with_headers(app):
    response = app.get("/t/%ff%fe", status=400)
    assert response.content_type == "application/problem+json"
    assert_security_headers(response)


def test_the_copy_of_a_large_body_is_closed_after_the_request(make_app, monkeypatch):
    """WebOb copies a body over 10 KB into a temporary file for pyramid_retry to replay; the
    file is closed when the request ends, not left open until garbage collection."""
    from webob.request import BaseRequest

    made = []
    original = BaseRequest.make_tempfile
    monkeypatch.setattr(
        BaseRequest, "make_tempfile", lambda self: made.append(original(self)) or made[-1]
    )
    app = make_app({"benben.security.max_body_size": str(64 * 1024)}, include=add_test_routes)
    body = b"x" * (20 * 1024)
    assert app.post("/t/echo", body, content_type="text/plain").json == {"length": len(body)}
    assert made, "WebOb kept the body in memory: the test no longer exercises the copy"
    assert all(copy.closed for copy in made)


def test_set_headers_replaces_whatever_the_case_and_appends_the_rest():
    response = Response()
    response.headerlist.append(("x-frame-options", "SAMEORIGIN"))
    set_headers(response, {"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"})
    names = [name.lower() for name, _ in response.headerlist]
    assert names.count("x-frame-options") == 1
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
