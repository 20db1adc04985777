"""``/api/v1/auth/setup``: the first administrator, created from a browser.

``benben serve`` on an instance without users prints a setup URL (the console's
``/admin/setup#<token>``).  The token is an HMAC of the server secret, so only someone who can
read the server's output (or its secret) has it, every process of the instance agrees on it
without sharing state, and it stops working the moment any user exists: a setup is refused
once there are users, whatever the token.  It travels in the URL's fragment, which browsers
never send, log or pass on as a Referer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.security import NO_PERMISSION_REQUIRED
from sqlalchemy import text

from benben.accounts.bootstrap import any_user_id
from benben.accounts.validation import ConflictError
from benben.errors import ProblemError
from benben.rest import Response as Documented
from benben.rest import Service
from benben.security.passwords import MAX_PASSWORD_LENGTH

from .validation import string_field

__all__ = ["SETUP_PATH", "setup", "setup_token", "setup_url"]

SETUP_PATH = "/api/v1/auth/setup"
_LABEL = b"benben: the first administrator's setup token"

setup = Service(name="api.auth.setup", path=SETUP_PATH, tags=["auth"])

SETUP_STATE: dict[str, Any] = {
    "title": "SetupState",
    "type": "object",
    "required": ["needed"],
    "properties": {"needed": {"type": "boolean", "description": "No user exists yet."}},
}
SETUP_REQUEST: dict[str, Any] = {
    "title": "SetupRequest",
    "type": "object",
    "required": ["token", "username", "password"],
    "properties": {
        "token": {"type": "string", "maxLength": 200},
        "username": {"type": "string"},
        "password": {"type": "string", "format": "password"},
        "email": {"type": ["string", "null"]},
    },
    "additionalProperties": False,
}


def setup_token(registry: Registry) -> str:
    """This instance's setup token (derived from ``benben.secret``)."""
    secret = str(registry.settings.get("benben.secret") or "").encode()
    digest = hmac.new(secret, _LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


def setup_url(registry: Registry, base_url: str) -> str:
    """Where a newcomer creates the first administrator in the console."""
    return f"{base_url.rstrip('/')}/admin/setup#{setup_token(registry)}"


@setup.get(
    permission=NO_PERMISSION_REQUIRED,
    operation_id="getSetupState",
    summary="Whether the first administrator is still to be created",
    responses={200: Documented("The state.", SETUP_STATE)},
)
def setup_state_view(request: Request) -> dict[str, Any]:
    return {"needed": any_user_id(request.dbsession) is None}


@setup.post(
    permission=NO_PERMISSION_REQUIRED,
    operation_id="setUp",
    summary="Create the first administrator",
    description="With the setup token `benben serve` printed, while no user exists: creates an "
    "administrator, who then logs in as usual.",
    body_schema=SETUP_REQUEST,
    responses={
        201: "Created: log in with these credentials.",
        403: "The token is not this instance's.",
        409: "The instance already has users.",
    },
)
def setup_view(request: Request) -> dict[str, Any]:
    from benben.accounts.services import create_user

    body = request.validated
    token = string_field(body, "token", max_length=200) or ""
    session = request.dbsession
    if session.get_bind().dialect.name == "postgresql":
        # Two setups at once would each see no user: the second waits here, then sees one.
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('benben.auth.setup'))"))
    if any_user_id(session) is not None:
        raise ConflictError("This instance already has users: log in instead.")
    if not hmac.compare_digest(token.encode(), setup_token(request.registry).encode()):
        raise ProblemError(
            403,
            title="Forbidden",
            detail="This is not the setup token benben serve printed for this instance.",
        )
    user = create_user(
        request,
        username=body.get("username"),
        password=string_field(body, "password", max_length=MAX_PASSWORD_LENGTH) or "",
        email=body.get("email"),
        is_admin=True,
    )
    request.response.status_code = 201
    return {"id": user.id, "username": user.username, "is_admin": True}
