"""The docs cannot drift from the code: the generated configuration reference is current, and the
committed OpenAPI document (generated: tests/openapi/ checks it is current) is valid, covers
exactly the routes the app serves and matches real responses."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import webtest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from pyramid.interfaces import IRoutesMapper
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from benben import __version__
from benben.config import configure
from benben.core_settings import CORE_SETTINGS
from benben.docs import main, render_configuration_reference
from benben.errors import PROBLEM_JSON
from benben.rest import Service
from benben.settings import Setting, as_choice, as_float, as_int

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference" / "configuration.md"
OPENAPI = ROOT / "docs" / "api" / "openapi.json"
OPENAPI_URI = "urn:benben:openapi"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


# -- configuration reference ----------------------------------------------------------------


def test_committed_configuration_reference_is_current() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == render_configuration_reference(), (
        "docs/reference/configuration.md is stale: run python -m benben.docs"
    )


@pytest.mark.parametrize("setting", CORE_SETTINGS, ids=[s.name for s in CORE_SETTINGS])
def test_every_core_setting_is_documented(setting: Setting) -> None:
    reference = render_configuration_reference()
    section = reference.split(f"### `{setting.name}`\n", 1)[1].split("\n### ", 1)[0]
    assert f"Environment variable: `{setting.env}`" in section
    assert setting.help.strip() in section
    assert ("Secret: yes" in section) == setting.secret
    bounds = [b for b in getattr(setting.parser, "bounds", ()) if b is not None]
    choices = getattr(setting.parser, "choices", ())
    accepts = section.split("- Accepts: ", 1)[1].split("\n", 1)[0]
    assert all(f"`{value}`" in accepts for value in [*map(str, bounds), *choices]), accepts


def test_reference_shows_types_and_defaults() -> None:
    reference = render_configuration_reference(
        [
            Setting("benben.example.mode", as_choice("fast", "safe"), "safe", "Mode."),
            Setting("benben.example.size", as_int(1), 5, "Size."),
            Setting("benben.example.ratio", as_float(0, 1), 0.5, "Ratio."),
            Setting("benben.example.token", default="", help="Token.", secret=True),
        ]
    )
    assert "## Example" in reference
    assert "- Accepts: one of `fast`, `safe`\n- Default: `safe`" in reference
    assert "- Accepts: integer >= `1`\n- Default: `5`" in reference
    assert "- Accepts: number from `0` to `1`\n- Default: `0.5`" in reference
    assert "- Accepts: string\n- Default: empty\n- Secret: yes" in reference
    assert "| `benben.example.size` | `BENBEN_EXAMPLE_SIZE` | `5` |" in reference


def test_check_fails_on_missing_or_stale_file_and_passes_once_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "reference" / "configuration.md"
    assert main(["--check", "--output", str(output)]) == 1
    assert "is missing" in capsys.readouterr().err

    assert main(["--output", str(output)]) == 0
    assert output.read_text(encoding="utf-8") == render_configuration_reference()
    assert main(["--check", "--output", str(output)]) == 0

    output.write_text(render_configuration_reference() + "edited by hand\n", encoding="utf-8")
    assert main(["--check", "--output", str(output)]) == 1
    assert "is stale: run python -m benben.docs" in capsys.readouterr().err


def test_write_to_an_impossible_path_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    assert main(["--output", str(blocker / "configuration.md")]) == 1
    assert capsys.readouterr().err.startswith(f"cannot write {blocker / 'configuration.md'}")


# -- OpenAPI document -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return json.loads(OPENAPI.read_text(encoding="utf-8"))


def test_openapi_document_is_valid_openapi_3_1(openapi: dict[str, Any]) -> None:
    assert openapi["openapi"].startswith("3.1.")
    validate(openapi)  # raises on any violation of the OpenAPI 3.1 schema


def test_openapi_version_is_benbens(openapi: dict[str, Any]) -> None:
    assert openapi["info"]["version"] == __version__


def test_openapi_paths_and_methods_are_the_routes_core_serves(
    openapi: dict[str, Any], tmp_path: Path
) -> None:
    # Core alone: plugins installed in this environment add routes of their own.
    config = configure({"benben.data_dir": str(tmp_path / "var")}, environ={}, entry_points=[])
    try:
        served = _served_methods(config.registry)
    finally:
        config.registry["benben.db.engine"].dispose()
    documented = {
        path: {method.upper() for method in item if method in HTTP_METHODS}
        for path, item in openapi["paths"].items()
    }
    assert documented == served


def _served_methods(registry: Any) -> dict[str, set[str]]:
    routes = {
        route.name: route.pattern for route in registry.getUtility(IRoutesMapper).get_routes()
    }
    methods: dict[str, set[str]] = {pattern: set() for pattern in routes.values()}
    for view in registry.introspector.get_category("views") or []:
        intr = view["introspectable"]
        route_name = intr.get("route_name")
        if route_name in routes:
            declared = intr.get("request_methods") or ()
            declared = (declared,) if isinstance(declared, str) else declared
            methods[routes[route_name]].update(declared)
    return methods


# -- real responses against the documented schemas ------------------------------------------


def _validator(openapi: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    resource = Resource.from_contents(openapi, default_specification=DRAFT202012)
    registry: Registry = Registry().with_resource(OPENAPI_URI, resource)
    ref = schema["$ref"]  # every documented body is a reference to components/schemas
    return Draft202012Validator({"$ref": OPENAPI_URI + ref}, registry=registry)


def _documented_response(
    openapi: dict[str, Any], path: str, method: str, status: int
) -> dict[str, Any]:
    responses = openapi["paths"][path][method]["responses"]
    response = responses.get(str(status), responses["default"])
    if "$ref" in response:
        response = openapi["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response


def assert_documented(
    openapi: dict[str, Any], path: str, response: webtest.TestResponse, method: str = "get"
) -> None:
    documented = _documented_response(openapi, path, method, response.status_code)
    assert response.content_type in documented["content"], (
        f"{path} answered {response.status_code} {response.content_type}, documented: "
        f"{sorted(documented['content'])}"
    )
    schema = documented["content"][response.content_type]["schema"]
    errors = [e.message for e in _validator(openapi, schema).iter_errors(response.json)]
    assert errors == [], f"{path} {response.status_code}: {errors}"
    for header in documented.get("headers", {}):
        assert header in response.headers, f"{path} {response.status_code} lacks {header}"


@pytest.mark.parametrize("path", ["/health/live", "/health/ready", "/version", "/api/v1/"])
def test_successful_responses_match_the_document(
    openapi: dict[str, Any], app: webtest.TestApp, path: str
) -> None:
    response = app.get(path, status=200)
    assert_documented(openapi, path, response)


def test_not_ready_and_degraded_responses_match_the_document(
    openapi: dict[str, Any], make_app: Callable[..., webtest.TestApp]
) -> None:
    # Nothing listens on port 1: the cache check fails, which leaves the instance ready but
    # degraded; a failing critical check makes readiness a 503 problem.
    unreachable = {"benben.cache.backend": "redis", "benben.cache.url": "redis://127.0.0.1:1/0"}
    degraded = make_app(unreachable).get("/health/ready", status=200)
    assert degraded.json["checks"]["cache"]["status"] == "degraded"
    assert_documented(openapi, "/health/ready", degraded)

    def include(config: Any) -> None:
        config.add_health_check("upstream", lambda request: "refused")

    response = make_app(unreachable, include=include).get("/health/ready", status=503)
    assert response.content_type == PROBLEM_JSON
    assert response.json["checks"]["upstream"]["status"] == "down"
    assert response.json["checks"]["cache"]["status"] == "degraded"
    assert_documented(openapi, "/health/ready", response)


def test_method_not_allowed_matches_the_problem_schema(
    openapi: dict[str, Any], app: webtest.TestApp
) -> None:
    response = app.post("/version", status=405)
    assert response.headers["Allow"] == "GET"
    assert_documented(openapi, "/version", response)


def test_validation_errors_match_the_problem_schema(
    openapi: dict[str, Any], make_app: Callable[..., webtest.TestApp]
) -> None:
    """The shape docs/errors.md shows: errors[] with location, pointer and message."""

    def require_title(request: Any, **_kwargs: Any) -> None:
        body = request.json_body if request.body else {}
        if not isinstance(body.get("data", {}).get("title"), str):
            request.errors.add("body", "data.title", "Required: a string.")

    def add_notes(config: Any) -> None:
        notes = Service("notes", "/notes")
        notes.add_view("POST", lambda request: {"ok": True}, validators=(require_title,))
        config.add_cornice_service(notes)

    app = make_app(include=add_notes)
    response = app.post_json(
        "/notes", {"data": {}}, status=400, headers={"X-Request-ID": "docs-example-1"}
    )
    assert response.json["errors"] == [
        {"location": "body", "pointer": "/data/title", "message": "Required: a string."}
    ]
    assert response.json["request_id"] == "docs-example-1"
    problem = openapi["components"]["responses"]["Problem"]["content"][PROBLEM_JSON]["schema"]
    assert list(_validator(openapi, problem).iter_errors(response.json)) == []


# -- README, CI and catalog ------------------------------------------------------------------

RUN_COMMAND = "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/benben serve"


def _shell_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", markdown, flags=re.DOTALL | re.MULTILINE)


def test_readme_opens_with_the_run_and_test_commands_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first, second = (block.strip() for block in _shell_blocks(readme)[:2])
    assert first == RUN_COMMAND
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    (ci_command,) = re.findall(r'^TEST_COMMAND="(.*)"$', ci, flags=re.MULTILINE)
    assert second == ci_command
    assert "--ini" not in first  # the embedded defaults need no configuration file


def test_ci_script_is_strict_and_executable() -> None:
    script = ROOT / ".ci" / "run"
    assert script.stat().st_mode & 0o111, ".ci/run must be executable"
    lines = script.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines


def _relative_links(markdown: str) -> list[str]:
    targets = re.findall(r"\]\(([^)\s]+)\)", markdown)
    return [t.split("#", 1)[0] for t in targets if not re.match(r"^[a-z]+:|^#", t)]


FRONT_PAGES = [
    "README.md",
    "CHANGELOG.md",
    "benchmarks/README.md",
    "conf/README.md",
    "helm/README.md",
    "plugins/README.md",
]


@pytest.mark.parametrize(
    "page",
    FRONT_PAGES + sorted(str(path.relative_to(ROOT)) for path in ROOT.glob("docs/**/*.md")),
)
def test_relative_links_lead_to_existing_files(page: str) -> None:
    path = ROOT / page
    broken = [
        link
        for link in _relative_links(path.read_text(encoding="utf-8"))
        if not (path.parent / link).exists()
    ]
    assert broken == []


def test_catalog_entities_and_their_relations_resolve() -> None:
    entities = list(yaml.safe_load_all((ROOT / "catalog-info.yaml").read_text(encoding="utf-8")))
    by_ref = {f"{e['kind'].lower()}:default/{e['metadata']['name']}": e for e in entities}
    assert set(by_ref) == {
        "system:default/benben",
        "component:default/benben",
        "api:default/benben-api",
        "group:default/benben-developers",
    }
    for entity in entities:
        assert entity["apiVersion"] == "backstage.io/v1alpha1"
        if "owner" in entity["spec"]:
            assert entity["spec"]["owner"] in by_ref
        if "system" in entity["spec"]:
            assert f"system:default/{entity['spec']['system']}" in by_ref
    component = by_ref["component:default/benben"]
    assert component["spec"]["type"] == "service"
    for api in component["spec"]["providesApis"]:
        assert f"api:default/{api}" in by_ref
    definition = by_ref["api:default/benben-api"]["spec"]["definition"]["$text"]
    assert (ROOT / definition).resolve() == OPENAPI


# -- security: what we defend against ------------------------------------------------------

SECURITY = ROOT / "docs" / "security.md"
_PROOF = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?")


def _defences() -> list[str]:
    text = SECURITY.read_text(encoding="utf-8")
    table = text.split("## What we defend against", 1)[1]
    return [line for line in table.splitlines() if line.startswith("| ") and "`tests/" in line]


def test_every_defence_names_tests_that_exist() -> None:
    rows = _defences()
    assert len(rows) >= 10, "the table lists the classes Benben defends against"
    missing = []
    for row in rows:
        for path, name in _PROOF.findall(row):
            source = ROOT / path
            if not source.is_file():
                missing.append(path)
            elif name and not re.search(rf"^def {name}\b", source.read_text(), re.MULTILINE):
                missing.append(f"{path}::{name}")
    assert missing == []
