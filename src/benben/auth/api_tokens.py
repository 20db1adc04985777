"""``/api/v1/tokens``: personal API tokens — scoped, expiring, revocable, shown once."""

from __future__ import annotations

import datetime
from typing import Any

from pyramid.httpexceptions import HTTPNoContent, HTTPNotFound
from pyramid.request import Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from benben.errors import ProblemError
from benben.listing import Listing, fetch_page, list_response
from benben.rest import Response as Documented
from benben.rest import Service
from benben.schema_messages import json_text
from benben.security.models import ApiToken
from benben.security.permissions import ADMIN, READ, SCOPES
from benben.security.resources import OwnTokens
from benben.security.tokens import new_api_token
from benben.timestamps import as_utc, iso

from .schemas import API_TOKEN, API_TOKEN_CREATE, CREATED_API_TOKEN
from .services import utcnow
from .validation import field_error, invalid, string_field

__all__ = [
    "create_token_view",
    "get_token_view",
    "list_tokens_view",
    "revoke_token_view",
    "token_item",
    "tokens",
]

tokens = Service(name="api.tokens", path="/api/v1/tokens", factory=OwnTokens, tags=["auth"])
token_item = Service(
    name="api.tokens.item", path="/api/v1/tokens/{id}", factory=OwnTokens, tags=["auth"]
)

# The list convention (docs/api-conventions.md): oldest first, by default.
TOKENS = Listing(sortable=("created_at", "name"), default_sort="created_at")
MIN_LIFETIME = datetime.timedelta(minutes=1)
MAX_LIFETIME = datetime.timedelta(days=3660)


def token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "scopes": token.scopes.split(),
        "created_at": iso(token.created_at),
        "expires_at": iso(token.expires_at),
        "last_used_at": iso(token.last_used_at),
        "revoked_at": iso(token.revoked_at),
    }


@tokens.get(
    permission=READ,
    operation_id="listApiTokens",
    summary="List your API tokens",
    parameters=TOKENS.parameters(),
    responses={
        200: TOKENS.response(
            "The caller's tokens (revoked ones too), without their secrets.",
            API_TOKEN,
            "ApiTokenList",
        )
    },
)
def list_tokens_view(request: Request) -> dict[str, Any]:
    params = TOKENS.parse(request)
    query = select(ApiToken).where(ApiToken.user_id == request.identity.user_id)
    columns = {"created_at": ApiToken.created_at, "name": ApiToken.name, "id": ApiToken.id}
    page = fetch_page(request.dbsession, query, params, columns)
    data = [token_json(token) for token in page.items]
    return list_response(request, data, page.next_cursor, page.total)


@tokens.post(
    permission=ADMIN,
    operation_id="createApiToken",
    summary="Create an API token",
    description="Needs a login session or an API token with the `admin` scope. The secret is "
    "in this response only.",
    body_schema=API_TOKEN_CREATE,
    responses={
        201: Documented(
            "Created; `token` is shown this once.",
            CREATED_API_TOKEN,
            {"Location": "The token's URL.", "Cache-Control": "`no-store`."},
        ),
        409: "You already have a token of that name that is not revoked (pointer `/name`); "
        "revoking a token frees its name, and an expired one is revoked to free it.",
    },
)
def create_token_view(request: Request) -> dict[str, Any]:
    body = request.validated
    name = (string_field(body, "name", max_length=100) or "").strip()
    if not name:
        raise invalid(field_error("name", "must not be blank"))
    scopes = _scopes(body.get("scopes"))
    expires_at = _expiry(body)
    user_id = request.identity.user_id
    dbsession = request.dbsession
    _free_name(dbsession, user_id, name)
    secret, token_hash = new_api_token()
    token = ApiToken(
        user_id=user_id,
        name=name,
        scopes=" ".join(scopes),
        token_hash=token_hash,
        expires_at=expires_at,
        created_at=utcnow(),
    )
    try:
        with dbsession.begin_nested():
            dbsession.add(token)
            dbsession.flush()
    except IntegrityError:  # a concurrent request took the name first: the unique index decides
        raise _name_taken(name) from None
    request.response.status_code = 201
    request.response.headers["Location"] = request.route_url("api.tokens.item", id=token.id)
    request.response.headers["Cache-Control"] = "no-store"
    # The only time the secret is ever shown: only its digest is stored.
    return {**token_json(token), "token": secret}


@token_item.get(
    permission=READ,
    operation_id="getApiToken",
    summary="One of your API tokens",
    responses={200: Documented("The token, without its secret.", API_TOKEN)},
)
def get_token_view(request: Request) -> dict[str, Any]:
    return token_json(_own_token(request))


@token_item.delete(
    permission=ADMIN,
    operation_id="revokeApiToken",
    summary="Revoke one of your API tokens",
    responses={204: "Revoked (also when it already was)."},
)
def revoke_token_view(request: Request) -> HTTPNoContent:
    token = _own_token(request)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return HTTPNoContent()


def _free_name(dbsession: Session, user_id: str, name: str) -> None:
    """A name is unique among the owner's tokens not revoked (409 otherwise).  An expired token
    holding it is revoked here, since it can never be used again: its name is free too."""
    holder = dbsession.scalars(
        select(ApiToken).where(
            ApiToken.user_id == user_id, ApiToken.name == name, ApiToken.revoked_at.is_(None)
        )
    ).first()
    if holder is None:
        return
    now = utcnow()
    if holder.expires_at is None or as_utc(holder.expires_at) > now:
        raise _name_taken(name)
    holder.revoked_at = now
    dbsession.flush()  # before the new token's insert, which the unique index checks


def _name_taken(name: str) -> ProblemError:
    return ProblemError(
        409,
        detail=f"you already have a token named {json_text(name)}; revoke it to use the name again",
        errors=[field_error("name", "is already used by another of your tokens")],
    )


def _own_token(request: Request) -> ApiToken:
    token = request.dbsession.get(ApiToken, request.matchdict["id"])
    # Someone else's token is as absent as a token that does not exist.
    if token is None or token.user_id != request.identity.user_id:
        raise HTTPNotFound()
    return token


def _scopes(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise invalid(field_error("scopes", f"must be a non-empty list of: {', '.join(SCOPES)}"))
    for index, scope in enumerate(value):
        if scope not in SCOPES:
            raise invalid(
                field_error(("scopes", index), f"unknown scope; accepted: {', '.join(SCOPES)}")
            )
    return [scope for scope in SCOPES if scope in value]  # canonical order, no duplicates


def _expiry(body: dict[str, Any]) -> datetime.datetime | None:
    expires_in, expires_at = body.get("expires_in"), body.get("expires_at")
    if expires_in is not None and expires_at is not None:
        raise invalid(field_error("expires_at", "give expires_in or expires_at, not both"))
    now = utcnow()
    if expires_in is not None:
        if not isinstance(expires_in, int) or isinstance(expires_in, bool):
            raise invalid(field_error("expires_in", "must be a whole number of seconds"))
        lifetime = datetime.timedelta(seconds=expires_in)
        if not MIN_LIFETIME <= lifetime <= MAX_LIFETIME:
            raise invalid(
                field_error(
                    "expires_in",
                    f"must be between {int(MIN_LIFETIME.total_seconds())} and "
                    f"{int(MAX_LIFETIME.total_seconds())} seconds",
                )
            )
        return now + lifetime
    if expires_at is None:
        return None  # never expires (still revocable)
    if not isinstance(expires_at, str):
        raise invalid(field_error("expires_at", "must be an ISO 8601 date-time string"))
    try:
        moment = datetime.datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(field_error("expires_at", "must be an ISO 8601 date-time")) from None
    if moment.tzinfo is None:
        raise invalid(field_error("expires_at", "must include a time zone (e.g. Z)"))
    if not now + MIN_LIFETIME <= moment <= now + MAX_LIFETIME:
        raise invalid(
            field_error("expires_at", "must be at least a minute and at most 10 years ahead")
        )
    return moment.astimezone(datetime.UTC)
