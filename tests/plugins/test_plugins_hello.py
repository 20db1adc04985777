"""A well-behaved third-party plugin, installed by pip, on SQLite and on PostgreSQL: discovered,
listed, routed under its prefix, migrated with its own version table, health-checked, subscribed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import webtest
from sqlalchemy import inspect, text

from benben.config import resolved_settings
from benben.db import get_engine, migration_sources

HELLO = "benben-test-hello"
EXTRA = "benben-test-greeter-extra"


@pytest.fixture
def hello_app(make_app: Callable[..., webtest.TestApp], installed: Any) -> webtest.TestApp:
    return make_app(entry_points=installed.entry_points(HELLO))


def test_api_root_lists_the_plugin_with_its_version_and_capability(
    hello_app: webtest.TestApp,
) -> None:
    body = hello_app.get("/api/v1/").json
    assert body["plugins"] == [
        {
            "name": "hello",
            "version": "1.2.0",
            "distribution": HELLO,
            "status": "enabled",
            "url": "/hello",
            "description": "Says hello and remembers whom it greeted.",
        }
    ]
    assert body["capabilities"]["greetings"] == {
        "description": "Greets people and remembers whom",
        "provided_by": "hello",
        "url": "/hello/greetings",
    }
    assert body["capabilities"]["health"]["provided_by"] == "core"
    assert hello_app.get("/version").json["plugins"] == {"hello": "1.2.0"}


def test_routes_live_under_the_plugin_prefix(hello_app: webtest.TestApp) -> None:
    assert hello_app.get("/hello/greet", {"name": "Ada"}).json == {"greeting": "Hello, Ada!"}
    assert hello_app.get("/hello/greet").json == {"greeting": "Hello, world!"}
    missing = hello_app.get("/greet", status=404)
    assert missing.content_type == "application/problem+json"


def test_invalid_querystring_is_a_problem_with_a_pointer(hello_app: webtest.TestApp) -> None:
    response = hello_app.get("/hello/greet", {"name": "R2-D2"}, status=400)
    assert response.content_type == "application/problem+json"
    assert response.json["errors"] == [
        {
            "location": "querystring",
            "pointer": "/name",
            "message": "must contain only letters and spaces",
        }
    ]
    too_long = hello_app.get("/hello/greet", {"name": "a" * 41}, status=400)
    assert too_long.json["errors"][0]["message"] == "must be at most 40 characters"


def test_own_migrations_create_the_table_and_record_the_head(hello_app: webtest.TestApp) -> None:
    registry = hello_app.app.registry
    sources = {source.name: source for source in migration_sources(registry)}
    assert sources["hello"].version_table == "benben_version_hello"
    engine = get_engine(registry)
    tables = set(inspect(engine).get_table_names())
    assert {"hello_greeting", "benben_version_hello"} <= tables
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM benben_version_hello"))
        assert [row.version_num for row in versions] == ["hello_0001"]


def test_the_plugin_model_stores_through_request_sessions(hello_app: webtest.TestApp) -> None:
    created = hello_app.post_json("/hello/greetings", {"name": "Grace Hopper"}, status=201).json
    assert created["name"] == "Grace Hopper"
    listed = hello_app.get("/hello/greetings").json["greetings"]
    assert listed == [{"id": created["id"], "name": "Grace Hopper"}]
    rejected = hello_app.post_json("/hello/greetings", {"name": ""}, status=400)
    assert rejected.json["errors"][0]["pointer"] == "/name"
    assert rejected.json["errors"][0]["location"] == "body"
    assert len(hello_app.get("/hello/greetings").json["greetings"]) == 1


def test_health_check_is_run_by_readiness(hello_app: webtest.TestApp) -> None:
    checks = hello_app.get("/health/ready").json["checks"]
    assert checks["hello"]["status"] == "up"
    assert checks["database"]["status"] == "up"


def test_health_check_reports_the_plugin_down_without_its_table(
    make_app: Callable[..., webtest.TestApp], installed: Any, caplog: pytest.LogCaptureFixture
) -> None:
    unmigrated = make_app(
        {"benben.database.auto_migrate": "false"}, entry_points=installed.entry_points(HELLO)
    )
    response = unmigrated.get("/health/ready", status=503)
    assert response.json["checks"]["hello"]["status"] == "down"
    assert response.json["checks"]["hello"]["reason"] == "error"  # the table is missing
    assert "hello_greeting" not in response.text  # said in the log only
    assert any("readiness check hello" in m and "hello_greeting" in m for m in caplog.messages)
    assert response.json["checks"]["database"]["status"] == "up"


def test_event_subscriber_sees_every_response(hello_app: webtest.TestApp) -> None:
    assert hello_app.get("/health/live").headers["X-Benben-Hello"] == "Hello"
    assert hello_app.get("/nowhere", status=404).headers["X-Benben-Hello"] == "Hello"


def test_settings_from_ini_and_environment_reach_the_plugin(
    make_app: Callable[..., webtest.TestApp], installed: Any
) -> None:
    from_ini = make_app({"benben.hello.greeting": "Hi"}, entry_points=installed.entry_points(HELLO))
    assert from_ini.get("/hello/greet", {"name": "Ada"}).json["greeting"] == "Hi, Ada!"
    from_env = make_app(
        {"benben.hello.greeting": "Hi", "benben.hello.max_name_length": "3"},
        environ={"BENBEN_HELLO_GREETING": "Ahoy"},
        entry_points=installed.entry_points(HELLO),
    )
    response = from_env.get("/hello/greet", {"name": "Ada"})
    assert response.json["greeting"] == "Ahoy, Ada!"
    assert response.headers["X-Benben-Hello"] == "Ahoy"
    assert from_env.get("/hello/greet", {"name": "Alan"}, status=400).json["errors"][0][
        "message"
    ] == ("must be at most 3 characters")
    resolved = resolved_settings(from_env.app.registry)
    assert resolved.sources["benben.hello.greeting"] == "env"
    assert resolved.sources["benben.hello.max_name_length"] == "ini"


def test_dependent_plugin_is_included_and_migrated_after_its_requirement(
    make_app: Callable[..., webtest.TestApp], installed: Any
) -> None:
    # Given in the "wrong" order, and "greeter_extra" sorts before "hello": only the requirement
    # can put hello first.
    app = make_app(entry_points=installed.entry_points(EXTRA, HELLO))
    registry = app.app.registry
    assert registry["benben_test.included"] == ["hello", "greeter_extra"]
    assert [source.name for source in migration_sources(registry)] == [
        "core",
        "hello",
        "greeter_extra",
    ]
    greeting = app.post_json("/hello/greetings", {"name": "Ada"}, status=201).json
    with get_engine(registry).begin() as connection:
        connection.execute(
            text("INSERT INTO greeter_extra_favourite (greeting_id) VALUES (:id)"),
            {"id": greeting["id"]},
        )
    assert app.get("/extra/favourites").json == {"favourites": ["Ada"]}
    with get_engine(registry).connect() as connection:
        head = connection.execute(text("SELECT version_num FROM benben_version_greeter_extra"))
        assert [row.version_num for row in head] == ["greeter_extra_0001"]
    listed = {p["name"]: p for p in app.get("/api/v1/").json["plugins"]}
    assert listed["greeter_extra"]["url"] == "/extra"
    assert listed["greeter_extra"]["version"] == "0.3.1"
