"""``GET /client/<file>``: the client's files as committed, with their media types, an ETag and
revalidation; nothing else under /client/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import webtest

from benben.client import CACHE_CONTROL, FILES, ROUTE

ROOT = Path(__file__).resolve().parents[2]


def _include_client(config: Any) -> None:
    # Until core includes benben.client itself; never twice.
    if config.get_routes_mapper().get_route(ROUTE) is None:
        config.include("benben.client")


@pytest.fixture
def client_app(make_app: Callable[..., webtest.TestApp]) -> webtest.TestApp:
    return make_app(include=_include_client)


@pytest.mark.parametrize("name", sorted(FILES))
def test_files_are_served_as_committed(client_app: webtest.TestApp, name: str) -> None:
    response = client_app.get(f"/client/{name}")
    assert response.body == (ROOT / "clients" / "js" / name).read_bytes()
    assert response.content_type == FILES[name]
    assert response.headers["Cache-Control"] == CACHE_CONTROL
    etag = response.headers["ETag"]
    again = client_app.get(f"/client/{name}", headers={"If-None-Match": etag}, status=304)
    assert again.body == b""


def test_the_module_imports_its_siblings_by_relative_url(client_app: webtest.TestApp) -> None:
    text = client_app.get("/client/benben.js").text
    siblings = ("errors", "query", "realtime", "resources", "sse")
    for sibling in (f"./benben-{name}.js" for name in siblings):
        assert f'from "{sibling}"' in text
        client_app.get("/client/" + sibling.removeprefix("./"))


@pytest.mark.parametrize("name", ["other.js", "..%2Fconfig.py", "__init__.py", "benben.JS"])
def test_nothing_else_is_served(client_app: webtest.TestApp, name: str) -> None:
    response = client_app.get(f"/client/{name}", status=404)
    assert response.content_type == "application/problem+json"


def test_documented_in_openapi(client_app: webtest.TestApp) -> None:
    document = client_app.get("/api/v1/openapi.json").json
    operation = document["paths"]["/client/{name}"]["get"]
    assert operation["operationId"] == "getClientFile"
