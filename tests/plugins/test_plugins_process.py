"""End to end, in a fresh process, as an operator meets them: plugins installed on PYTHONPATH and
found by their entry points alone (no entry_points= handed in), a broken one stopping start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# A server that wrongly started would never exit: fail instead of hanging the suite.
NEVER_SERVE_SECONDS = 120


def run(
    installed: Any, tmp_path: Path, *args: str, **environ: str
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BENBEN_")}
    env.update(
        PYTHONPATH=str(installed.target),
        BENBEN_DATA_DIR=str(tmp_path / "var"),
        **environ,
    )
    return subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=NEVER_SERVE_SECONDS,
        check=False,
    )


def test_app_factory_starts_with_good_plugins(installed: Any, tmp_path: Path) -> None:
    script = (
        "import webtest\n"
        "from benben.config import make_wsgi_app\n"
        "app = webtest.TestApp(make_wsgi_app())\n"
        "print(app.get('/hello/greet', {'name': 'Ada'}).json['greeting'])\n"
        "print(' '.join(p['name'] for p in app.get('/api/v1/').json['plugins']))\n"
    )
    result = run(installed, tmp_path, "-c", script, BENBEN_PLUGINS="greeter_extra hello")
    assert result.returncode == 0, result.stderr
    # Auto-migrated on the embedded default: hello's table exists, or greet would still work
    # but readiness would not; the order shows requirement-first inclusion from entry points.
    assert result.stdout.splitlines() == ["Hello, Ada!", "greeter_extra hello"]


def test_app_factory_fails_on_a_broken_plugin(installed: Any, tmp_path: Path) -> None:
    script = "from benben.config import make_wsgi_app\nmake_wsgi_app()\nprint('SERVED')\n"
    result = run(installed, tmp_path, "-c", script, BENBEN_PLUGINS="hello broken_import")
    assert result.returncode != 0
    assert "SERVED" not in result.stdout
    assert (
        "pyramid.exceptions.ConfigurationError: plugin 'broken_import': cannot import "
        "benben_test_broken_import: ModuleNotFoundError" in result.stderr
    )


def test_serve_refuses_to_start_with_a_plugin_failing_in_includeme(
    installed: Any, tmp_path: Path
) -> None:
    result = run(
        installed, tmp_path, "-m", "benben.cli", "serve", "--port", "0",
        BENBEN_PLUGINS="hello raising",
    )  # fmt: skip
    assert result.returncode != 0
    assert "serving on" not in result.stdout
    assert "Traceback" not in result.stderr
    assert (
        "plugin 'raising' failed while being included: "
        "RuntimeError: the raising plugin fails on purpose" in result.stderr
    )


def test_plugins_command_reports_the_broken_plugin_and_why(installed: Any, tmp_path: Path) -> None:
    result = run(
        installed, tmp_path, "-m", "benben.cli", "plugins", "--json",
        BENBEN_PLUGINS="hello broken_import",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    plugins = {p["name"]: p for p in report["plugins"]}
    assert plugins["hello"]["status"] == "enabled"
    assert plugins["hello"]["version"] == "1.2.0"
    assert plugins["broken_import"]["status"] == "error"
    assert plugins["broken_import"]["reason"] == (
        "cannot import benben_test_broken_import: ModuleNotFoundError: "
        "No module named 'benben_test_dependency_nobody_installed'"
    )
    assert plugins["bare"]["status"] == "disabled"
    assert report["ok"] is False


def test_plugins_command_reports_a_plugin_failing_in_includeme(
    installed: Any, tmp_path: Path
) -> None:
    result = run(
        installed, tmp_path, "-m", "benben.cli", "plugins", "--json",
        BENBEN_PLUGINS="hello raising",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert plugins["raising"]["status"] == "error"
    assert plugins["raising"]["reason"] == (
        "plugin 'raising' failed while being included: "
        "RuntimeError: the raising plugin fails on purpose"
    )
    assert plugins["hello"]["status"] == "enabled"
