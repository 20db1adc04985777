"""Plugin distributions installed for real, as a third party installs them.

Every directory under tests/fixtures/plugins/ is a small distribution with a ``benben.plugins``
entry point.  They are built and installed once per test run with pip into a private directory (not
the venv), so that other tests, which discover whatever is installed, never see them.  Each test
picks the distributions it wants: ``installed.entry_points("benben-test-hello")``.
"""

from __future__ import annotations

import fcntl
import importlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pyramid.config import Configurator

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "plugins"
GROUP = "benben.plugins"


@dataclass(frozen=True)
class InstalledPlugins:
    """The test plugin distributions, installed in ``target``."""

    target: Path

    def distributions(self) -> dict[str, importlib.metadata.Distribution]:
        found = importlib.metadata.distributions(path=[str(self.target)])
        return {dist.metadata["Name"]: dist for dist in found}

    def entry_points(self, *names: str) -> list[importlib.metadata.EntryPoint]:
        """The ``benben.plugins`` entry points of the named distributions, in the order given."""
        distributions = self.distributions()
        chosen: list[importlib.metadata.EntryPoint] = []
        for name in names:
            if name not in distributions:
                raise LookupError(f"{name} is not installed (have: {sorted(distributions)})")
            chosen.extend(ep for ep in distributions[name].entry_points if ep.group == GROUP)
        return chosen


@pytest.fixture(scope="session")
def installed_plugins(tmp_path_factory: pytest.TempPathFactory) -> InstalledPlugins:
    """Build and install every fixture distribution with pip, offline, in one call: once per
    test run, however many xdist workers need them (the first builds, the others wait for it)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's directory, shared by its workers
    target = root / "test-plugins" / "site-packages"
    with open(root / "test-plugins.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target.parent / "installed").exists():
            _install(target)
            (target.parent / "installed").touch()
    return InstalledPlugins(target)


def _install(target: Path) -> None:
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    sources = target.parent / "src"
    shutil.rmtree(target.parent, ignore_errors=True)  # what an interrupted attempt left
    shutil.copytree(
        FIXTURES, sources, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
        "--no-build-isolation", "--disable-pip-version-check", "--target", str(target),
        *sorted(str(path) for path in sources.iterdir() if (path / "pyproject.toml").exists()),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"installing the test plugins failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture
def installed(installed_plugins: InstalledPlugins) -> Iterator[InstalledPlugins]:
    """The installed test plugins, importable for the duration of one test only."""
    entry = str(installed_plugins.target)
    sys.path.insert(0, entry)
    importlib.invalidate_caches()
    try:
        yield installed_plugins
    finally:
        sys.path.remove(entry)
        importlib.invalidate_caches()


@pytest.fixture
def configure_with(
    installed: InstalledPlugins, tmp_path: Path
) -> Iterator[Callable[..., Configurator]]:
    """``configure_with({"benben.x": "y"}, "benben-test-hello", environ={...})``: core on the
    embedded default plus the named distributions' plugins.  Nothing is served or migrated: for
    tests of start-up itself."""
    from benben.config import configure

    configs: list[Configurator] = []

    def factory(
        overrides: Mapping[str, Any] | None,
        *distributions: str,
        environ: Mapping[str, str] | None = None,
    ) -> Configurator:
        settings = {"benben.data_dir": str(tmp_path / "var"), **(overrides or {})}
        config = configure(
            settings,
            environ=environ or {},
            entry_points=installed.entry_points(*distributions),
        )
        configs.append(config)
        return config

    yield factory
    for config in configs:
        engine = config.registry.get("benben.db.engine")
        if engine is not None:
            engine.dispose()
