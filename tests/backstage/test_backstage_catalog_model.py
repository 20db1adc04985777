"""Every entity the project commits or an instance serves passes Backstage's own model:
``@backstage/catalog-model``'s entity policies and kind validators, run by Node."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import webtest
import yaml
from backstage_support import ROOT, plugin_entry_points, resolve_placeholders, validate_entities
from backstage_support import write_plugin as write_fake_plugin

from benben_backstage.names import is_valid_name, is_valid_tag


def committed_entities() -> list[dict[str, Any]]:
    path = ROOT / "catalog-info.yaml"
    documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    return [resolve_placeholders(document, path.parent) for document in documents]


def test_the_committed_catalog_info_is_valid(catalog_model: Path) -> None:
    entities = committed_entities()
    verdicts = validate_entities(catalog_model, entities)
    assert [v for v in verdicts if not v["ok"]] == []
    assert {v["ref"] for v in verdicts} >= {
        "system:default/benben",
        "component:default/benben",
        "api:default/benben-api",
    }


def test_the_committed_api_definition_is_the_committed_openapi_document() -> None:
    (api,) = [e for e in committed_entities() if e["kind"] == "API"]
    committed = (ROOT / "docs" / "api" / "openapi.json").read_text(encoding="utf-8")
    assert api["spec"]["definition"] == committed
    (component,) = [e for e in committed_entities() if e["kind"] == "Component"]
    assert component["metadata"]["annotations"]["backstage.io/techdocs-ref"] == "dir:."
    assert component["spec"]["providesApis"] == [api["metadata"]["name"]]


def test_what_an_instance_serves_is_valid(
    catalog_model: Path,
    make_app: Callable[..., webtest.TestApp],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = tmp_path / "site"
    write_fake_plugin(site, "tags", "1.4.0", description="Tags.")
    write_fake_plugin(site, "notes_", "2.0.0+local.7", requires=("tags",))
    monkeypatch.syspath_prepend(str(site))
    app = make_app(
        {
            "benben.public_url": "https://" + "x" * 50 + ".example.org:8443/benben",
            "benben.backstage.kubernetes_id": "benben-prod",
            "benben.backstage.kubernetes_label_selector": "app.kubernetes.io/instance=benben",
            "benben.backstage.url": "https://backstage.example.org",
            "benben.backstage.tags": "benben c++ data:api",
        },
        entry_points=plugin_entry_points(),
    )
    entities = app.get("/backstage/entities").json
    served_yaml = list(yaml.safe_load_all(app.get("/backstage/catalog-info.yaml").text))
    assert len(entities) == 8  # instance, API, backstage, console, webhooks, files, notes_, tags
    verdicts = validate_entities(catalog_model, entities + served_yaml)
    assert [v for v in verdicts if not v["ok"]] == []


def test_a_broken_entity_is_refused_with_backstages_message(catalog_model: Path) -> None:
    """The validation really validates: one bad field, one refusal naming it."""
    (component,) = [e for e in committed_entities() if e["kind"] == "Component"]
    bad_name = copy.deepcopy(component)
    bad_name["metadata"]["name"] = "bad name!"
    bad_tag = copy.deepcopy(component)
    bad_tag["metadata"]["tags"] = ["Python3.11"]
    no_type = copy.deepcopy(component)
    del no_type["spec"]["type"]
    verdicts = validate_entities(catalog_model, [bad_name, bad_tag, no_type])
    assert [v["ok"] for v in verdicts] == [False, False, False]
    assert '"metadata.name" is not valid' in verdicts[0]["errors"][0]
    assert '"tags.0" is not valid' in verdicts[1]["errors"][0]
    assert "type" in verdicts[2]["errors"][0]


NAMES = ["a", "Benben_EU.1", "a" * 63, "a" * 64, "-a", "a-", "a..b", "a b", "x/y", "0"]
TAGS = ["benben", "c++", "a:b", "data-api", "Python", "v0.1", "a--b", "-a", "#x", "a" * 64]


def test_the_plugin_s_rules_are_backstage_s_rules(catalog_model: Path) -> None:
    """Names and tags the plugin accepts are exactly those Backstage accepts."""
    (component,) = [e for e in committed_entities() if e["kind"] == "Component"]
    probes = []
    for name in NAMES:
        probe = copy.deepcopy(component)
        probe["metadata"]["name"] = name
        probes.append(probe)
    for tag in TAGS:
        probe = copy.deepcopy(component)
        probe["metadata"]["tags"] = [tag]
        probes.append(probe)
    verdicts = [v["ok"] for v in validate_entities(catalog_model, probes)]
    assert verdicts == [is_valid_name(n) for n in NAMES] + [is_valid_tag(t) for t in TAGS]
