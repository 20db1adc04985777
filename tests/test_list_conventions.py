"""Every list of the API follows one convention (docs/api-conventions.md): the envelope, paging,
sorting, counts and errors, checked alike on each, on both backends.

The lists are found in the served OpenAPI document (every GET whose 200 body is the envelope), so
a list added by a later change or a plugin fails here until it is in ``CASES``; a GET answering
another list shape fails too, unless ``NOT_LISTS`` says why it is not one.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import webtest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from benben.testing import BACKENDS, Backends
from benben.testing_auth import FAST_PASSWORD_HASHING, add_user, bearer, login

# GETs whose answer holds an array of objects without being a list of the API, and why.
NOT_LISTS = {
    "/api/v1/": "the API root: what this instance runs, one small document",
    "/api/v1/events": "the change feed: read forwards from a feed position, in feed order (no "
    "_sort, no _count); `next` is always where to poll (docs/events.md)",
    "/backstage/entities": "a fixed document (catalog-info.yaml as JSON), Backstage's format",
    "/api/v1/webhooks/{id}/deliveries/{delivery_id}": "one delivery with its latest attempts "
    "(at most 50, the count of all in `attempts`)",
    "/api/v1/plugins/{name}": "one plugin: its declared settings and commands, whole",
}


@dataclass(frozen=True)
class Case:
    url: str
    sortable: tuple[str, ...]
    # Records read every other parameter as a filter: only unknown "_" names are refused.
    unknown: tuple[str, ...] = ("nosuch", "_nosuch")


@dataclass
class World:
    app: webtest.TestApp
    headers: dict[str, str]
    cases: dict[str, Case]
    document: dict[str, Any]


def _build(backends: Backends) -> World:
    from benben.config import configure
    from benben.db import get_engine, migration_sources
    from benben.db.migrations import upgrade
    from benben.router import make_router

    settings = {
        **backends.settings(),
        **FAST_PASSWORD_HASHING,
        "benben.ratelimit.enabled": "false",
    }
    config = configure(settings, environ={})
    backends.track(config.registry)
    upgrade(get_engine(config.registry), migration_sources(config.registry))
    app = webtest.TestApp(make_router(config))
    registry = config.registry
    add_user(registry, "root", is_admin=True)
    members = [add_user(registry, name) for name in ("cyd", "ann", "bob")]
    headers = bearer(login(app, "root")["access_token"])
    group_ids = []
    for name in ("gb", "gc", "ga"):
        group = app.post_json("/api/v1/groups", {"name": name}, headers=headers).json
        group_ids.append(group["id"])
    for user_id in members:
        app.put(f"/api/v1/groups/{group_ids[0]}/members/{user_id}", headers=headers)
    for name in ("t2", "t3", "t1"):
        app.post_json("/api/v1/tokens", {"name": name, "scopes": ["read"]}, headers=headers)
    # Records sort by data fields too: those of c1's schema only, as it forbids others.
    schema = {"type": "object", "properties": {"price": {}}, "additionalProperties": False}
    for cid, title in (("c2", "beta"), ("c3", "alpha"), ("c1", "gamma")):
        body = {"id": cid, "title": title, "schema": schema}
        app.post_json("/api/v1/collections", body, headers=headers)
    for price in (3, 1, 2):
        app.post_json("/api/v1/collections/c1/records", {"data": {"price": price}}, headers=headers)
    hooks = [
        app.post_json("/api/v1/webhooks", {"url": f"https://hooks.example.org/{n}"},
                      headers=headers).json["id"]
        for n in (2, 3, 1)
    ]  # fmt: skip
    for _ in range(3):
        app.post(f"/api/v1/webhooks/{hooks[0]}/test", headers=headers)
    app.put_json("/api/v1/collections/c2/records/r1", {"data": {}}, headers=headers)
    for name in ("b.txt", "c.txt", "a.txt"):
        url = f"/api/v1/collections/c2/records/r1/attachments?name={name}"
        app.post(url, name.encode(), headers={**headers, "Content-Type": "text/plain"})
    cases = {
        "/api/v1/webhooks": Case("/api/v1/webhooks", ("created_at", "url")),
        "/api/v1/webhooks/{id}/deliveries": Case(
            f"/api/v1/webhooks/{hooks[0]}/deliveries", ("created_at",)
        ),
        "/api/v1/users": Case("/api/v1/users", ("username", "created_at", "updated_at")),
        "/api/v1/groups": Case("/api/v1/groups", ("name", "created_at", "updated_at")),
        "/api/v1/groups/{id}/members": Case(
            f"/api/v1/groups/{group_ids[0]}/members", ("username",)
        ),
        "/api/v1/tokens": Case("/api/v1/tokens", ("created_at", "name")),
        "/api/v1/collections": Case(
            "/api/v1/collections", ("id", "title", "created_at", "last_modified")
        ),
        "/api/v1/collections/{cid}/records": Case(
            "/api/v1/collections/c1/records", ("id", "last_modified"), ("_nosuch",)
        ),
        "/api/v1/collections/{cid}/records/{rid}/attachments": Case(
            "/api/v1/collections/c2/records/r1/attachments", ("name",)
        ),
        "/api/v1/collections/{cid}/history": Case(
            "/api/v1/collections/c1/history", ("id", "timestamp")
        ),
        "/api/v1/plugins": Case("/api/v1/plugins", ("name", "status")),
    }
    document = app.get("/api/v1/openapi.json", headers=headers).json
    return World(app, headers, cases, document)


@pytest.fixture(scope="module", params=BACKENDS, ids=["-".join(pair) for pair in BACKENDS])
def world(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[World]:
    """One app per backend for the whole module, its lists filled once (three items or more)."""
    database, cache = request.param
    backends = Backends(database, cache, tmp_path_factory.mktemp(f"lists-{database}"))
    try:
        yield _build(backends)
    finally:
        backends.close()


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _ok_schema(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    entry = operation.get("responses", {}).get("200", {})
    schema = entry.get("content", {}).get("application/json", {}).get("schema")
    return _resolve(document, schema) if schema is not None else None


def _is_envelope(document: dict[str, Any], schema: dict[str, Any]) -> bool:
    properties = schema.get("properties", {})
    return (
        schema.get("required") == ["data", "next"]
        and _resolve(document, properties.get("data", {})).get("type") == "array"
        and "next" in properties
    )


def _holds_a_list(document: dict[str, Any], schema: dict[str, Any]) -> bool:
    """An array of objects, or an object with one among its members: a list in all but name."""
    schema = _resolve(document, schema)
    if schema.get("type") == "array":
        return _resolve(document, schema.get("items", {})).get("type") == "object"
    return any(
        _resolve(document, member).get("type") == "array"
        and _resolve(document, _resolve(document, member).get("items", {})).get("type") == "object"
        for member in schema.get("properties", {}).values()
    )


def test_every_list_is_in_the_conformance_set(world: World) -> None:
    document = world.document
    lists, strays, exempt = set(), [], set()
    for path, operations in document["paths"].items():
        schema = _ok_schema(document, operations.get("get", {}))
        if schema is None:
            continue
        if _is_envelope(document, schema):
            lists.add(path)
        elif _holds_a_list(document, schema):
            (exempt.add if path in NOT_LISTS else strays.append)(path)
    assert strays == [], "lists that do not answer the envelope (docs/api-conventions.md)"
    assert lists == set(world.cases), "every list must be in this module's CASES"
    assert exempt == set(NOT_LISTS), "an exemption for what is no longer there"
    for path in lists:
        sort = next(
            p for p in document["paths"][path]["get"]["parameters"] if p.get("name") == "_sort"
        )
        # _rank sorts a search only (it needs _q): tests/data/test_data_search_api.py pages it.
        sortable = tuple(name for name in sort["schema"]["x-benben-sortable"] if name != "_rank")
        assert sortable == world.cases[path].sortable


CASE_NAMES = [
    "/api/v1/users",
    "/api/v1/groups",
    "/api/v1/groups/{id}/members",
    "/api/v1/tokens",
    "/api/v1/collections",
    "/api/v1/collections/{cid}/records",
    "/api/v1/collections/{cid}/history",
    "/api/v1/plugins",
]


def _get(world: World, url: str, params: Any = None, status: int = 200) -> webtest.TestResponse:
    return world.app.get(url, params, headers=world.headers, status=status)


def _walk(world: World, url: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """Every item, page after page of one item, following ``next``."""
    items: list[dict[str, Any]] = []
    response = _get(world, url, {**params, "_limit": "1"})
    while True:
        body = response.json
        assert len(body["data"]) <= 1
        items.extend(body["data"])
        if body["next"] is None:
            assert "Link" not in response.headers
            return items
        assert response.headers["Link"] == f'<{body["next"]}>; rel="next"'
        assert len(items) < 50, "paging does not end"
        response = _get(world, body["next"])


@pytest.mark.parametrize("path", CASE_NAMES)
def test_the_envelope_is_data_and_next(world: World, path: str) -> None:
    response = _get(world, world.cases[path].url)
    body = response.json
    assert set(body) == {"data", "next"}
    assert len(body["data"]) >= 3
    assert body["next"] is None
    assert "Total-Records" not in response.headers
    # Validated against what the document promises, where it is (a component or inline).
    schema = world.document["paths"][path]["get"]["responses"]["200"]["content"]
    resource = Resource.from_contents(world.document, default_specification=DRAFT202012)
    registry: Registry = Registry().with_resource("urn:doc", resource)
    escaped = path.replace("~", "~0").replace("/", "~1")
    inline = f"#/paths/{escaped}/get/responses/200/content/application~1json/schema"
    pointer = schema["application/json"]["schema"].get("$ref", inline)
    validator = Draft202012Validator({"$ref": "urn:doc" + pointer}, registry=registry)
    assert [error.message for error in validator.iter_errors(body)] == []


@pytest.mark.parametrize("path", CASE_NAMES)
def test_pages_of_one_list_every_item_once_in_order(world: World, path: str) -> None:
    url = world.cases[path].url
    whole = [item["id"] for item in _get(world, url).json["data"]]
    assert [item["id"] for item in _walk(world, url, {})] == whole
    assert len(set(whole)) == len(whole)


def _key(value: Any) -> Any:
    if isinstance(value, str) and value.endswith("Z") and "T" in value:
        return datetime.datetime.fromisoformat(value)
    return value


@pytest.mark.parametrize("path", CASE_NAMES)
def test_sorting_by_each_sortable_field_both_ways(world: World, path: str) -> None:
    case = world.cases[path]
    for field in case.sortable:
        for descending in (False, True):
            sort = f"-{field}" if descending else field
            whole = _get(world, case.url, {"_sort": sort}).json["data"]
            values = [_key(item[field]) for item in whole]
            assert values == sorted(values, reverse=descending), sort
            paged = _walk(world, case.url, {"_sort": sort})
            assert [i["id"] for i in paged] == [i["id"] for i in whole], sort


@pytest.mark.parametrize("path", CASE_NAMES)
def test_count_gives_total_and_the_header(world: World, path: str) -> None:
    url = world.cases[path].url
    everything = len(_get(world, url).json["data"])
    response = _get(world, url, {"_count": "true", "_limit": "1"})
    assert response.json["total"] == everything
    assert response.headers["Total-Records"] == str(everything)
    assert len(response.json["data"]) == 1
    following = _get(world, response.json["next"])  # _count carried along with the rest
    assert following.json["total"] == everything
    head = world.app.head(url, {"_count": "true"}, headers=world.headers)
    assert head.headers["Total-Records"] == str(everything)  # what a cheap client reads
    without = _get(world, url, {"_count": "false"})
    assert "total" not in without.json
    assert "Total-Records" not in without.headers


@pytest.mark.parametrize("path", CASE_NAMES)
def test_bad_parameters_are_400_problems_naming_them(world: World, path: str) -> None:
    case = world.cases[path]
    first = _get(world, case.url, {"_limit": "1"}).json["next"]
    forged = first.rsplit("_cursor=", 1)[1][:-3] + "AAA"
    refused = [
        ({"_limit": "0"}, "_limit"),
        ({"_limit": "abc"}, "_limit"),
        ({"_limit": "99999999999"}, "_limit"),
        ({"_cursor": "garbage"}, "_cursor"),
        ({"_cursor": forged}, "_cursor"),
        ({"_sort": "nosuchfield"}, "_sort"),
        ({"_sort": f"--{case.sortable[0]}"}, "_sort"),
        ({"_sort": f"{case.sortable[0]},{case.sortable[0]}"}, "_sort"),
        ({"_count": "yes"}, "_count"),
        *(({name: "1"}, name) for name in case.unknown),
    ]
    for params, name in refused:
        response = _get(world, case.url, params, status=400)
        assert response.content_type == "application/problem+json", params
        assert response.json["type"] == "urn:benben:problem:validation-error", params
        assert response.json["instance"], params
        names = [(e["location"], e.get("name")) for e in response.json["errors"]]
        assert names == [("querystring", name)], params
    # A cursor is bound to its query: replayed with another sort, it is refused.
    field = case.sortable[0]
    ascending = _get(world, case.url, {"_limit": "1", "_sort": field}).json["next"]
    cursor = ascending.rsplit("_cursor=", 1)[1]
    response = _get(world, case.url, {"_sort": f"-{field}", "_cursor": cursor}, status=400)
    assert [e["name"] for e in response.json["errors"]] == ["_cursor"]
