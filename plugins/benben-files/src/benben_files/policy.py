"""A collection's attachment policy: its limits as they apply (:class:`EffectivePolicy`: the
policy's values, the instance's settings where it has none), what the collection's attachments
use, and the checks of a policy being set.

Refusals of the files API are raised as :class:`Refused` and answered as problems by the
exception view :mod:`.attachments` registers: the transaction is aborted with it, so nothing
a refused request wrote commits.

A policy's ``max_file_size`` may not exceed the instance's ``benben.files.max_file_size``: that
setting bounds every upload's body before the view runs (``add_body_limit``), so it is the
ceiling a collection's policy can lower, not raise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from benben.plugin import schema_errors

from .models import Attachment, Policy
from .settings import FilesSettings
from .thumbnails import MAX_SIDE, parse_size

__all__ = [
    "MAX_THUMBNAIL_SIDE",
    "EffectivePolicy",
    "Refused",
    "effective_policy",
    "load_policy",
    "policy_errors",
    "policy_json",
    "relaxed_schema",
    "used_bytes",
]

MAX_THUMBNAIL_SIDE = MAX_SIDE
VALIDATION_TYPE = "urn:benben:problem:validation-error"
# Top-level keywords of a policy's schema that an upload cannot satisfy alone (records are
# created without files): checked on deletions only.
_LOWER_BOUNDS = ("required", "minProperties")


class Refused(Exception):  # noqa: N818 - an answer, not a fault
    """A request of the files API refused with ``status``: a problem with ``detail``,
    ``errors`` (``{"location", "name" or "pointer", "message"}``) and ``extensions``
    (``max_file_size``...).  ``outcome``: the upload outcome it counts as, if it refuses one."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: Iterable[Mapping[str, Any]] = (),
        *,
        outcome: str | None = None,
        headers: Mapping[str, str] | None = None,
        type: str = "about:blank",
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = [dict(error) for error in errors]
        self.outcome = outcome
        self.headers = dict(headers or {})
        self.type = VALIDATION_TYPE if status == 400 and type == "about:blank" else type
        self.extensions = extensions


def param_error(name: str, message: str, location: str = "querystring") -> dict[str, str]:
    return {"location": location, "name": name, "message": message}


def invalid_param(name: str, message: str, location: str = "querystring") -> Refused:
    return Refused(400, f"{name}: {message}", [param_error(name, message, location)])


@dataclass(frozen=True)
class EffectivePolicy:
    """The limits an upload to the collection meets."""

    max_file_size: int
    quota_bytes: int  # 0: no quota
    allowed_types: tuple[str, ...]  # empty: any
    thumbnails: bool
    thumbnail_sizes: tuple[str, ...]
    schema: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        return {
            "max_file_size": self.max_file_size,
            "quota_bytes": self.quota_bytes,
            "allowed_types": list(self.allowed_types),
            "thumbnails": self.thumbnails,
            "thumbnail_sizes": list(self.thumbnail_sizes),
        }


def load_policy(session: Session, collection_id: str) -> Policy | None:
    return session.get(Policy, collection_id)


def effective_policy(settings: FilesSettings, row: Policy | None) -> EffectivePolicy:
    """The policy ``row`` (None: the collection has none) over the instance's settings."""

    def pick(value: Any, default: Any) -> Any:
        return default if value is None else value

    return EffectivePolicy(
        max_file_size=min(
            pick(row and row.max_file_size, settings.max_file_size), settings.max_file_size
        ),
        quota_bytes=pick(row and row.quota_bytes, settings.collection_quota),
        allowed_types=tuple(pick(row and row.allowed_types, settings.allowed_types)),
        thumbnails=settings.thumbnails,
        thumbnail_sizes=_sizes(pick(row and row.thumbnail_sizes, settings.thumbnail_sizes)),
        schema=row.schema if row is not None else None,
    )


def _sizes(names: Iterable[str]) -> tuple[str, ...]:
    """Thumbnail sizes spelt canonically, once each, invalid ones left out (as the thumbnails
    task does)."""
    sizes = (parse_size(name) for name in names)
    return tuple(dict.fromkeys(str(size) for size in sizes if size is not None))


def used_bytes(
    session: Session, collection_id: str, *, excluding: tuple[str, str] | None = None
) -> int:
    """Bytes of the collection's attachments; ``excluding`` (record id, name): the one being
    replaced."""
    query = select(func.coalesce(func.sum(Attachment.size), 0)).where(
        Attachment.collection_id == collection_id
    )
    if excluding is not None:
        record_id, name = excluding
        query = query.where(~((Attachment.record_id == record_id) & (Attachment.name == name)))
    return int(session.scalar(query) or 0)


def relaxed_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` as uploads are checked against it: without its top-level lower bounds."""
    return {key: value for key, value in schema.items() if key not in _LOWER_BOUNDS}


def _pointer_error(field: str | tuple[Any, ...], message: str) -> dict[str, str]:
    parts = (field,) if isinstance(field, str) else field
    pointer = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return {"location": "body", "pointer": pointer, "message": message}


def _size_errors(index: int, size: str) -> list[dict[str, str]]:
    if parse_size(size) is not None:
        return []
    message = (
        f"must be WxH, WxHf, Wx0 or 0xH, each side at most {MAX_THUMBNAIL_SIDE} pixels, "
        "not both 0, both sides for a fitted size (f)"
    )
    return [_pointer_error(("thumbnail_sizes", index), message)]


def policy_errors(body: Mapping[str, Any], settings: FilesSettings) -> list[dict[str, str]]:
    """What is wrong with a policy's ``PUT`` body beyond its JSON Schema (checked already)."""
    errors: list[dict[str, str]] = []
    max_file_size = body.get("max_file_size")
    if max_file_size is not None and max_file_size > settings.max_file_size:
        errors.append(
            _pointer_error(
                "max_file_size",
                f"must be at most the instance's benben.files.max_file_size "
                f"({settings.max_file_size} bytes)",
            )
        )
    for index, size in enumerate(body.get("thumbnail_sizes") or ()):
        errors.extend(_size_errors(index, size))
    schema = body.get("schema")
    if schema is not None:
        errors.extend(schema_errors(schema, ("schema",)))
    return errors


def policy_json(row: Policy | None, effective: EffectivePolicy, used: int) -> dict[str, Any]:
    return {
        "max_file_size": row.max_file_size if row else None,
        "quota_bytes": row.quota_bytes if row else None,
        "allowed_types": row.allowed_types if row else None,
        "thumbnail_sizes": row.thumbnail_sizes if row else None,
        "schema": row.schema if row else None,
        "effective": effective.as_json(),
        "used_bytes": used,
    }
