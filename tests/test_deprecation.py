"""benben.deprecation: a deprecated operation says so on its responses and in the document.

No database or cache is involved (a view option and a response callback), so one app on the
embedded defaults serves the whole module.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import webtest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from benben.config import configure
from benben.db import get_engine, migration_sources
from benben.db.migrations import upgrade
from benben.openapi.generator import build_document
from benben.plugin import Deprecation, Service
from benben.router import make_router
from benben.security.permissions import ADMIN

# RFC 9745's own example: deprecated Friday, June 30, 2023 at 23:59:59 UTC, sunset a year on.
SINCE = datetime(2023, 6, 30, 23, 59, 59, tzinfo=UTC)
SUNSET = datetime(2024, 6, 30, 23, 59, 59, tzinfo=UTC)
LINK = "https://example.org/changes#things"
ORIGIN = "https://app.example.org"

things = Service(name="test.things", path="/test/things")
admin_only = Service(
    name="test.admin_only",
    path="/test/admin-only",
    permission=ADMIN,
    deprecated=Deprecation(since=date(2027, 1, 1)),
)


@things.get(deprecated=Deprecation(since=SINCE, sunset=SUNSET, link=LINK), summary="Old list")
def old_list(request: Any) -> dict[str, Any]:
    request.response.headers["Link"] = '</test/things?page=2>; rel="next"'
    return {"data": []}


@things.post()
def new_thing(request: Any) -> dict[str, Any]:
    return {"created": True}


@admin_only.get()
def admin_view(request: Any) -> dict[str, Any]:
    return {}


def plain_view(request: Any) -> dict[str, Any]:
    return {"plain": True}


def include(config: Configurator) -> None:
    config.add_cornice_service(things)
    config.add_cornice_service(admin_only)
    config.add_route("test.plain", "/test/plain")
    config.add_view(
        plain_view,
        route_name="test.plain",
        request_method="GET",
        renderer="json",
        deprecated=Deprecation(since=date(2027, 1, 1), sunset=date(2027, 7, 1)),
    )


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Configurator]:
    data_dir = tmp_path_factory.mktemp("deprecation")
    config = configure(
        {"benben.data_dir": str(data_dir), "benben.cors.origins": ORIGIN},
        environ={},
        entry_points=[],
    )
    include(config)
    config.commit()
    engine = get_engine(config.registry)
    upgrade(engine, migration_sources(config.registry))
    try:
        yield config
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def app(configured: Configurator) -> webtest.TestApp:
    return webtest.TestApp(make_router(configured))


@pytest.fixture(scope="module")
def document(configured: Configurator) -> dict[str, Any]:
    return build_document(configured.registry)


def test_headers_in_the_rfc_formats(app: webtest.TestApp) -> None:
    response = app.get("/test/things", headers={"Origin": ORIGIN})
    assert response.headers["Deprecation"] == "@1688169599"
    assert response.headers["Sunset"] == "Sun, 30 Jun 2024 23:59:59 GMT"
    # The view's own rel="next" stays; the deprecation link is added beside it.
    assert response.headers.getall("Link") == [
        '</test/things?page=2>; rel="next"',
        f'<{LINK}>; rel="deprecation"',
    ]
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"Deprecation", "Sunset", "Link"} <= exposed


def test_only_the_deprecated_operation_says_so(app: webtest.TestApp) -> None:
    response = app.post_json("/test/things", {})
    assert response.json == {"created": True}
    assert "Deprecation" not in response.headers
    assert "Sunset" not in response.headers
    assert "Link" not in response.headers


def test_head_of_a_deprecated_get_says_so(app: webtest.TestApp) -> None:
    assert app.head("/test/things").headers["Deprecation"] == "@1688169599"


def test_plain_view_with_a_date_means_midnight_utc(app: webtest.TestApp) -> None:
    response = app.get("/test/plain")
    assert response.json == {"plain": True}
    assert response.headers["Deprecation"] == "@1798761600"  # 2027-01-01T00:00:00Z
    assert response.headers["Sunset"] == "Thu, 01 Jul 2027 00:00:00 GMT"
    assert "Link" not in response.headers


def test_refusals_of_a_deprecated_operation_say_so_too(app: webtest.TestApp) -> None:
    # A service-wide deprecation; the permission check (401 here) answers with it already.
    refused = app.get("/test/admin-only", status=401)
    assert refused.content_type == "application/problem+json"
    assert refused.headers["Deprecation"] == "@1798761600"
    assert "Sunset" not in refused.headers


def test_document_marks_the_operation_and_its_headers(document: dict[str, Any]) -> None:
    item = document["paths"]["/test/things"]
    get, head, post = item["get"], item["head"], item["post"]
    assert get["deprecated"] is True
    assert head["deprecated"] is True
    assert "deprecated" not in post
    assert get["description"].startswith(
        "**Deprecated** since 2023-06-30T23:59:59+00:00; may stop answering from "
        "2024-06-30T23:59:59+00:00 on (`Sunset`); see <https://example.org/changes#things>."
    )
    headers = get["responses"]["200"]["headers"]
    assert {"Deprecation", "Sunset", "Link"} <= set(headers)
    assert "RFC 9745" in headers["Deprecation"]["description"]
    plain = document["paths"]["/test/plain"]["get"]
    assert plain["deprecated"] is True
    assert plain["description"].startswith("**Deprecated** since 2027-01-01; may stop answering")
    assert "Link" not in plain["responses"]["200"].get("headers", {})
    assert document["paths"]["/test/admin-only"]["get"]["deprecated"] is True
    assert "deprecated" not in document["paths"]["/api/v1/"]["get"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"since": datetime(2027, 1, 1)}, "needs a time zone"),
        ({"since": date(2027, 1, 2), "sunset": date(2027, 1, 1)}, "sunset is earlier"),
        ({"since": date(2027, 1, 1), "link": "https://x.org/a b"}, "not a URI reference"),
        ({"since": date(2027, 1, 1), "link": 'https://x.org/>; rel="x'}, "not a URI reference"),
        ({"since": date(2027, 1, 1), "link": ""}, "not a URI reference"),
    ],
)
def test_refused_deprecations(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Deprecation(**arguments)


def test_a_datetime_in_another_zone_is_converted() -> None:
    paris = timezone(timedelta(hours=2))
    deprecation = Deprecation(since=datetime(2023, 7, 1, 1, 59, 59, tzinfo=paris))
    assert deprecation.headers() == [("Deprecation", "@1688169599")]


def test_a_deprecated_option_that_is_not_a_deprecation_stops_the_start(tmp_path: Path) -> None:
    config = configure({"benben.data_dir": str(tmp_path)}, environ={}, entry_points=[])
    try:
        config.add_route("test.bad", "/test/bad")
        config.add_view(plain_view, route_name="test.bad", renderer="json", deprecated="2027")
        with pytest.raises(ConfigurationError, match=r"expected benben\.plugin\.Deprecation"):
            config.commit()
    finally:
        get_engine(config.registry).dispose()
