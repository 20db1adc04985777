"""schemathesis over the live app: generated requests for every documented operation, valid and
invalid, as an administrator and as an ordinary user who owns a collection; no 5xx, and every
response is one the document allows (status code, content type, headers, body).

Bounded so that a run stays well under a minute per backend: a few examples per operation and
mode, derandomized (CI is reproducible; run with ``BENBEN_SCHEMATHESIS_SEED`` to explore).
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
import webtest
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from benben.testing_auth import add_user, bearer, login

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = int(os.environ.get("BENBEN_SCHEMATHESIS_EXAMPLES", "6"))
SEED = os.environ.get("BENBEN_SCHEMATHESIS_SEED")


def api_token(app: webtest.TestApp, username: str, *, is_admin: bool) -> dict[str, str]:
    """An admin-scoped API token (all its user may do, no more): generated requests may log a JWT
    session out, not this."""
    add_user(app.app.registry, username, is_admin=is_admin)
    session = bearer(login(app, username)["access_token"])
    created = app.post_json(
        "/api/v1/tokens", {"name": "schemathesis", "scopes": ["admin"]}, headers=session, status=201
    )
    return bearer(created.json["token"])


def ordinary_user_token(app: webtest.TestApp) -> dict[str, str]:
    """A user who is no administrator but owns a collection with a record in it, so that the
    generated requests meet data that caller may read and write as well as data it may not."""
    headers = api_token(app, "someone", is_admin=False)
    app.post_json("/api/v1/collections", {"id": "mine"}, headers=headers, status=201)
    app.post_json(
        "/api/v1/collections/mine/records", {"data": {"n": 1}}, headers=headers, status=201
    )
    return headers


# Event streams do not end (served through WSGI they run until max_stream_seconds): their
# refusals and their frames are tested in tests/realtime instead.
STREAMS = {"GET /api/v1/changes", "GET /api/v1/collections/{cid}/changes"}


def run_operation(
    operation: Any, mode: GenerationMode, headers: dict[str, str]
) -> Callable[[], None]:
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=SEED is None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    return seed(int(SEED))(check) if SEED is not None else check


def bundled_plugins() -> list[importlib.metadata.EntryPoint]:
    """The ``benben.plugins`` entry point of the Backstage plugin, installed with Benben."""
    found = importlib.metadata.entry_points(group="benben.plugins", name="backstage")
    assert len(found) == 1, "the Backstage plugin is installed with Benben"
    return list(found)


def takes_input(document: dict[str, Any], operation: Any) -> bool:
    """Whether an invalid request can be made of it (beyond an optional header)."""
    raw = document["paths"][operation.path][operation.method.lower()]
    parameters = [p for p in raw.get("parameters", []) if "$ref" not in p]
    return "requestBody" in raw or any(p["in"] in ("path", "query") for p in parameters)


@pytest.mark.parametrize("caller", ["admin", "ordinary"])
def test_no_server_error_and_no_response_the_document_does_not_allow(
    make_app: Callable[..., webtest.TestApp], caller: str
) -> None:
    # Core (the data API included) and the plugin Benben bundles, Backstage's; other installed
    # plugins answer for their own documents.
    app = make_app(entry_points=bundled_plugins())
    if caller == "admin":
        headers = api_token(app, "root", is_admin=True)
    else:
        headers = ordinary_user_token(app)
    document = app.get("/api/v1/openapi.json").json
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40  # core, accounts, auth, data, docs: all of them are exercised
    assert {"GET /backstage/catalog-info.yaml", "GET /backstage/entities"} <= {
        operation.label for operation in operations
    }
    failures: list[str] = []
    for operation in operations:
        if operation.label in STREAMS:
            continue
        modes = [GenerationMode.POSITIVE]
        if takes_input(document, operation):
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            try:
                run_operation(operation, mode, headers)()
            except Exception as exc:  # every operation's finding, not only the first
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    assert failures == [], "\n\n".join(failures)
