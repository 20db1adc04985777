"""Backstage's naming rules (``@backstage/catalog-model``'s validators) and the names derived
from this instance's public URL.

Backstage refuses a whole location when one entity breaks a rule, so every value that reaches
``metadata`` is checked here, and settings are checked at start-up with the same functions.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

__all__ = [
    "MAX_NAME",
    "as_entity_ref",
    "as_name",
    "child_name",
    "instance_name",
    "is_valid_label_value",
    "is_valid_name",
    "is_valid_tag",
]

MAX_NAME = 63
PROJECT_NAME = "benben"  # the project's own Component (catalog-info.yaml at the repository root)
_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_TAG = re.compile(r"[a-z0-9:+#]+(-[a-z0-9:+#]+)*")
_DNS_LABEL = re.compile(r"[a-z0-9]+(-+[a-z0-9]+)*")
_KIND = re.compile(r"[a-zA-Z][a-z0-9A-Z]*")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_HASH_LENGTH = 8


def is_valid_name(value: str) -> bool:
    """``metadata.name``: 1-63 characters ``[A-Za-z0-9_.-]``, alphanumeric at both ends."""
    return 1 <= len(value) <= MAX_NAME and bool(_NAME.fullmatch(value))


def is_valid_label_value(value: str) -> bool:
    return value == "" or is_valid_name(value)


def is_valid_tag(value: str) -> bool:
    """``metadata.tags``: 1-63 characters ``[a-z0-9:+#]`` in words joined by single ``-``."""
    return 1 <= len(value) <= MAX_NAME and bool(_TAG.fullmatch(value))


def _is_valid_namespace(value: str) -> bool:
    return 1 <= len(value) <= MAX_NAME and bool(_DNS_LABEL.fullmatch(value))


def as_name(value: object) -> str:
    """Setting parser: empty (derive one) or a valid Backstage entity name."""
    text = str(value).strip()
    if text and not is_valid_name(text):
        raise ValueError(
            "a Backstage entity name is 1-63 characters of letters, digits, '-', '_' and '.', "
            "starting and ending with a letter or digit"
        )
    return text


def as_entity_ref(value: object) -> str:
    """Setting parser: empty or an entity reference, ``[kind:][namespace/]name``."""
    text = str(value).strip()
    if not text:
        return text
    kind, _, rest = text.rpartition(":") if ":" in text else ("", "", text)
    namespace, _, name = rest.rpartition("/") if "/" in rest else ("", "", rest)
    if (
        (kind and not (len(kind) <= MAX_NAME and _KIND.fullmatch(kind)))
        or (namespace and not _is_valid_namespace(namespace))
        or not is_valid_name(name)
    ):
        raise ValueError(
            "expected a Backstage entity reference, [kind:][namespace/]name "
            "(e.g. group:default/platform-team)"
        )
    return text


def _fit(name: str) -> str:
    """``name`` if short enough, else cut with a hash of the whole, so that it stays unique."""
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_LENGTH]
    head = name[: MAX_NAME - _HASH_LENGTH - 1].rstrip("-_.")
    return f"{head}-{digest}"


def instance_name(url: str) -> str:
    """A name for the instance at ``url``, unique per URL: host, port and path, e.g.
    ``https://data.example.org/benben`` -> ``benben-data-example-org-benben``."""
    parts = urlsplit(url)
    words = [parts.hostname or "", str(parts.port or ""), *parts.path.split("/")]
    slug = _NOT_ALNUM.sub("-", "-".join(words).lower()).strip("-")
    if not slug.startswith(PROJECT_NAME):
        slug = f"{PROJECT_NAME}-{slug}" if slug else PROJECT_NAME
    if slug == PROJECT_NAME:  # never the project's own Component
        slug = f"{PROJECT_NAME}-instance"
    return _fit(slug)


as_name.__name__ = "entity name"
as_entity_ref.__name__ = "entity reference"


def child_name(parent: str, suffix: str) -> str:
    """``<parent>-<suffix>``, within 63 characters (a hash keeps long ones unique)."""
    return _fit(f"{parent}-{suffix}".rstrip("-_."))
