"""benben.listing as a plugin uses it, through benben.plugin only: a list under a route prefix
with a filter of its own, and a list built without SQL (``cursor_for``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import webtest
from sqlalchemy import select

from benben.plugin import (
    Configurator,
    Listing,
    Parameter,
    Request,
    Service,
    fetch_page,
    invalid_parameter,
    list_response,
)
from benben.testing_auth import add_user

PEOPLE = Listing(
    sortable=("username", "created_at"),
    default_sort="username",
    default_limit=2,
    max_limit=10,
    filters=(Parameter("active", schema={"type": "string", "enum": ["true", "false"]}),),
)
LETTERS = Listing(sortable=("letter",), default_sort="letter", unique="letter", max_limit=5)


def _plugin(config: Configurator) -> None:
    from benben.accounts.models import User  # a plugin would have a model of its own

    def include(config: Configurator) -> None:
        people = Service(name="people", path="/people", tags=["people"])
        letters = Service(name="letters", path="/letters", tags=["people"])

        @people.get(parameters=PEOPLE.parameters(), responses={200: PEOPLE.response(
            "People", {"type": "object"}, "PersonList")})  # fmt: skip
        def list_people(request: Request) -> dict[str, Any]:
            params = PEOPLE.parse(request)
            query = select(User)
            if "active" in params.filters:
                if params.filters["active"] not in ("true", "false"):
                    raise invalid_parameter("active", "must be true or false")
                query = query.where(User.is_active == (params.filters["active"] == "true"))
            columns = {"username": User.username, "created_at": User.created_at, "id": User.id}
            page = fetch_page(request.dbsession, query, params, columns)
            data = [{"id": user.id, "username": user.username} for user in page.items]
            return list_response(request, data, page.next_cursor, page.total)

        @letters.get(parameters=LETTERS.parameters(), responses={200: LETTERS.response(
            "Letters", {"type": "object"}, "LetterList")})  # fmt: skip
        def list_letters(request: Request) -> dict[str, Any]:
            params = LETTERS.parse(request)
            (_, descending), *_ = params.sort
            items = sorted("abcde", reverse=descending)
            if params.after is not None:
                items = [
                    x for x in items if (x < params.after[0] if descending else x > params.after[0])
                ]
            page, more = items[: params.limit], len(items) > params.limit
            cursor = params.cursor_for([page[-1]]) if more else None
            total = len("abcde") if params.count else None
            return list_response(request, [{"letter": x} for x in page], cursor, total)

        config.add_cornice_service(people)
        config.add_cornice_service(letters)

    config.include(include, route_prefix="/myplugin")


@pytest.fixture
def plugin_app(make_app: Callable[..., webtest.TestApp]) -> webtest.TestApp:
    app = make_app(include=_plugin)
    for name in ("dan", "ann", "cyd"):
        add_user(app.app.registry, name)
    add_user(app.app.registry, "bob", is_active=False)
    return app


def test_a_plugins_list_pages_under_its_prefix_keeping_its_filter(plugin_app) -> None:
    first = plugin_app.get("/myplugin/people", {"active": "true", "_count": "true"})
    assert [p["username"] for p in first.json["data"]] == ["ann", "cyd"]
    assert first.json["total"] == 3
    assert first.headers["Total-Records"] == "3"
    assert first.json["next"].startswith("http://localhost/myplugin/people?active=true&")
    rest = plugin_app.get(first.json["next"])
    assert [p["username"] for p in rest.json["data"]] == ["dan"]
    assert rest.json["next"] is None
    # The cursor is bound to the filter: the same cursor without it is refused.
    cursor = first.json["next"].rsplit("_cursor=", 1)[1]
    refused = plugin_app.get("/myplugin/people", {"_cursor": cursor}, status=400)
    assert [e["name"] for e in refused.json["errors"]] == ["_cursor"]
    bad = plugin_app.get("/myplugin/people", {"active": "yes", "_limit": "11"}, status=400)
    assert [e["name"] for e in bad.json["errors"]] == ["_limit"]  # the list's own checks first
    bad = plugin_app.get("/myplugin/people", {"active": "yes"}, status=400)
    assert [e["name"] for e in bad.json["errors"]] == ["active"]
    document = plugin_app.get("/api/v1/openapi.json").json
    names = [p.get("name") for p in document["paths"]["/myplugin/people"]["get"]["parameters"]]
    assert names[:5] == ["active", "_limit", "_cursor", "_sort", "_count"]


def test_a_list_without_sql_pages_with_cursor_for(plugin_app) -> None:
    seen, url = [], "/myplugin/letters?_sort=-letter&_limit=2"
    while url:
        body = plugin_app.get(url).json
        seen.extend(item["letter"] for item in body["data"])
        url = body["next"]
    assert seen == ["e", "d", "c", "b", "a"]
