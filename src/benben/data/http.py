"""What the data views share: content types, strict query strings, ETags and preconditions.

Preconditions follow RFC 9110: ``If-Match`` (strong comparison; ``*`` means "exists") is
evaluated before ``If-None-Match`` (weak comparison; ``*`` means "does not exist").  On a write
a failed one is a 412; on a read a matching ``If-None-Match`` is a 304.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pyramid.httpexceptions import HTTPNotModified
from pyramid.request import Request

from benben.data.validation import invalid, param_error
from benben.errors import ProblemError
from benben.rest import json_body

__all__ = [
    "JSON",
    "JSON_PATCH",
    "MERGE_PATCH",
    "Conditions",
    "accept_params",
    "bool_param",
    "content_type",
    "etag_of",
    "exists_hidden",
    "not_modified",
]

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
PRECONDITION_TYPE = "urn:benben:problem:precondition-failed"


def content_type(*accepted: str) -> Callable[..., None]:
    """A Cornice validator (before the body's): 415 for another media type, then a 400 for a
    body that is not standard JSON (the body schema sees only what ``json`` parses alike)."""

    def check(request: Request, **_: Any) -> None:
        media = (request.content_type or "").lower()
        if media not in accepted:
            given = media or "none"
            raise ProblemError(
                415,
                detail=f"Content-Type {given} is not accepted here; send {' or '.join(accepted)}.",
                headers={"Accept-Patch": ", ".join(accepted)} if MERGE_PATCH in accepted else {},
                errors=[param_error("Content-Type", f"expected {' or '.join(accepted)}", "header")],
            )
        json_body(request)  # a 400 for a body that is not standard JSON, before its schema

    return check


def accept_params(request: Request, accepted: Iterable[str] = ()) -> None:
    """Refuse unknown query parameters: a misspelt one must not be silently ignored."""
    allowed = set(accepted)
    errors = []
    for name in request.GET:
        if name not in allowed:
            hint = f"; accepted: {', '.join(sorted(allowed))}" if allowed else ""
            errors.append(
                {"location": "querystring", "name": name, "message": f"unknown parameter{hint}"}
            )
        elif len(request.GET.getall(name)) > 1:
            errors.append(
                {"location": "querystring", "name": name, "message": "must be given at most once"}
            )
    if errors:
        raise invalid(errors)


def bool_param(request: Request, name: str) -> bool:
    value = request.GET.get(name)
    if value is None:
        return False
    if value not in ("true", "false"):
        raise invalid([param_error(name, "must be true or false")])
    return value == "true"


def etag_of(last_modified: int) -> str:
    return f'"{last_modified}"'


def _tags(header: str | None) -> tuple[str, ...] | None:
    if header is None:
        return None
    return tuple(tag.strip() for tag in header.split(",") if tag.strip())


def _weak(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


@dataclass(frozen=True)
class Conditions:
    """A request's ``If-Match`` / ``If-None-Match`` entity tags (None: header absent)."""

    if_match: tuple[str, ...] | None = None
    if_none_match: tuple[str, ...] | None = None

    @classmethod
    def from_request(cls, request: Request) -> Conditions:
        return cls(
            _tags(request.headers.get("If-Match")), _tags(request.headers.get("If-None-Match"))
        )

    def create_only(self) -> bool:
        return self.if_none_match is not None and "*" in self.if_none_match

    def check_write(self, current: str | None) -> None:
        """412 unless the preconditions hold for the current ETag (None: no such resource)."""
        if self.if_match is not None:
            strong_match = (
                current is not None
                and not current.startswith("W/")
                and ("*" in self.if_match or current in self.if_match)
            )
            if not strong_match:
                raise _failed("If-Match", current)
        if current is not None and self._none_match(current):
            raise _failed("If-None-Match", current)

    def matches_read(self, current: str) -> bool:
        """Whether a GET should answer 304 (``If-Match`` failing is a 412)."""
        if self.if_match is not None and not ("*" in self.if_match or current in self.if_match):
            raise _failed("If-Match", current)
        return self._none_match(current)

    def _none_match(self, current: str) -> bool:
        """``If-None-Match`` names ``current`` (weak comparison) or is ``*``."""
        if self.if_none_match is None:
            return False
        return "*" in self.if_none_match or _weak(current) in map(_weak, self.if_none_match)


def exists_hidden() -> ProblemError:
    """``If-None-Match: *`` on a resource the caller may not see: it exists, and that is all
    they learn (no ETag)."""
    return _failed("If-None-Match", None, state="it exists")


def _failed(header: str, current: str | None, state: str | None = None) -> ProblemError:
    if state is None:
        state = f"its ETag is {current}" if current is not None else "it does not exist"
    return ProblemError(
        412,
        type=PRECONDITION_TYPE,
        detail=f"{header} failed: {state}.",
        headers={"ETag": current} if current is not None else {},
        errors=[param_error(header, f"failed: {state}", "header")],
    )


def not_modified(etag: str) -> HTTPNotModified:
    return HTTPNotModified(headers={"ETag": etag})
