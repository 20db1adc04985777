"""Backstage's naming rules, the names derived from the public URL, and settings checked at
start-up (no database: only configuration)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyramid.exceptions import ConfigurationError

from benben.config import configure
from benben_backstage.names import (
    as_entity_ref,
    child_name,
    instance_name,
    is_valid_label_value,
    is_valid_name,
    is_valid_tag,
)
from benben_backstage.settings import BackstageSettings


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://data.example.org", "benben-data-example-org"),
        ("https://data.example.org/", "benben-data-example-org"),
        ("http://127.0.0.1:6543", "benben-127-0-0-1-6543"),
        ("https://Data.Example.org/Team/Benben/", "benben-data-example-org-team-benben"),
        ("https://benben.example.org", "benben-example-org"),
        ("https://benben", "benben-instance"),  # never the project's own Component
        ("https://[::1]:8080/x", "benben-1-8080-x"),
    ],
)
def test_instance_names_come_from_the_public_url(url: str, name: str) -> None:
    assert instance_name(url) == name
    assert is_valid_name(name)


def test_long_urls_give_distinct_names_within_63_characters() -> None:
    first = instance_name("https://" + "a" * 40 + ".example.org/tenants/one")
    second = instance_name("https://" + "a" * 40 + ".example.org/tenants/two")
    assert first != second
    for name in (first, second, child_name(first, "api"), child_name(first, "x" * 70)):
        assert len(name) <= 63
        assert is_valid_name(name)
    assert child_name("benben-x", "api") == "benben-x-api"
    assert child_name("benben-x", "notes_") == "benben-x-notes"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("a", True),
        ("Benben_EU.1", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("-a", False),
        ("a-", False),
        ("a b", False),
        ("é", False),
        ("", False),
    ],
)
def test_entity_names(value: str, valid: bool) -> None:
    assert is_valid_name(value) is valid
    assert is_valid_label_value(value) is (valid or value == "")


@pytest.mark.parametrize(
    ("value", "valid"),
    [("benben", True), ("data-api", True), ("c++", True), ("a:b", True), ("Python", False),
     ("v0.1", False), ("a--b", False), ("-a", False), ("", False)],
)  # fmt: skip
def test_tags(value: str, valid: bool) -> None:
    assert is_valid_tag(value) is valid


@pytest.mark.parametrize(
    "value",
    ["benben", "group:platform", "group:default/platform-team", "user:ops/jo.doe", "Group:x"],
)
def test_entity_references_accepted(value: str) -> None:
    assert as_entity_ref(value) == value


@pytest.mark.parametrize(
    "value", ["group:Default/x", "group:default/", "a b", "group:default/x/y", "9kind:x"]
)
def test_entity_references_refused(value: str) -> None:
    with pytest.raises(ValueError, match="entity reference"):
        as_entity_ref(value)


def _configure(tmp_path: Path, **settings: str) -> BackstageSettings:
    from benben_backstage.entities import SETTINGS_KEY

    config = configure({"benben.data_dir": str(tmp_path / "var"), **settings}, environ={})
    return config.registry[SETTINGS_KEY]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("benben.backstage.name", "bad name!", "a Backstage entity name is 1-63 characters"),
        ("benben.backstage.name", "x" * 64, "a Backstage entity name is 1-63 characters"),
        ("benben.backstage.owner", "group:Platform Team", "expected a Backstage entity reference"),
        ("benben.backstage.tags", "benben Python", "invalid Backstage tag 'Python'"),
        ("benben.backstage.kubernetes_id", "-release", "a Kubernetes label value"),
        ("benben.backstage.url", "ftp://backstage", "expected an http:// or https:// URL"),
        ("benben.backstage.lifecycle", " ", "must not be empty"),
        ("benben.backstage.register_attempts", "0", "must be >= 1"),
    ],
)
def test_invalid_settings_stop_start_up_naming_the_setting(
    tmp_path: Path, key: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        _configure(tmp_path, **{key: value})
    assert f"for setting {key}" in str(caught.value)
    assert message in str(caught.value)


def test_settings_from_the_environment(tmp_path: Path) -> None:
    from benben_backstage.entities import SETTINGS_KEY

    config = configure(
        {"benben.data_dir": str(tmp_path / "var")},
        environ={
            "BENBEN_BACKSTAGE_KUBERNETES_ID": "benben-prod",
            "BENBEN_BACKSTAGE_TOKEN": "secret-token-1",
            "BENBEN_BACKSTAGE_REGISTER_ON_STARTUP": "yes",
        },
    )
    settings: BackstageSettings = config.registry[SETTINGS_KEY]
    assert settings.kubernetes_id == "benben-prod"
    assert settings.register_on_startup is True
    assert settings.token == "secret-token-1"
    assert "secret-token-1" not in repr(settings)
    assert settings.owner == "group:default/benben-operators"  # the default
