"""`benben plugins`: every installed plugin with its status, even when some are broken."""

from __future__ import annotations

import importlib.metadata
import json

import pytest
from cli_support import clean_environ, run_benben, unique_name, with_pythonpath, write_plugin


def listed(result):
    return {plugin["name"]: plugin for plugin in json.loads(result.out)["plugins"]}


def installed_plugin_names() -> set[str]:
    return {ep.name for ep in importlib.metadata.entry_points(group="benben.plugins")}


def test_no_plugins_lists_none_and_exits_0(cli):
    result = cli("plugins", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    # This environment installs no plugin; whatever is installed must be exactly what is listed.
    assert {p["name"] for p in report["plugins"]} == installed_plugin_names()
    assert report["problems"] == []
    if not installed_plugin_names():
        assert report["plugins"] == []
        table = cli("plugins")
        assert table.code == 0
        assert table.out == "no plugins installed (none in the entry point group benben.plugins)\n"


def test_enabled_plugin_with_what_it_registered(cli, plugin_site):
    name = unique_name()
    revision = write_plugin(plugin_site, name, migration=True)

    result = cli("plugins", "--json")

    assert result.code == 0, result.err
    plugin = listed(result)[name]
    assert plugin == {
        **plugin,
        "version": "1.2.0",
        "distribution": name,
        "status": "enabled",
        "reason": "",
        "entry_point": name,
        "route_prefix": f"/{name}",
        "settings_namespace": f"benben.{name}.*",
        "settings": [f"benben.{name}.greeting"],
        "description": f"CLI test plugin {name}",
    }
    registered = plugin["registered"]
    assert {k: v for k, v in registered.items() if k != "registrations"} == {
        "name": name,
        "version": "1.2.0",
        "distribution": name,
        "api": 1,
        "requires": [],
        "route_prefix": f"/{name}",
        "settings": [
            {
                "name": f"benben.{name}.greeting",
                "env": f"BENBEN_{name.upper()}_GREETING",
                "default": "hello",
                "secret": False,
                "help": "",
            }
        ],
        "commands": [],
    }
    found = {group: items for group, items in registered["registrations"].items() if items}
    source = (plugin_site / name / "__init__.py").read_text().splitlines()

    def line_of(call: str) -> str:
        return f"{name}/__init__.py:{next(i for i, t in enumerate(source, 1) if call in t)}"

    # Sources are relative to the directory holding the plugin's package; lines are the calls'.
    assert found == {
        "routes": [
            {
                "kind": "route",
                "name": f"{name}_hello",
                "details": {"pattern": f"/{name}/hello", "methods": ["*"], "factory": None},
                "source": line_of("config.add_route("),
            }
        ],
        "views": [
            {
                "kind": "view",
                "name": f"{name}.hello",
                "details": {
                    "route": f"{name}_hello",
                    "methods": None,
                    "permission": None,
                    "callable": f"{name}.hello",
                },
                "source": line_of("config.add_view("),
            }
        ],
        "migrations": [
            {
                "kind": "migrations",
                "name": name,
                "details": {
                    "location": f"{name}/versions",
                    "version_table": f"benben_version_{name}",
                    "heads": [revision],
                },
                "source": line_of("config.add_migrations("),
            }
        ],
    }
    table = cli("plugins")
    row = next(line for line in table.out.splitlines() if line.startswith(name))
    assert row.split()[1:4] == ["1.2.0", name, "enabled"]
    expected = f"routes under /{name}; settings benben.{name}.*; registered 1 routes, 1 views"
    assert f"{expected}, 1 migrations" in row


def test_broken_plugin_is_reported_and_the_others_still_listed(cli, plugin_site):
    good, broken = unique_name("good"), unique_name("broken")
    write_plugin(plugin_site, good)
    write_plugin(plugin_site, broken, entry_point=f"{broken}_missing_module")

    result = cli("plugins", "--json")

    assert result.code == 1
    plugins = listed(result)
    assert plugins[good]["status"] == "enabled"
    assert plugins[broken]["status"] == "error"
    assert plugins[broken]["reason"] == (
        f"cannot import {broken}_missing_module: ModuleNotFoundError: "
        f"No module named '{broken}_missing_module'"
    )
    table = cli("plugins")
    assert table.code == 1
    row = next(line for line in table.out.splitlines() if line.startswith(broken))
    assert " error " in row
    assert "cannot import" in row


def test_plugin_failing_while_included_is_reported(cli, plugin_site):
    name = unique_name("failing")
    write_plugin(plugin_site, name, fail_include=True)

    result = cli("plugins", "--json")

    assert result.code == 1
    plugin = listed(result)[name]
    assert plugin["status"] == "error"
    assert plugin["reason"] == (f"plugin '{name}' failed while being included: RuntimeError: boom")


def test_two_plugins_with_one_name_are_both_errors(cli, plugin_site):
    name = unique_name("twin")
    write_plugin(plugin_site, name)
    other = plugin_site / f"{name}_again-2.0.dist-info"
    other.mkdir()
    (other / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}-again\nVersion: 2.0\n")
    (other / "entry_points.txt").write_text(f"[benben.plugins]\n{name} = {name}\n")

    result = cli("plugins", "--json")

    assert result.code == 1
    twins = [p for p in json.loads(result.out)["plugins"] if p["name"] == name]
    assert [p["status"] for p in twins] == ["error", "error"]
    assert {p["distribution"] for p in twins} == {name, f"{name}-again"}


def test_disabled_broken_plugin_does_not_fail(cli, plugin_site, monkeypatch):
    broken = unique_name("broken")
    write_plugin(plugin_site, broken, entry_point=f"{broken}_missing_module")
    monkeypatch.setenv("BENBEN_PLUGINS_DISABLED", broken)

    result = cli("plugins", "--json")

    assert result.code == 0, result.out
    plugin = listed(result)[broken]
    assert plugin["status"] == "disabled"
    assert plugin["reason"].startswith("listed in benben.plugins.disabled (and broken: cannot")


def test_plugins_not_listed_are_disabled_with_the_reason(cli, plugin_site, workdir):
    wanted, other = unique_name("wanted"), unique_name("other")
    write_plugin(plugin_site, wanted)
    write_plugin(plugin_site, other)
    (workdir / "app.ini").write_text(f"[app:main]\nbenben.plugins = {wanted}\n")

    plugins = listed(cli("plugins", "--ini", "app.ini", "--json"))

    assert plugins[wanted]["status"] == "enabled"
    assert plugins[other]["status"] == "disabled"
    assert plugins[other]["reason"] == "not listed in benben.plugins"


def test_unmet_requirement_marks_the_plugin_not_the_listing(cli, plugin_site):
    needy, fine = unique_name("needy"), unique_name("fine")
    write_plugin(plugin_site, needy, requires=("absent_plugin>=1",))
    write_plugin(plugin_site, fine)

    result = cli("plugins", "--json")

    assert result.code == 1
    plugins = listed(result)
    assert plugins[needy]["status"] == "error"
    assert plugins[needy]["reason"] == (
        f"plugin '{needy}' requires 'absent_plugin', which is not installed"
    )
    assert plugins[fine]["status"] == "enabled"


def test_plugin_named_in_settings_but_not_installed_is_a_problem(cli, plugin_site, monkeypatch):
    present = unique_name()
    write_plugin(plugin_site, present)
    monkeypatch.setenv("BENBEN_PLUGINS", f"{present} ghost")

    result = cli("plugins", "--json")

    assert result.code == 1
    report = json.loads(result.out)
    [problem] = report["problems"]
    assert problem.startswith(
        "plugin 'ghost' named in benben.plugins is not installed (installed: "
    )
    assert present in problem
    assert listed(result)[present]["status"] == "enabled"
    assert "problem: plugin 'ghost'" in cli("plugins").out


def test_bad_core_setting_does_not_hide_the_listing(cli, plugin_site, monkeypatch):
    name = unique_name()
    write_plugin(plugin_site, name)
    monkeypatch.setenv("BENBEN_CACHE_BACKEND", "nonsense")

    result = cli("plugins", "--json")

    assert result.code == 0
    assert listed(result)[name]["status"] == "enabled"
    [note] = json.loads(result.out)["notes"]
    assert note.startswith("plugins not included: invalid value 'nonsense' for setting ")
    assert note.endswith("(see benben config)")


@pytest.mark.slow
def test_plugins_in_a_real_process_with_a_broken_plugin(tmp_path):
    site = tmp_path / "site"
    broken = unique_name("broken")
    write_plugin(site, broken, entry_point=f"{broken}_missing_module")

    result = run_benben(
        "plugins", "--json", cwd=tmp_path, env=with_pythonpath(clean_environ(), site)
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert listed_from(result.stdout)[broken]["status"] == "error"


def listed_from(out):
    return {plugin["name"]: plugin for plugin in json.loads(out)["plugins"]}
