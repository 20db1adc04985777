"""``GET /backstage/catalog-info.yaml`` and ``/backstage/entities``: this deployment's entities."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import webtest
import yaml
from backstage_support import plugin_entry_points, write_plugin

from benben import __version__

PUBLIC = "https://data.example.org/benben"
NAME = "benben-data-example-org-benben"


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    return {**app_settings, "benben.public_url": PUBLIC + "/"}


def entities_of(app: webtest.TestApp, **kwargs: Any) -> dict[str, dict[str, Any]]:
    listed = app.get("/backstage/entities", **kwargs).json
    return {f"{e['kind'].lower()}:default/{e['metadata']['name']}": e for e in listed}


def test_yaml_and_json_serve_the_same_entities_in_order(app: webtest.TestApp) -> None:
    served = app.get("/backstage/catalog-info.yaml")
    assert served.content_type == "application/yaml"
    assert served.headers["Cache-Control"] == "no-cache"
    documents = list(yaml.safe_load_all(served.text))
    assert served.text.startswith("---\napiVersion: backstage.io/v1alpha1\nkind: Component\n")
    assert documents == app.get("/backstage/entities").json
    assert [(d["kind"], d["metadata"]["name"]) for d in documents][:3] == [
        ("Component", NAME),
        ("API", f"{NAME}-api"),
        ("Component", f"{NAME}-backstage"),
    ]


def test_the_instance_is_a_service_providing_its_api(
    make_app: Callable[..., webtest.TestApp],
) -> None:
    app = make_app(
        {
            "benben.backstage.owner": "group:default/platform",
            "benben.backstage.lifecycle": "staging",
            "benben.backstage.system": "data-platform",
            "benben.backstage.kubernetes_id": "benben-prod",
            "benben.backstage.kubernetes_namespace": "data",
            "benben.backstage.url": "https://backstage.example.org",
            "benben.backstage.tags": "benben data-api",
        }
    )
    instance = entities_of(app)[f"component:default/{NAME}"]
    assert instance["spec"] == {
        "type": "service",
        "lifecycle": "staging",
        "owner": "group:default/platform",
        "system": "data-platform",
        "providesApis": [f"{NAME}-api"],
    }
    metadata = instance["metadata"]
    assert metadata["title"] == "Benben at data.example.org"
    assert metadata["tags"] == ["benben", "data-api"]
    assert metadata["annotations"] == {
        "benben.io/version": __version__,
        "benben.io/public-url": PUBLIC,
        "backstage.io/source-location": "url:https://github.com/benben/benben/",
        "backstage.io/techdocs-entity": "component:default/benben",
        "backstage.io/kubernetes-id": "benben-prod",
        "backstage.io/kubernetes-namespace": "data",
    }
    assert metadata["labels"] == {"benben.io/version": __version__}
    links = {link["title"]: link["url"] for link in metadata["links"]}
    assert links == {
        "API explorer": f"{PUBLIC}/api/v1/docs",
        "OpenAPI document": f"{PUBLIC}/api/v1/openapi.json",
        "Readiness": f"{PUBLIC}/health/ready",
        "Metrics": f"{PUBLIC}/metrics",
        "Documentation (TechDocs)": "https://backstage.example.org/docs/default/component/benben",
    }
    # Each link to the instance leads somewhere it really serves (metrics: to allowed networks).
    for url in links.values():
        if url.startswith(PUBLIC):
            local = {"REMOTE_ADDR": "127.0.0.1"}
            assert app.get(url[len(PUBLIC) :], extra_environ=local).status_int == 200, url


def test_optional_annotations_and_links_are_left_out_when_unset(
    make_app: Callable[..., webtest.TestApp],
) -> None:
    app = make_app(
        {
            "benben.backstage.system": "",
            "benben.backstage.source_location": "",
            "benben.backstage.techdocs_entity": "",
            "benben.backstage.kubernetes_label_selector": "app.kubernetes.io/instance=b",
        }
    )
    instance = entities_of(app)[f"component:default/{NAME}"]
    assert "system" not in instance["spec"]
    assert set(instance["metadata"]["annotations"]) == {
        "benben.io/version",
        "benben.io/public-url",
        "backstage.io/kubernetes-label-selector",
    }
    titles = [link["title"] for link in instance["metadata"]["links"]]
    assert "Documentation (TechDocs)" not in titles


def test_the_api_definition_is_the_live_openapi_document(app: webtest.TestApp) -> None:
    api = entities_of(app)[f"api:default/{NAME}-api"]
    assert api["spec"]["type"] == "openapi"
    assert api["spec"]["lifecycle"] == "production"
    assert api["spec"]["system"] == "benben"
    definition = json.loads(api["spec"]["definition"])
    live = app.get("/api/v1/openapi.json").json
    assert definition == {**live, "servers": [{"url": PUBLIC}]}
    # Plugins' endpoints are in it, this plugin's own included.
    assert "/backstage/catalog-info.yaml" in definition["paths"]


def test_each_enabled_plugin_is_a_subcomponent_with_its_version(
    make_app: Callable[..., webtest.TestApp], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    write_plugin(site, "tags", "1.4.0", description="Tags on records.")
    write_plugin(site, "notes", "2.0.0+local", requires=("tags>=1",))
    write_plugin(site, "muted", "0.3.0")
    monkeypatch.syspath_prepend(str(site))
    app = make_app({"benben.plugins.disabled": "muted"}, entry_points=plugin_entry_points())
    entities = entities_of(app)
    assert f"component:default/{NAME}-muted" not in entities  # disabled: not running
    notes = entities[f"component:default/{NAME}-notes"]
    assert notes["spec"] == {
        "type": "benben-plugin",
        "lifecycle": "production",
        "owner": "group:default/benben-operators",
        "subcomponentOf": f"component:default/{NAME}",
        "dependsOn": [f"component:default/{NAME}-tags"],
    }
    assert notes["metadata"]["title"] == "notes 2.0.0+local"
    assert notes["metadata"]["annotations"] == {
        "benben.io/version": "2.0.0+local",
        "benben.io/plugin": "notes",
        "benben.io/distribution": "bbtest-notes",
    }
    # "+" is not allowed in a label value: the version is then only an annotation.
    assert notes["metadata"]["labels"] == {"benben.io/plugin": "notes"}
    assert notes["metadata"]["tags"] == ["benben-plugin"]
    tags = entities[f"component:default/{NAME}-tags"]
    assert tags["metadata"]["labels"]["benben.io/version"] == "1.4.0"
    assert tags["metadata"]["description"] == "Tags on records."
    assert "dependsOn" not in tags["spec"]


def test_without_a_public_url_the_request_says_where_the_instance_is(
    make_app: Callable[..., webtest.TestApp],
) -> None:
    app = make_app({"benben.public_url": ""})
    entities = entities_of(app, extra_environ={"HTTP_HOST": "db.example.net:8443"})
    instance = entities["component:default/benben-db-example-net-8443"]
    assert instance["metadata"]["annotations"]["benben.io/public-url"] == (
        "http://db.example.net:8443"
    )
    assert "api:default/benben-db-example-net-8443-api" in entities


def test_a_configured_name_names_every_entity(make_app: Callable[..., webtest.TestApp]) -> None:
    app = make_app({"benben.backstage.name": "Benben_EU.1", "benben.backstage.title": "EU"})
    entities = entities_of(app)
    assert set(entities) >= {
        "component:default/Benben_EU.1",
        "api:default/Benben_EU.1-api",
        "component:default/Benben_EU.1-backstage",
    }
    assert entities["component:default/Benben_EU.1"]["metadata"]["title"] == "EU"


def test_nothing_secret_is_served(make_app: Callable[..., webtest.TestApp]) -> None:
    app = make_app(
        {
            "benben.backstage.token": "tok-very-secret-123",
            "benben.backstage.url": "https://backstage.internal.example",
        }
    )
    text = app.get("/backstage/catalog-info.yaml").text
    settings = app.app.registry.settings
    assert "tok-very-secret-123" not in text
    assert settings["benben.secret"] not in text
    if settings["benben.database.url"]:
        assert settings["benben.database.url"] not in text
    # Public: no credential needed (Backstage reads it anonymously).
    assert app.get("/backstage/entities").status_int == 200


def test_the_routes_are_documented_as_public(app: webtest.TestApp) -> None:
    paths = app.get("/api/v1/openapi.json").json["paths"]
    yaml_get = paths["/backstage/catalog-info.yaml"]["get"]
    assert yaml_get["operationId"] == "getBackstageCatalogInfo"
    # Its media type, and no schema: a schema describes one value, not a multi-document stream
    # (schemathesis, a client generator would parse it as one).
    assert yaml_get["responses"]["200"]["content"] == {"application/yaml": {}}
    assert "security" not in yaml_get
    assert paths["/backstage/entities"]["get"]["tags"] == ["backstage"]
