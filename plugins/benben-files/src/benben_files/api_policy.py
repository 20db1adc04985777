"""``/api/v1/collections/{cid}/attachment-policy``: a collection's attachment limits (largest
file, quota, allowed types, thumbnail sizes, the JSON Schema of its records' attachments).

Who may read the collection reads its policy (and how many bytes its attachments use); who may
change its permissions (its admins) sets it.  A missing policy, or a null member, is the
instance's setting; the answer shows both what was set and what applies (``effective``).
"""

from __future__ import annotations

from typing import Any

from benben.plugin import (
    CHANGE_PERMISSIONS,
    READ,
    CollectionContext,
    Configurator,
    Parameter,
    Request,
    Response,
    Service,
)

from .models import Policy
from .policy import Refused, effective_policy, load_policy, policy_errors, policy_json, used_bytes
from .schemas import POLICY, POLICY_UPDATE
from .settings import get_settings

__all__ = ["includeme", "policy_service"]

TAGS = ["files"]
CID = Parameter("cid", location="path", description="The collection's id.")

policy_service = Service(
    name="files.policy",
    path="/api/v1/collections/{cid}/attachment-policy",
    factory=CollectionContext,
    tags=TAGS,
    description="A collection's attachment limits.",
)


def _answer(request: Request, row: Policy | None) -> dict[str, Any]:
    cid = request.context.collection.id
    effective = effective_policy(get_settings(request.registry), row)
    return policy_json(row, effective, used_bytes(request.dbsession, cid))


@policy_service.get(
    permission=READ,
    operation_id="getAttachmentPolicy",
    summary="A collection's attachment policy",
    description="What was set (null: the instance's default), what applies (`effective`) and "
    "the bytes the collection's attachments use.",
    parameters=[CID],
    responses={200: Response("The policy.", POLICY)},
)
def get_policy_view(request: Request) -> dict[str, Any]:
    return _answer(request, load_policy(request.dbsession, request.context.collection.id))


@policy_service.put(
    permission=CHANGE_PERMISSIONS,
    operation_id="setAttachmentPolicy",
    summary="Set a collection's attachment policy",
    description="Replaces the whole policy: a member left out or null takes the instance's "
    "setting. It applies to later uploads: attachments already there are kept even when they "
    "no longer fit (a lower quota refuses uploads until enough is deleted). `max_file_size` "
    "may lower the instance's `benben.files.max_file_size`, not raise it. `schema` is a JSON "
    "Schema (Benben's dialect, RE2 patterns) of the record's `attachments` object; its "
    "top-level `required` and `minProperties` are enforced on deletions only (records are "
    "created without files).",
    parameters=[CID],
    body_schema=POLICY_UPDATE,
    responses={
        200: Response("The policy as set.", POLICY),
        400: "A member out of range, an invalid thumbnail size or schema (`errors` points at it).",
    },
)
def set_policy_view(request: Request) -> dict[str, Any]:
    body = request.validated
    errors = policy_errors(body, get_settings(request.registry))
    if errors:
        detail = "; ".join(f"{error['pointer']}: {error['message']}" for error in errors[:20])
        raise Refused(400, detail, errors)
    cid = request.context.collection.id
    session = request.dbsession
    row = load_policy(session, cid)
    if row is None:
        row = Policy(collection_id=cid)
        session.add(row)
    for member in ("max_file_size", "quota_bytes", "allowed_types", "thumbnail_sizes", "schema"):
        setattr(row, member, body.get(member))
    session.flush()
    return _answer(request, row)


def includeme(config: Configurator) -> None:
    config.add_cornice_service(policy_service)
