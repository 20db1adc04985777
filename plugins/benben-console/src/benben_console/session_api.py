"""``/admin/session``: the console's login, refresh and logout, keeping the refresh token out of
JavaScript's reach.

The console holds its access token in memory only.  The refresh token lives in the cookie
``benben_console_refresh`` (``HttpOnly``: no script reads it, so an XSS cannot steal the
session's future; ``Secure``; ``SameSite=Strict``; ``Path=/admin/session``: sent to these
endpoints only, never to the API).  The endpoints call core's own ``/api/v1/auth/*`` through
subrequests, so login throttling, rate limits and refresh-token rotation (with re-use detection)
apply unchanged.

CSRF: a cookie a browser sends by itself is what a forged request abuses.  Besides
``SameSite=Strict``, every endpoint requires the header ``X-Benben-Console: 1`` (a cross-site
page cannot set a custom header without a CORS preflight, which Benben does not grant) and, when
the browser sends ``Origin`` (or ``Sec-Fetch-Site``), that it is this server's own.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from pyramid.request import Request as PyramidRequest
from pyramid.response import Response as PyramidResponse

from benben.plugin import Configurator, Request, problem_response, public_url

__all__ = ["COOKIE_NAME", "CSRF_HEADER", "includeme"]

COOKIE_NAME = "benben_console_refresh"
CSRF_HEADER = "X-Benben-Console"
SECURE_COOKIE_KEY = "benben_console.secure_cookie"
_JSON = "application/json"
# What a subrequest keeps of the browser's request: the client's address (login throttling per
# address, rate limits) and what the proxy tween and the logs read.
_INHERITED_ENVIRON = (
    "REMOTE_ADDR",
    "HTTP_HOST",
    "HTTP_USER_AGENT",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_FORWARDED",
    "HTTP_X_REQUEST_ID",
    "wsgi.url_scheme",
)
_PASSED_HEADERS = ("Retry-After", "WWW-Authenticate")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def csrf_problem(request: Request) -> PyramidResponse | None:
    """A 403 problem when the request may come from another site, else None."""
    if request.headers.get(CSRF_HEADER) != "1":
        return problem_response(
            request, 403, detail=f"Console session requests need the header {CSRF_HEADER}: 1."
        )
    origin = request.headers.get("Origin")
    if origin is not None:
        allowed = {_origin(request.host_url), _origin(public_url(request))}
        if origin.lower() not in allowed:
            return problem_response(
                request, 403, detail="The request's Origin is not this server's."
            )
    elif request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return problem_response(request, 403, detail="The request comes from another site.")
    return None


def _subrequest(
    request: Request, method: str, path: str, body: Any = None, token: str | None = None
) -> PyramidResponse:
    headers = {"Accept": _JSON}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    sub = PyramidRequest.blank(
        request.script_name + path, base_url=request.host_url, method=method, headers=headers
    )
    sub.script_name = request.script_name
    sub.path_info = path
    if body is not None:
        sub.content_type = _JSON
        sub.body = json.dumps(body).encode()
    for key in _INHERITED_ENVIRON:
        if key in request.environ:
            sub.environ[key] = request.environ[key]
    # With tweens: the auth views run in their own transaction, throttled and rate-limited as
    # if called directly.
    return request.invoke_subrequest(sub, use_tweens=True)


def _passed_on(response: PyramidResponse) -> PyramidResponse:
    """Core's error answer, as the console's."""
    passed = PyramidResponse(
        body=response.body, status=response.status, content_type=response.content_type
    )
    passed.charset = response.charset
    for name in _PASSED_HEADERS:
        if name in response.headers:
            passed.headers[name] = response.headers[name]
    return passed


def _cookie_path(request: Request) -> str:
    return request.script_name + "/admin/session"


def _set_cookie(request: Request, response: PyramidResponse, token: str | None) -> None:
    secure = bool(request.registry.get(SECURE_COOKIE_KEY, True))
    if token is None:
        # Expired at once, with the attributes it was set with.
        response.set_cookie(
            COOKIE_NAME,
            "",
            max_age=0,
            path=_cookie_path(request),
            secure=secure,
            httponly=True,
            samesite="Strict",
        )
        return
    ttl = request.registry.settings.get("benben.jwt.refresh_ttl")
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=int(ttl) if ttl else None,
        path=_cookie_path(request),
        secure=secure,
        httponly=True,
        samesite="Strict",
    )


def _session_answer(request: Request, tokens: dict[str, Any]) -> PyramidResponse:
    """The access token and the caller's account as JSON; the refresh token in the cookie."""
    me = _subrequest(request, "GET", "/api/v1/auth/me", token=tokens["access_token"])
    body = {
        "access_token": tokens["access_token"],
        "token_type": tokens.get("token_type", "Bearer"),
        "expires_in": tokens.get("expires_in"),
        "user": me.json_body.get("user") if me.status_code == 200 else None,
        "me": me.json_body if me.status_code == 200 else None,
    }
    response = PyramidResponse(json=body, content_type=_JSON, charset=None)
    response.cache_control = "no-store"
    _set_cookie(request, response, tokens["refresh_token"])
    return response


def login_view(request: Request) -> PyramidResponse:
    """``POST /admin/session``: ``{"username", "password"}`` (or ``email``/``login``)."""
    refused = csrf_problem(request)
    if refused is not None:
        return refused
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return problem_response(request, 400, detail="The body is not JSON.")
    if not isinstance(body, dict):
        return problem_response(
            request,
            400,
            detail="The body must be a JSON object with a username and a password.",
            errors=[{"location": "body", "pointer": "", "message": "must be an object"}],
        )
    answer = _subrequest(request, "POST", "/api/v1/auth/login", body)
    if answer.status_code != 200:
        return _passed_on(answer)
    return _session_answer(request, answer.json_body)


def refresh_view(request: Request) -> PyramidResponse:
    """``POST /admin/session/refresh``: the cookie's refresh token for a new access token."""
    refused = csrf_problem(request)
    if refused is not None:
        return refused
    token = request.cookies.get(COOKIE_NAME)
    if not token:
        return problem_response(request, 401, detail="There is no console session: log in.")
    answer = _subrequest(request, "POST", "/api/v1/auth/refresh", {"refresh_token": token})
    if answer.status_code != 200:
        response = _passed_on(answer)
        if answer.status_code in (400, 401):  # spent, revoked or expired: forget it
            _set_cookie(request, response, None)
        return response
    return _session_answer(request, answer.json_body)


def logout_view(request: Request) -> PyramidResponse:
    """``DELETE /admin/session``: core's logout (the whole session revoked), the cookie cleared.

    With the console's access token in ``Authorization``; without one (or with one expired),
    the cookie's refresh token is exchanged first, so the session still ends on the server."""
    refused = csrf_problem(request)
    if refused is not None:
        return refused
    authorization = request.headers.get("Authorization", "")
    scheme, _, access = authorization.partition(" ")
    ended = False
    if scheme.lower() == "bearer" and access:
        ended = _subrequest(request, "POST", "/api/v1/auth/logout", token=access).status_code == 204
    token = request.cookies.get(COOKIE_NAME)
    if not ended and token:
        answer = _subrequest(request, "POST", "/api/v1/auth/refresh", {"refresh_token": token})
        if answer.status_code == 200:
            fresh = answer.json_body["access_token"]
            _subrequest(request, "POST", "/api/v1/auth/logout", token=fresh)
    response = PyramidResponse(status=204)
    response.cache_control = "no-store"
    _set_cookie(request, response, None)
    return response


def includeme(config: Configurator) -> None:
    config.add_route("admin.session", "/admin/session")
    config.add_route("admin.session.refresh", "/admin/session/refresh")
    config.add_view(login_view, route_name="admin.session", request_method="POST")
    config.add_view(logout_view, route_name="admin.session", request_method="DELETE")
    config.add_view(refresh_view, route_name="admin.session.refresh", request_method="POST")
