"""Installed by default: Benben's wheel carries the plugin and its entry points; the plugin's own
distribution builds on its own; with both installed (as the container image does), one plugin."""

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
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = tmp_path_factory.mktemp("source") / "benben"
    shutil.copytree(ROOT, source, ignore=JUNK)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-w", str(out), str(source), str(source / "plugins" / "benben-backstage")],
        check=True, timeout=300,
    )  # fmt: skip
    (core,) = out.glob("benben-*.whl")
    (plugin,) = out.glob("benben_backstage-*.whl")
    return {"core": core, "plugin": plugin}


def _entry_points(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        return archive.read(name).decode()


def test_benbens_wheel_bundles_the_plugin(wheels: dict[str, Path]) -> None:
    with zipfile.ZipFile(wheels["core"]) as archive:
        names = set(archive.namelist())
    assert {"benben_backstage/__init__.py", "benben_backstage/cli.py"} <= names
    assert "benben_backstage/py.typed" in names
    entries = _entry_points(wheels["core"])
    assert "[benben.plugins]\nbackstage = benben_backstage\n" in entries
    assert "[benben.commands]\nbackstage = benben_backstage.cli:register\n" in entries


def test_the_plugin_is_its_own_distribution_in_step_with_core(wheels: dict[str, Path]) -> None:
    with zipfile.ZipFile(wheels["plugin"]) as archive:
        names = set(archive.namelist())
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
    assert "benben_backstage/entities.py" in names
    assert not any(name.startswith("benben/") for name in names)
    assert "Requires-Dist: benben<1,>=0.1" in text
    assert "[benben.plugins]\nbackstage = benben_backstage\n" in _entry_points(wheels["plugin"])
    own = tomllib.loads((PLUGIN / "pyproject.toml").read_text())["project"]
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert own["version"] == core["version"]  # bundled with core: released with it
    assert set(own["dependencies"]) - {"benben>=0.1,<1"} <= set(core["dependencies"])


def test_both_installed_make_one_plugin(wheels: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
         "--disable-pip-version-check", "--target", str(target), str(wheels["core"]),
         str(wheels["plugin"])],
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
    assert json.loads(listed) == [["benben-backstage", "discovered", ""]]
    assert location.startswith(str(target))
