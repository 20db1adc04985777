"""Installed by default, and shipped once: Benben's wheel carries the plugin and its entry points,
and no other distribution does (plugins/README.md says why)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from backstage_support import ROOT

pytestmark = pytest.mark.slow

PLUGIN = ROOT / "plugins" / "benben-backstage"
JUNK = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "var", "site", ".cache", "node_modules",
    "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
)  # fmt: skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheels")
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = tmp_path_factory.mktemp("source") / "benben"
    shutil.copytree(ROOT, source, ignore=JUNK)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-w", str(out), str(source)],
        check=True, timeout=300,
    )  # fmt: skip
    (core,) = out.glob("*.whl")
    return core


def _entry_points(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        return archive.read(name).decode()


def test_benbens_wheel_carries_the_plugin_and_its_entry_points(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"benben_backstage/__init__.py", "benben_backstage/cli.py"} <= names
    assert "benben_backstage/py.typed" in names
    entries = _entry_points(wheel)
    assert "[benben.plugins]\nbackstage = benben_backstage\n" in entries
    assert "[benben.commands]\nbackstage = benben_backstage.cli:register\n" in entries


def test_the_plugin_is_no_distribution_of_its_own() -> None:
    """A second distribution of the same package would install it twice (two entry points, one
    name: neither could run)."""
    assert not (PLUGIN / "pyproject.toml").exists()
    assert not (PLUGIN / "setup.py").exists()
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "plugins/benben-backstage/src" in core["tool"]["setuptools"]["packages"]["find"]["where"]


def test_installed_from_benbens_wheel_alone_one_plugin_runs(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
         "--disable-pip-version-check", "--target", str(target), str(wheel)],
        check=True, timeout=300,
    )  # fmt: skip
    script = (
        "import json, benben_backstage\n"
        "from benben.plugins import discover_plugins\n"
        "found = [p for p in discover_plugins() if p.name == 'backstage']\n"
        "print(json.dumps([[p.distribution, p.status, p.reason] for p in found]))\n"
        "print(benben_backstage.__file__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env={"PYTHONPATH": str(target), "PATH": "/usr/bin"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    listed, location = result.stdout.splitlines()
    assert json.loads(listed) == [["benben", "discovered", ""]]
    assert location.startswith(str(target))
