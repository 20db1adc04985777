"""`benben plugins --json` for the first-party plugins is correct and complete: what it reports
each plugin registered is compared with what the plugins' code calls, measured apart (a spying
Configurator, registration_spy.py), call by call and line by line."""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from pyramid.exceptions import ConfigurationError
from registration_spy import FIRST_PARTY, Call, Spy, expected, recording_configurator

from benben.cli import main
from benben.plugins import enabled_plugins
from benben.plugins.introspection import plugin_registrations

# What one call registers besides what `expected` names: its details, shown as their own entries.
ALSO = {
    "add_view": {"permissions"},
    "add_cornice_service": {"views"},  # HEAD twins of GETs (benben.rest)
    "add_static_assets": {"routes", "views", "static_views"},
}


@dataclass(frozen=True)
class Measured:
    spy: Spy
    reports: dict[str, dict[str, Any]]  # `benben plugins --json`, by plugin name


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Measured:
    """`benben plugins --json` run once, in process, with every Configurator spied on."""
    spy = Spy()
    workdir = tmp_path_factory.mktemp("introspection")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("BENBEN_") and not name.startswith("BENBEN_TEST_"):
                patch.delenv(name)
        patch.setenv("XDG_STATE_HOME", str(workdir / "state"))
        patch.chdir(workdir)
        patch.setattr("benben.config.Configurator", recording_configurator(spy))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["plugins", "--json"])
    assert code == 0, out.getvalue()
    plugins = json.loads(out.getvalue())["plugins"]
    return Measured(spy, {p["name"]: p for p in plugins})


def _entries(report: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for group, items in report["registered"]["registrations"].items():
        for item in items:
            yield group, item


def _matches(item: dict[str, Any], name: str, details: dict[str, Any], source: str | None) -> bool:
    return (
        item["name"] == name
        and source in (None, item["source"])
        and all(item["details"].get(key) == value for key, value in details.items())
    )


@pytest.mark.parametrize("name", FIRST_PARTY)
def test_every_registration_call_is_reported_with_its_source(measured: Measured, name: str):
    report = measured.reports[name]
    calls = measured.spy.of(name)
    assert calls, f"the spy saw no call of {name}"
    groups = report["registered"]["registrations"]
    for call in calls:
        for group, entry_name, details in expected(call, report["route_prefix"]):
            # A permission is listed once, at the first call using it.
            source = None if group == "permissions" else call.source
            found = [i for i in groups[group] if _matches(i, entry_name, details, source)]
            assert found, f"{call.method} at {call.source}: no {group} {entry_name} {details}"


@pytest.mark.parametrize("name", FIRST_PARTY)
def test_nothing_is_reported_that_the_code_does_not_register(measured: Measured, name: str):
    calls = measured.spy.of(name)
    by_source: dict[str, list[Call]] = {}
    for call in calls:
        by_source.setdefault(call.source, []).append(call)
    for group, item in _entries(measured.reports[name]):
        made = by_source.get(item["source"])
        assert made, f"{group} {item['name']} from {item['source']}, where {name} calls nothing"
        allowed = set()
        for call in made:
            allowed |= {g for g, _, _ in expected(call, "/")} | ALSO.get(call.method, set())
        assert group in allowed, f"{group} {item['name']} from {[c.method for c in made]}"


@pytest.mark.parametrize("name", FIRST_PARTY)
def test_named_registrations_are_exactly_those_of_the_code(measured: Measured, name: str):
    report = measured.reports[name]
    wanted: dict[str, set[str]] = {}
    for call in measured.spy.of(name):
        for group, entry_name, _ in expected(call, report["route_prefix"]):
            wanted.setdefault(group, set()).add(entry_name)
    for group, items in report["registered"]["registrations"].items():
        names = {item["name"] for item in items}
        if group == "routes":  # a static view's own route, named by Pyramid
            names = {n for n in names if not n.startswith("__")}
        if group in ("views", "static_views"):
            continue  # views: checked call by call (their names are callables, HEAD twins)
        assert names == wanted.get(group, set()), group


@pytest.mark.parametrize("name", FIRST_PARTY)
def test_each_source_line_holds_the_call(measured: Measured, name: str):
    root = Path(measured.spy.roots[f"benben_{name}"])
    methods = {call.source: call.method for call in measured.spy.of(name)}
    for _, item in _entries(measured.reports[name]):
        path, line = item["source"].rsplit(":", 1)
        assert not os.path.isabs(path), item["source"]
        text = (root / path).read_text().splitlines()[int(line) - 1]
        assert f".{methods[item['source']]}(" in text, (item["source"], text)


@pytest.mark.parametrize("name", FIRST_PARTY)
def test_what_the_plugin_declares(measured: Measured, name: str):
    from benben.plugins import discover_plugins

    plugin = next(p for p in discover_plugins() if p.name == name)
    registered = measured.reports[name]["registered"]
    assert registered["version"] == plugin.version
    assert registered["distribution"] == plugin.distribution
    assert registered["api"] == plugin.metadata.api
    assert registered["requires"] == list(plugin.metadata.requires)
    assert registered["route_prefix"] == (plugin.route_prefix or "/")
    declared = {s.name: s for s in plugin.metadata.settings}
    assert [s["name"] for s in registered["settings"]] == list(declared)
    for setting in registered["settings"]:
        definition = declared[setting["name"]]
        assert setting["help"] == definition.help
        assert setting["secret"] == definition.secret
        if definition.secret:
            assert setting["default"] is None  # never a secret's value
    commands = importlib.metadata.entry_points(group="benben.commands")
    own = sorted(ep.name for ep in commands if ep.value.startswith(f"benben_{name}."))
    assert [c["name"] for c in registered["commands"]] == own


def test_the_files_plugin_in_detail(measured: Measured):
    """A few entries spelt out, as a reader of the report sees them."""
    groups = measured.reports["files"]["registered"]["registrations"]
    (migrations,) = groups["migrations"]
    assert migrations["details"]["location"] == "benben_files/migrations"
    assert migrations["details"]["version_table"] == "benben_version_files"
    location = Path(measured.spy.roots["benben_files"], "benben_files/migrations")
    script = ScriptDirectory(str(location), version_locations=[str(location)])
    assert migrations["details"]["heads"] == sorted(script.get_heads())
    (listener,) = groups["event_listeners"]
    assert listener["details"] == {"event_types": ["record.deleted", "collection.deleted"]}
    route = next(r for r in groups["routes"] if r["name"] == "files.attachment")
    assert route["details"]["methods"] == ["DELETE", "GET", "HEAD", "PUT"]
    assert {p["name"] for p in groups["permissions"]} == {"read", "write", "change_permissions"}


def test_trace_logs_each_registration_at_start_up(make_app, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.INFO, logger="benben.plugins"):
        app = make_app(environ={"BENBEN_TRACE_PLUGINS": "1"})
    lines = [r.getMessage() for r in caplog.records if r.name == "benben.plugins"]
    report = plugin_registrations(app.app.registry, "backstage")
    (route,) = [r for r in report["registrations"]["routes"] if r["name"] == "backstage.entities"]
    source = route["source"]
    assert f"plugin backstage: route backstage.entities /backstage/entities GET ({source})" in lines
    count = sum(
        len(items)
        for plugin in enabled_plugins(app.app.registry)
        for items in plugin_registrations(app.app.registry, plugin.name)["registrations"].values()
    )
    assert len(lines) == count
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="benben.plugins"):
        make_app(environ={})
    assert [r for r in caplog.records if r.name == "benben.plugins"] == []


def test_a_trace_value_that_is_no_boolean_stops_start_up_saying_so(make_app):
    with pytest.raises(ConfigurationError, match=r"BENBEN_TRACE_PLUGINS='loud': expected a bool"):
        make_app(environ={"BENBEN_TRACE_PLUGINS": "loud"})


def test_registration_made_during_the_commit_is_attributed_by_file(make_app):
    entry = importlib.metadata.EntryPoint("lateplugin", "late_plugin", "benben.plugins")
    registry = make_app(entry_points=[entry]).app.registry

    routes = plugin_registrations(registry, "lateplugin")["registrations"]["routes"]

    source = Path(__file__).with_name("late_plugin.py").read_text().splitlines()
    lines = {name: i for i, text in enumerate(source, 1) for name in ("early", "late")
             if f'"lateplugin.{name}"' in text}  # fmt: skip
    assert [(r["name"], r["details"]["pattern"], r["source"]) for r in routes] == [
        ("lateplugin.early", "/lateplugin/early", f"late_plugin.py:{lines['early']}"),
        ("lateplugin.late", "/lateplugin/late", f"late_plugin.py:{lines['late']}"),
    ]


def test_services_are_reported_with_interface_factory_and_source(make_app):
    entry = importlib.metadata.EntryPoint("serviceplugin", "service_plugin", "benben.plugins")
    registry = make_app(entry_points=[entry]).app.registry

    services = plugin_registrations(registry, "serviceplugin")["registrations"]["services"]

    source = Path(__file__).with_name("service_plugin.py").read_text().splitlines()
    line = {n: i for i, text in enumerate(source, 1) for n in ("shared", "per-request")
            if f'name="{n}"' in text}  # fmt: skip
    assert [(s["name"], s["details"], s["source"]) for s in services] == [
        (
            "shared",
            {"interface": "service_plugin.IGreeter", "context": None, "name": "shared",
             "factory": "Greeter"},
            f"service_plugin.py:{line['shared']}",
        ),
        (
            "per-request",
            {"interface": "service_plugin.IGreeter", "context": None, "name": "per-request",
             "factory": "greeter_factory"},
            f"service_plugin.py:{line['per-request']}",
        ),
    ]  # fmt: skip
