"""``GET /api/v1/openapi.json``: a valid OpenAPI 3.1 document of every route and method the app
serves (core's and plugins' alike), with the schemas requests are validated against."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import webtest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from openapi_spec_validator import validate
from pyramid.config import Configurator
from pyramid.interfaces import IRoutesMapper
from pyramid.response import Response as PyramidResponse

from benben.accounts.schemas import USER_CREATE
from benben.errors import PROBLEM_JSON
from benben.openapi.document import DOCUMENT_KEY
from benben.rest import Parameter, Response, Service

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def served_methods(registry: Any) -> dict[str, set[str]]:
    """OpenAPI path -> methods, read from the routes and views the app really has."""
    import re

    routes = {r.name: r.pattern for r in registry.getUtility(IRoutesMapper).get_routes()}
    served: dict[str, set[str]] = {}
    for view in registry.introspector.get_category("views") or []:
        intr = view["introspectable"]
        methods = intr.get("request_methods")
        if intr.get("route_name") in routes and methods:
            pattern = routes[intr["route_name"]]
            path = "/" + re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", pattern).lstrip("/")
            declared = (methods,) if isinstance(methods, str) else methods
            served.setdefault(path, set()).update(m.upper() for m in declared)
    return served


def documented_methods(document: dict[str, Any]) -> dict[str, set[str]]:
    return {
        path: {m.upper() for m in item if m in HTTP_METHODS}
        for path, item in document["paths"].items()
    }


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_served_document_is_valid_openapi_3_1(app: webtest.TestApp) -> None:
    response = app.get("/api/v1/openapi.json")
    assert response.content_type == "application/json"
    document = response.json
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any violation of the OpenAPI 3.1 specification
    assert document["servers"] == [{"url": "/"}]


def test_every_route_and_method_the_app_serves_is_documented(app: webtest.TestApp) -> None:
    document = app.get("/api/v1/openapi.json").json
    assert documented_methods(document) == served_methods(app.app.registry)
    # Core's own, at least: a regression that documents nothing must not pass as "equal".
    assert {"/api/v1/users/{id}", "/api/v1/auth/login", "/health/ready"} <= set(document["paths"])


def test_operation_ids_are_unique_and_every_operation_answers_problems(
    app: webtest.TestApp,
) -> None:
    document = app.get("/api/v1/openapi.json").json
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    for path, method, operation in operations(document):
        responses = operation["responses"]
        assert "default" in responses, f"{method} {path}"
        assert any(code.startswith(("2", "3")) for code in responses), f"{method} {path}"
        for code, entry in responses.items():
            if code.startswith(("4", "5")) and method != "head":
                assert entry["content"] == {
                    PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
                } or entry["content"][PROBLEM_JSON]["schema"]["$ref"].startswith(
                    "#/components/schemas/"
                ), f"{method} {path} {code}"


def test_operations_needing_a_permission_require_a_bearer_token(app: webtest.TestApp) -> None:
    document = app.get("/api/v1/openapi.json").json
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearer"]["description"],
    }
    users = document["paths"]["/api/v1/users"]
    assert users["get"]["security"] == [{"bearer": []}]
    assert users["get"]["x-benben-permission"] == "read"
    assert users["post"]["x-benben-permission"] == "admin"
    assert {"401", "403"} <= set(users["post"]["responses"])
    for path in ("/api/v1/auth/login", "/health/live", "/api/v1/openapi.json"):
        (operation,) = [op for m, op in document["paths"][path].items() if m in HTTP_METHODS]
        assert "security" not in operation, path
    assert "401" not in document["paths"]["/health/live"]["get"]["responses"]


def test_the_documented_body_is_the_enforced_one(
    app: webtest.TestApp, admin_headers: dict[str, str]
) -> None:
    document = app.get("/api/v1/openapi.json").json
    body = document["paths"]["/api/v1/users"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/UserCreate"
    }
    assert document["components"]["schemas"]["UserCreate"] == USER_CREATE
    # ...and what it says is what the API does: an unknown member is refused, by name.
    refused = app.post_json(
        "/api/v1/users",
        {"username": "dave", "password": "x" * 20, "nickname": "d"},
        headers=admin_headers,
        status=400,
    )
    assert [e["pointer"] for e in refused.json["errors"]] == ["/nickname"]


def test_path_parameters_come_from_the_route_pattern(app: webtest.TestApp) -> None:
    document = app.get("/api/v1/openapi.json").json
    member = document["paths"]["/api/v1/groups/{id}/members/{user_id}"]["delete"]
    names = [(p["name"], p["in"]) for p in member["parameters"] if "name" in p]
    assert names == [("id", "path"), ("user_id", "path")]
    assert member["parameters"][-1] == {"$ref": "#/components/parameters/RequestId"}
    listing = document["paths"]["/api/v1/users"]["get"]["parameters"]
    limit = next(p for p in listing if p.get("name") == "_limit")
    assert limit["in"] == "query"
    assert "from 1 to 1000" in limit["description"]


def _plugin_like(config: Configurator) -> None:
    """Registrations as a plugin makes them, under a route prefix."""

    def include(config: Configurator) -> None:
        things = Service(name="things", path="/things/{tid:\\d+}", tags=["things"])

        @things.put(
            summary="Store a thing",
            body_schema={
                "title": "Thing",
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}},
            },
            parameters=[Parameter("If-Match", "header", description="The ETag.")],
            responses={
                200: Response(
                    "Stored",
                    {
                        "title": "Thing",
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": {"type": "string"}},
                    },
                ),
                412: "The thing changed meanwhile.",
            },
        )
        def put_thing(request: Any) -> dict[str, Any]:
            return dict(request.validated)

        def plain(request: Any) -> PyramidResponse:
            """Say hello plainly."""
            return PyramidResponse(json_body={"hello": True})

        config.add_cornice_service(things)
        config.add_route("plain", "/plain")
        config.add_view(plain, route_name="plain", request_method="GET")
        config.add_view(plain, route_name="plain", request_method="POST")
        hello = {201: Response("Hello", {"type": "object"})}
        config.add_openapi_operation(
            "plain", "POST", summary="Say hello", tags=["things"], responses=hello
        )

    config.include(include, route_prefix="/myplugin")


def test_plugins_services_and_plain_views_are_documented_under_their_prefix(
    make_app: Callable[..., webtest.TestApp],
) -> None:
    app = make_app(include=_plugin_like)
    document = app.get("/api/v1/openapi.json").json
    validate(document)
    put = document["paths"]["/myplugin/things/{tid}"]["put"]
    assert put["summary"] == "Store a thing"
    assert put["tags"] == ["things"]
    assert put["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Thing"
    }
    assert put["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Thing"
    }
    assert put["responses"]["412"]["content"][PROBLEM_JSON]
    tid = put["parameters"][0]
    assert (tid["name"], tid["schema"]["pattern"]) == ("tid", "^\\d+$")
    assert put["parameters"][1]["name"] == "If-Match"
    plain = document["paths"]["/myplugin/plain"]
    assert plain["post"]["summary"] == "Say hello"
    assert "201" in plain["post"]["responses"]
    # Undocumented, yet listed: its docstring says what it is.
    assert plain["get"]["summary"] == "Say hello plainly."
    assert documented_methods(document) == served_methods(app.app.registry)
    # The enforced schema really is enforced under the prefix.
    refused = app.put_json("/myplugin/things/7", {}, status=400)
    assert refused.json["errors"][0]["pointer"] == "/name"


def test_jwks_is_documented_when_the_keys_are_asymmetric(
    make_app: Callable[..., webtest.TestApp], tmp_path: Any
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = tmp_path / "private.pem", tmp_path / "public.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    app = make_app(
        {
            "benben.jwt.algorithm": "ES256",
            "benben.jwt.private_key_file": str(private),
            "benben.jwt.public_key_file": str(public),
        }
    )
    document = app.get("/api/v1/openapi.json").json
    operation = document["paths"]["/.well-known/jwks.json"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/JWKS"
    }
    assert documented_methods(document) == served_methods(app.app.registry)


def test_document_is_generated_once_per_registry_and_contributions_per_request(
    make_app: Callable[..., webtest.TestApp],
) -> None:
    calls: list[str] = []

    def contributor(request: Any) -> dict[str, Any]:
        calls.append(request.path)
        return {
            "components": {"schemas": {"Extra": {"type": "string"}, "Problem": {"type": "null"}}},
            "tags": [{"name": "extra"}],
        }

    app = make_app(include=lambda config: config.add_openapi_contributor(contributor))
    first = app.get("/api/v1/openapi.json").json
    cached = app.app.registry[DOCUMENT_KEY]
    second = app.get("/api/v1/openapi.json").json
    assert app.app.registry[DOCUMENT_KEY] is cached
    assert calls == ["/api/v1/openapi.json"] * 2
    assert first == second
    assert first["components"]["schemas"]["Extra"] == {"type": "string"}
    # A contribution adds; it never replaces what the configuration generated.
    assert first["components"]["schemas"]["Problem"]["type"] == "object"
    assert {"name": "extra"} in first["tags"]
    assert "Extra" not in cached["components"]["schemas"]


def test_unchanged_document_answers_304_to_its_etag(app: webtest.TestApp) -> None:
    first = app.get("/api/v1/openapi.json")
    assert first.etag
    assert first.headers["Cache-Control"] == "no-cache"
    assert "Authorization" in first.headers["Vary"]
    again = app.get(
        "/api/v1/openapi.json", headers={"If-None-Match": f'"{first.etag}"'}, status=304
    )
    assert again.body == b""


def test_operations_of_core_are_summarised_and_tagged(app: webtest.TestApp) -> None:
    document = app.get("/api/v1/openapi.json").json
    for path, method, operation in operations(document):
        if path.startswith(
            (
                "/api/v1/users",
                "/api/v1/groups",
                "/api/v1/auth",
                "/api/v1/tokens",
                "/health",
                "/version",
                "/api/v1/docs",
            )
        ):
            assert operation.get("summary"), f"{method} {path}"
            assert operation.get("tags"), f"{method} {path}"
    tags = [tag["name"] for tag in document["tags"]]
    assert tags[:4] == ["operations", "api", "auth", "accounts"]


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/docs"])
def test_documentation_endpoints_are_announced_and_public(app: webtest.TestApp, path: str) -> None:
    app.get(path, status=200)  # no credential needed
    capabilities = app.get("/api/v1/").json["capabilities"]
    assert capabilities["openapi"]["url"] == "/api/v1/openapi.json"


def test_documenting_one_operation_twice_is_a_conflict() -> None:
    from pyramid.exceptions import ConfigurationConflictError

    from benben.openapi.operations import add_openapi_operation

    config = Configurator()
    add_openapi_operation(config, "things", "get", summary="One")
    add_openapi_operation(config, "things", "GET", summary="Two")
    with pytest.raises(ConfigurationConflictError):
        config.commit()


@pytest.mark.parametrize(("route", "method"), [("things", "FETCH"), ("", "GET")])
def test_documenting_a_bad_operation_fails_at_configuration(route: str, method: str) -> None:
    from pyramid.exceptions import ConfigurationError

    from benben.openapi.operations import add_openapi_operation

    with pytest.raises(ConfigurationError):
        add_openapi_operation(Configurator(), route, method)
