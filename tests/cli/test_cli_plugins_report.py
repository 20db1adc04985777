"""`benben plugins` for the installed (first-party) plugins: the JSON report is the registry's
(benben.plugins.introspection), the table counts it, and no secret value shows."""

from __future__ import annotations

import json

from benben.config import configure
from benben.db import get_engine
from benben.plugins.introspection import plugin_registrations


def test_json_report_is_what_the_app_registered(cli, workdir):
    result = cli("plugins", "--json")
    assert result.code == 0, result.err
    listed = {p["name"]: p for p in json.loads(result.out)["plugins"]}

    registry = configure({}, environ={}).registry
    try:
        for name, plugin in listed.items():
            assert plugin["status"] == "enabled"
            expected = json.loads(json.dumps(plugin_registrations(registry, name)))
            assert plugin["registered"] == expected
    finally:
        get_engine(registry).dispose()
    files = listed["files"]["registered"]
    assert [c["name"] for c in files["commands"]] == ["files"]
    assert files["registrations"]["periodic_tasks"][0]["name"] == "files.sweep"


def test_table_counts_each_kind(cli, workdir):
    report = json.loads(cli("plugins", "--json").out)
    table = cli("plugins").out.splitlines()
    for plugin in report["plugins"]:
        groups = plugin["registered"]["registrations"]
        counts = ", ".join(f"{len(v)} {k}" for k, v in groups.items() if v)
        row = next(line for line in table if line.startswith(plugin["name"] + " "))
        assert row.endswith(f"registered {counts}"), row


def test_no_secret_value_is_shown(cli, workdir, monkeypatch):
    monkeypatch.setenv("BENBEN_FILES_S3_SECRET_ACCESS_KEY", "very-secret-value")
    result = cli("plugins", "--json")
    assert result.code == 0, result.err
    assert "very-secret-value" not in result.out
    files = next(p for p in json.loads(result.out)["plugins"] if p["name"] == "files")
    secret = next(
        s for s in files["registered"]["settings"] if s["name"].endswith("secret_access_key")
    )
    assert secret == {**secret, "secret": True, "default": None}


def test_trace_variable_logs_registrations(cli, workdir, monkeypatch, caplog):
    monkeypatch.setenv("BENBEN_TRACE_PLUGINS", "1")
    with caplog.at_level("INFO", logger="benben.plugins"):
        assert cli("plugins").code == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "benben.plugins"]
    assert any(line.startswith("plugin files: task files.sweep ") for line in lines), lines
