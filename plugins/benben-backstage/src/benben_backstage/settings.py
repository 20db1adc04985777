"""The plugin's settings, ``benben.backstage.*``, and their parsed form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from benben.plugin import Setting, as_bool, as_float, as_int, as_str

from .names import as_entity_ref, as_name, is_valid_label_value, is_valid_tag

__all__ = ["SETTINGS", "BackstageSettings"]

KUBERNETES_ID_ENV = "BENBEN_BACKSTAGE_KUBERNETES_ID"


def as_non_empty(value: Any) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError("must not be empty")
    return text


def as_label_value(value: Any) -> str:
    text = str(value).strip()
    if not is_valid_label_value(text):
        raise ValueError(
            "a Kubernetes label value is at most 63 characters of letters, digits, '-', '_' "
            "and '.', starting and ending with a letter or digit"
        )
    return text


def as_http_url(value: Any) -> str:
    text = str(value).strip().rstrip("/")
    if text:
        parts = urlsplit(text)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("expected an http:// or https:// URL")
    return text


def as_tags(value: Any) -> tuple[str, ...]:
    words = value if isinstance(value, list | tuple) else str(value).replace(",", " ").split()
    tags = tuple(str(word).strip() for word in words if str(word).strip())
    bad = [tag for tag in tags if not is_valid_tag(tag)]
    if bad:
        raise ValueError(
            f"invalid Backstage tag {bad[0]!r}: lowercase letters, digits, ':', '+' and '#' "
            "in words joined by single '-', at most 63 characters"
        )
    return tags


as_non_empty.__name__ = "string"
as_label_value.__name__ = "string"
as_http_url.__name__ = "URL"
as_tags.__name__ = "list"

SETTINGS = (
    Setting(
        "benben.backstage.name",
        as_name,
        "",
        "Name of this instance's Component in Backstage (its API and plugins are named after "
        "it). Empty: derived from `benben.public_url` (`https://data.example.org` -> "
        "`benben-data-example-org`). Must be unique in the catalog.",
    ),
    Setting(
        "benben.backstage.title",
        as_str,
        "",
        "Title shown in Backstage. Empty: `Benben at HOST`, HOST from the public URL.",
    ),
    Setting(
        "benben.backstage.lifecycle",
        as_non_empty,
        "production",
        "`spec.lifecycle` of the instance, its API and its plugins.",
    ),
    Setting(
        "benben.backstage.owner",
        as_entity_ref,
        "group:default/benben-operators",
        "`spec.owner`: who runs this instance, an entity reference.",
    ),
    Setting(
        "benben.backstage.system",
        as_entity_ref,
        "benben",
        "`spec.system` of the instance and its API (the project's catalog-info.yaml defines "
        "the System `benben`). Empty: none.",
    ),
    Setting(
        "benben.backstage.tags",
        as_tags,
        ("benben",),
        "`metadata.tags` of the instance and its API.",
    ),
    Setting(
        "benben.backstage.kubernetes_id",
        as_label_value,
        "",
        "Annotation `backstage.io/kubernetes-id`: the value of the label "
        "`backstage.io/kubernetes-id` on the instance's Kubernetes objects (the Helm chart sets "
        f"`{KUBERNETES_ID_ENV}`). Empty: no annotation.",
    ),
    Setting(
        "benben.backstage.kubernetes_namespace",
        as_str,
        "",
        "Annotation `backstage.io/kubernetes-namespace`. Empty: no annotation.",
    ),
    Setting(
        "benben.backstage.kubernetes_label_selector",
        as_str,
        "",
        "Annotation `backstage.io/kubernetes-label-selector` (`app.kubernetes.io/instance=x`), "
        "instead of or besides `kubernetes_id`. Empty: no annotation.",
    ),
    Setting(
        "benben.backstage.techdocs_entity",
        as_entity_ref,
        "component:default/benben",
        "Annotation `backstage.io/techdocs-entity`: the entity whose TechDocs document this "
        "instance (the project's Component). Empty: no annotation.",
    ),
    Setting(
        "benben.backstage.techdocs_url",
        as_http_url,
        "",
        "Link to the TechDocs. Empty: `URL/docs/NAMESPACE/KIND/NAME` of `techdocs_entity`, URL "
        "being `benben.backstage.url`; no link when that is empty.",
    ),
    Setting(
        "benben.backstage.source_location",
        as_str,
        "url:https://github.com/benben/benben/",
        "Annotation `backstage.io/source-location`. Empty: no annotation.",
    ),
    Setting(
        "benben.backstage.url",
        as_http_url,
        "",
        "Base URL of Backstage (where `/api/catalog` is served), for `benben backstage register` "
        "and the registration on start-up.",
    ),
    Setting(
        "benben.backstage.token",
        as_str,
        "",
        "Bearer token for Backstage's catalog API (a static external-access token). Empty: "
        "requests carry no Authorization header.",
        secret=True,
    ),
    Setting(
        "benben.backstage.timeout",
        as_float(0.5, 300),
        10.0,
        "Seconds to wait for each answer from Backstage.",
    ),
    Setting(
        "benben.backstage.register_on_startup",
        as_bool,
        False,
        "Register in Backstage when the server starts, in the background (start-up never "
        "waits), retrying when it fails. Needs `benben.public_url` and `benben.backstage.url`.",
    ),
    Setting(
        "benben.backstage.register_attempts",
        as_int(1, 1000),
        10,
        "Attempts of the registration on start-up before giving up.",
    ),
    Setting(
        "benben.backstage.register_retry_seconds",
        as_float(0.01, 3600),
        5.0,
        "Delay before the second attempt; each next delay doubles, up to 5 minutes.",
    ),
)


PREFIX = "benben.backstage."
DEFAULTS = {setting.name[len(PREFIX) :]: setting.default for setting in SETTINGS}


@dataclass(frozen=True)
class BackstageSettings:
    """The parsed ``benben.backstage.*`` settings, as ``plugin_settings`` gives them."""

    name: str
    title: str
    lifecycle: str
    owner: str
    system: str
    tags: tuple[str, ...]
    kubernetes_id: str
    kubernetes_namespace: str
    kubernetes_label_selector: str
    techdocs_entity: str
    techdocs_url: str
    source_location: str
    url: str
    token: str
    timeout: float
    register_on_startup: bool
    register_attempts: int
    register_retry_seconds: float

    @classmethod
    def from_settings(cls, values: Mapping[str, Any]) -> BackstageSettings:
        """From ``plugin_settings(config)``; what is missing takes its default."""
        known = {field.name for field in fields(cls)}
        given = {key: value for key, value in values.items() if key in known}
        return cls(**{**DEFAULTS, **given})

    def __repr__(self) -> str:  # never the token, in logs or tracebacks
        return f"BackstageSettings(name={self.name!r}, url={self.url!r}, token=***)"
