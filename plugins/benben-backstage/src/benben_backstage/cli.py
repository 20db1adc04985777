"""``benben backstage register|unregister|entities``, added through ``benben.commands``.

``register`` adds this instance's ``/backstage/catalog-info.yaml`` as a location of the
Backstage catalog (``onConflict=refresh``: running it again refreshes the same location);
``unregister`` deletes that location, and with it the entities; ``entities`` prints what the
instance serves to Backstage.  They read the server's settings (``--ini``, ``BENBEN_*``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from benben.plugin import CommandError, Registry, Router, add_ini_argument, command_app

__all__ = ["register"]

EXIT_USAGE = 2
ACTIONS = ("register", "unregister", "entities")


def register(parser: argparse.ArgumentParser) -> None:
    """Register this instance in a Backstage catalog, remove it, or print its entities."""
    parser.description = (
        "This instance in a Backstage software catalog: its Component, API and plugins, as "
        "GET /backstage/catalog-info.yaml serves them. Settings: benben.backstage.* and "
        "benben.public_url (see docs/backstage.md)."
    )
    parser.set_defaults(handler=_missing_action)
    actions = parser.add_subparsers(
        title="backstage commands", dest="backstage_command", metavar="ACTION"
    )
    add = actions.add_parser(
        "register",
        help="register this instance's catalog-info.yaml as a Backstage location (idempotent)",
        description="POST /api/catalog/locations?onConflict=refresh with the URL "
        "<benben.public_url>/backstage/catalog-info.yaml: a first run adds the location, the "
        "next ones refresh it.",
    )
    _backstage_options(add)
    add.add_argument(
        "--dry-run",
        action="store_true",
        help="let Backstage read and validate the entities without storing anything",
    )
    add.set_defaults(handler=run_register)
    remove = actions.add_parser(
        "unregister",
        help="delete this instance's location from Backstage, and its entities with it",
        description="Find the location of this instance's Component "
        "(GET /api/catalog/locations/by-entity/...) and delete it. Nothing registered: "
        "nothing to do.",
    )
    _backstage_options(remove)
    remove.set_defaults(handler=run_unregister)
    show = actions.add_parser(
        "entities",
        help="print the entities this instance serves to Backstage",
        description="Print GET /backstage/catalog-info.yaml as this instance answers it.",
    )
    add_ini_argument(show)
    show.add_argument("--json", action="store_true", help="print JSON instead of YAML")
    show.set_defaults(handler=run_entities)


def _backstage_options(parser: argparse.ArgumentParser) -> None:
    add_ini_argument(parser)
    parser.add_argument(
        "--url", metavar="URL", help="Backstage's base URL (default: benben.backstage.url)"
    )
    parser.add_argument(
        "--token-env",
        metavar="VAR",
        help="read the Backstage token from the environment variable VAR "
        "(default: benben.backstage.token, i.e. BENBEN_BACKSTAGE_TOKEN)",
    )


def _missing_action(args: argparse.Namespace) -> int:
    raise CommandError(
        f"a backstage command is required: {', '.join(ACTIONS)} (see 'benben backstage --help')",
        EXIT_USAGE,
    )


@contextmanager
def _instance(ini: str | None) -> Iterator[tuple[Router, Any]]:
    """The configured app and the plugin's settings; the plugin must be enabled."""
    from .entities import SETTINGS_KEY

    with command_app(ini) as app:
        settings = app.registry.get(SETTINGS_KEY)
        if settings is None:
            raise CommandError(
                "the backstage plugin is not enabled (see 'benben plugins'): it is listed in "
                "benben.plugins.disabled, or benben.plugins does not list it",
                EXIT_USAGE,
            )
        yield app, settings


def _catalog(args: argparse.Namespace, settings: Any) -> Any:
    from .client import Catalog
    from .settings import as_http_url

    url = args.url or settings.url
    if not url:
        raise CommandError(
            "no Backstage URL: set benben.backstage.url (BENBEN_BACKSTAGE_URL) or pass --url",
            EXIT_USAGE,
        )
    try:
        url = as_http_url(url)
    except ValueError as exc:
        raise CommandError(f"--url {url!r}: {exc}", EXIT_USAGE) from None
    token = settings.token
    if args.token_env:
        if args.token_env not in os.environ:
            raise CommandError(f"environment variable {args.token_env} is not set", EXIT_USAGE)
        token = os.environ[args.token_env].strip()
    return Catalog(url, token, settings.timeout)


def _target(registry: Registry) -> str:
    from .entities import catalog_info_url

    target = catalog_info_url(registry)
    if not target:
        raise CommandError(
            "benben.public_url (BENBEN_PUBLIC_URL) is not set: Backstage needs the URL at which "
            "it reads this instance's /backstage/catalog-info.yaml",
            EXIT_USAGE,
        )
    return target


def _backstage_call(call: Any, *args: Any, **kwargs: Any) -> Any:
    from .client import BackstageError

    try:
        return call(*args, **kwargs)
    except BackstageError as exc:
        raise CommandError(str(exc)) from None


def run_register(args: argparse.Namespace) -> int:
    with _instance(args.ini) as (app, settings):
        target = _target(app.registry)
    catalog = _catalog(args, settings)
    answer = _backstage_call(catalog.register, target, dry_run=args.dry_run)
    refs = _entity_refs(answer.get("entities"))
    if args.dry_run:
        found = f": {', '.join(refs)}" if refs else ""
        print(f"dry run: Backstage at {catalog.base_url} accepts {target}{found}")
        return 0
    location = answer.get("location") or {}
    print(
        f"registered {target} in Backstage at {catalog.base_url} "
        f"(location {location.get('id', '?')}); the catalog reads it on its next refresh"
    )
    return 0


def run_unregister(args: argparse.Namespace) -> int:
    from .entities import configured_public_url, names_for

    with _instance(args.ini) as (app, settings):
        target = _target(app.registry)
        name = names_for(settings, configured_public_url(app.registry))["instance"]
    catalog = _catalog(args, settings)
    location = _backstage_call(catalog.location_of, "component", "default", name)
    if location is None:  # registered, but not processed (yet, or ever)?
        location = _backstage_call(catalog.location_by_target, target)
    if location is None:
        print(f"component:default/{name} is not in Backstage at {catalog.base_url}: nothing to do")
        return 0
    if location.get("target") != target:
        raise CommandError(
            f"component:default/{name} comes from the location {location.get('target')!r}, not "
            f"from this instance's {target}: not deleting another location"
        )
    _backstage_call(catalog.delete_location, str(location["id"]))
    print(
        f"unregistered {target} from Backstage at {catalog.base_url} (location "
        f"{location['id']}): its entities are gone from the catalog"
    )
    return 0


def run_entities(args: argparse.Namespace) -> int:
    from benben.plugin import Request

    from .entities import configured_public_url

    with _instance(args.ini) as (app, _settings):
        request = Request.blank("/", base_url=configured_public_url(app.registry) or None)
        request.registry = app.registry
        route = "backstage.entities" if args.json else "backstage.catalog_info"
        response = Request.blank(
            request.route_path(route), base_url=request.application_url
        ).get_response(app)
    if response.status_code != 200:
        detail = (
            response.json_body.get("detail", "")
            if response.content_type.endswith("json")
            else response.text
        )
        raise CommandError(f"the instance answered {response.status}: {detail}")
    text = json.dumps(response.json_body, indent=2) + "\n" if args.json else response.text
    sys.stdout.write(text)
    return 0


def _entity_refs(entities: Any) -> list[str]:
    refs = []
    for item in entities if isinstance(entities, list) else []:
        entity = item.get("entity", item) if isinstance(item, dict) else {}
        metadata = entity.get("metadata") or {} if isinstance(entity, dict) else {}
        if entity.get("kind") and metadata.get("name"):
            namespace = metadata.get("namespace", "default")
            refs.append(f"{entity['kind'].lower()}:{namespace}/{metadata['name']}")
    return refs
