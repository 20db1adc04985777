"""Every error response is application/problem+json (RFC 9457); a 500 hides its internals."""

from __future__ import annotations

import logging

import pytest
from pyramid.httpexceptions import (
    HTTPBadRequest,
    HTTPForbidden,
    HTTPFound,
    HTTPTooManyRequests,
    HTTPUnauthorized,
    status_map,
)
from pyramid.tweens import EXCVIEW

from benben.errors import (
    PROBLEM_JSON,
    TOO_LARGE_TITLE,
    TOO_LARGE_TYPE,
    VALIDATION_TYPE,
    ProblemError,
    json_pointer,
)
from benben.rest import Service

ERROR_CODES = sorted(code for code in status_map if 400 <= code <= 505)


def assert_problem(response, status):
    assert response.status_int == status
    assert response.content_type == PROBLEM_JSON
    body = response.json
    assert body["status"] == status
    assert body["type"]
    assert body["title"]
    assert body["instance"].startswith("/")  # docs/errors.md: always there
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def include_error_views(config):
    def raise_code(request):
        raise status_map[int(request.matchdict["code"])]()

    def raise_forbidden(request):
        raise HTTPForbidden()

    def return_bad_request(request):
        return HTTPBadRequest("The 'q' parameter is required.")

    def return_unauthorized(request):
        return HTTPUnauthorized(headers={"WWW-Authenticate": 'Bearer realm="benben"'})

    def raise_problem(request):
        raise ProblemError(
            409,
            detail="Version 3 is not the latest (5).",
            type="urn:benben:problem:conflict",
            errors=[{"pointer": "/version", "message": "stale"}],
            headers={"ETag": '"5"'},
            latest=5,
        )

    def raise_redirect(request):
        raise HTTPFound(location="/elsewhere")

    def crash(request):
        logging.getLogger("tests.errors").info("about to fail")
        raise RuntimeError("password=hunter2 in /srv/benben/internal.py")

    for name, view in {"forbidden": raise_forbidden, "bad": return_bad_request,
                       "unauthorized": return_unauthorized, "problem": raise_problem,
                       "redirect": raise_redirect, "crash": crash}.items():  # fmt: skip
        config.add_route(f"test.{name}", f"/test/{name}")
        config.add_view(view, route_name=f"test.{name}", renderer="json")
    config.add_route("test.code", "/test/code/{code}")
    config.add_view(raise_code, route_name="test.code", renderer="json")

    things = Service("test.things", "/test/things")

    def validate(request, **_kwargs):
        if "limit" in request.GET and not request.GET["limit"].isdigit():
            request.errors.add("querystring", "limit", "must be a whole number")
        body = request.json_body if request.body else {}
        if not body.get("data", {}).get("title"):
            request.errors.add("body", "data.title", "is required")

    @things.post(validators=(validate,))
    def create_thing(request):
        return {"created": request.json_body["data"]["title"]}

    config.add_cornice_service(things)


@pytest.fixture
def errors_app(make_app):
    return make_app(include=include_error_views)


def test_pyramid_not_found(errors_app):
    body = assert_problem(errors_app.get("/no/such/thing", status=404), 404)
    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"
    assert body["detail"] == "No resource at /no/such/thing."
    assert body["instance"] == "/no/such/thing"


def test_method_not_allowed_names_the_allowed_methods(errors_app):
    response = errors_app.post("/health/live", status=405)
    body = assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]
    assert "POST" not in response.headers["Allow"]
    assert body["detail"].startswith("Method POST is not allowed on /health/live; allowed: GET")


def test_cornice_service_method_not_allowed(errors_app):
    response = errors_app.get("/test/things", status=405)
    assert_problem(response, 405)
    assert response.headers["Allow"] == "POST"


def test_raised_forbidden(errors_app):
    body = assert_problem(errors_app.get("/test/forbidden", status=403), 403)
    assert body["detail"] == "You are not allowed to do this."


def test_returned_http_errors_become_problems(errors_app):
    body = assert_problem(errors_app.get("/test/bad", status=400), 400)
    assert body["detail"] == "The 'q' parameter is required."
    response = errors_app.get("/test/unauthorized", status=401)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="benben"'


# Rendering errors does not depend on the storage: one backend pair is enough here.
@pytest.mark.parametrize("backends", [("sqlite", "memory")], indirect=True)
@pytest.mark.parametrize("code", ERROR_CODES)
def test_every_http_error_is_a_problem(errors_app, code):
    body = assert_problem(errors_app.get(f"/test/code/{code}", status=code), code)
    if code == 413:  # every 413 has Benben's type, whoever raised it (docs/errors.md)
        assert (body["type"], body["title"]) == (TOO_LARGE_TYPE, TOO_LARGE_TITLE)
    else:
        assert body["title"] == status_map[code].title
    assert "Traceback" not in errors_app.get(f"/test/code/{code}", status=code).text


def test_problem_error_carries_everything(errors_app):
    response = errors_app.get("/test/problem", status=409)
    body = assert_problem(response, 409)
    assert body["type"] == "urn:benben:problem:conflict"
    assert body["title"] == "Conflict"
    assert body["detail"] == "Version 3 is not the latest (5)."
    assert body["errors"] == [{"pointer": "/version", "message": "stale"}]
    assert body["latest"] == 5
    assert response.headers["ETag"] == '"5"'


def test_redirects_are_not_errors(errors_app):
    response = errors_app.get("/test/redirect", status=302)
    assert response.headers["Location"].endswith("/elsewhere")


def test_cornice_validation_errors_point_at_each_field(errors_app):
    response = errors_app.post_json("/test/things?limit=ten", {"data": {}}, status=400)
    body = assert_problem(response, 400)
    assert body["type"] == VALIDATION_TYPE
    assert body["title"] == "Invalid request"
    assert body["errors"] == [
        {"location": "querystring", "pointer": "/limit", "message": "must be a whole number"},
        {"location": "body", "pointer": "/data/title", "message": "is required"},
    ]
    assert body["detail"] == "/limit: must be a whole number; /data/title: is required"
    ok = errors_app.post_json("/test/things?limit=10", {"data": {"title": "t"}})
    assert ok.json == {"created": "t"}


def test_unexpected_error_hides_internals_and_is_logged_with_request_id(errors_app, caplog):
    caplog.set_level(logging.INFO)
    response = errors_app.get("/test/crash", headers={"X-Request-ID": "crash-42"}, status=500)
    body = assert_problem(response, 500)
    assert body["request_id"] == "crash-42"
    assert "request id" in body["detail"]
    for leak in ("Traceback", "hunter2", "RuntimeError", "internal.py"):
        assert leak not in response.text
    (logged,) = [r for r in caplog.records if r.name == "benben.errors"]
    assert logged.levelno == logging.ERROR
    assert logged.request_id == "crash-42"
    assert logged.exc_info[0] is RuntimeError
    (before,) = [r for r in caplog.records if r.name == "tests.errors"]
    assert before.request_id == "crash-42"


def failing_tween_factory(handler, registry):
    """Fails above the exception views, where only the outermost tween can still answer."""

    def tween(request):
        if request.path == "/test/tween-crash":
            raise RuntimeError("password=hunter2")
        if request.path == "/test/tween-limit":
            raise HTTPTooManyRequests(headers={"Retry-After": "7"})
        return handler(request)

    return tween


@pytest.fixture
def tween_app(make_app):
    return make_app(
        include=lambda config: config.add_tween(f"{__name__}.failing_tween_factory", over=EXCVIEW)
    )


def test_errors_escaping_the_exception_views_are_still_problems(tween_app, caplog):
    response = tween_app.get("/test/tween-crash", headers={"X-Request-ID": "t-1"}, status=500)
    body = assert_problem(response, 500)
    assert body["request_id"] == "t-1"
    assert "hunter2" not in response.text
    (logged,) = [r for r in caplog.records if r.name == "benben.observability.tweens"]
    assert logged.request_id == "t-1"
    assert logged.exc_info[0] is RuntimeError

    response = tween_app.get("/test/tween-limit", status=429)
    assert_problem(response, 429)
    assert response.headers["Retry-After"] == "7"


def test_a_query_string_that_is_not_utf8_is_a_400_not_a_crash(errors_app):
    # The view reads request.GET, which WebOb decodes only then: the crash becomes a 400.
    response = errors_app.post_json("/test/things?limit=%ff", {"data": {"title": "t"}}, status=400)
    body = assert_problem(response, 400)
    assert body["type"] == VALIDATION_TYPE
    assert body["errors"] == [{"location": "querystring", "name": "", "message": "not UTF-8"}]


def test_a_unicode_error_from_a_bug_is_still_a_500(errors_app, make_app):
    def include(config):
        def broken(request):
            return {"text": b"\xff".decode("utf-8")}

        config.add_route("test.broken", "/test/broken")
        config.add_view(broken, route_name="test.broken", renderer="json")

    assert_problem(make_app(include=include).get("/test/broken?q=ok", status=500), 500)


def test_json_pointer_escapes():
    assert json_pointer("data", "a/b", "c~d", 0) == "/data/a~1b/c~0d/0"
    assert json_pointer() == ""


# A path that is not UTF-8 still has an instance: its bytes, percent-encoded (issue #14).
@pytest.mark.parametrize("backends", [("sqlite", "memory")], indirect=True)
@pytest.mark.parametrize(
    ("path_info", "status", "instance"),
    [
        ("/api/v1/collections/\xff", 400, "/api/v1/collections/%FF"),
        ("/\xff\xfe", 400, "/%FF%FE"),
        ("/nowhere/caf\xc3\xa9", 404, "/nowhere/caf%C3%A9"),  # UTF-8: encoded the same way
        ("/nowhere/100%", 404, "/nowhere/100%25"),  # a literal % is not an escape
    ],
)
def test_every_problem_has_an_instance_even_for_a_path_that_is_not_utf8(
    errors_app, path_info, status, instance
):
    response = errors_app.get("/", extra_environ={"PATH_INFO": path_info}, status=status)
    assert assert_problem(response, status)["instance"] == instance


@pytest.mark.parametrize("backends", [("sqlite", "memory")], indirect=True)
def test_a_percent_encoded_path_that_is_not_utf8_has_an_instance(errors_app):
    response = errors_app.get("/api/v1/collections/%FF", status=400)
    assert assert_problem(response, 400)["instance"] == "/api/v1/collections/%FF"
