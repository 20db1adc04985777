"""Fixtures of the deployment checks: the helm binary and rendered chart objects."""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from chart_support import CHART, NAMESPACE, RELEASE, Objects
from deploy_tools import helm_binary, require


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., subprocess.CompletedProcess]:
    """Run helm with its caches and config in a temporary home (never the user's)."""
    binary = require(helm_binary)
    home = tmp_path_factory.mktemp("helm-home")
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }

    def run(
        *args: str, check: bool = True, kubeconfig: Path | None = None
    ) -> subprocess.CompletedProcess:
        # Never a real cluster: the fake one of a test, or none at all.
        config = {"KUBECONFIG": str(kubeconfig or home / "no-cluster")}
        result = subprocess.run(
            [str(binary), *args], capture_output=True, text=True, env=env | config, timeout=60
        )
        if check and result.returncode != 0:
            pytest.fail(f"helm {' '.join(args)} failed:\n{result.stderr}", pytrace=False)
        return result

    return run


@pytest.fixture(scope="session")
def render(helm: Callable[..., subprocess.CompletedProcess]) -> Callable[..., Objects]:
    """``render(values_file..., set=[...], api_versions=...)``: the chart's objects, memoized."""
    cache: dict[tuple, Objects] = {}

    def run(
        *values: str | Path, set: tuple[str, ...] = (), api_versions: tuple[str, ...] = ()
    ) -> Objects:
        key = (tuple(str(v) for v in values), tuple(set), tuple(api_versions))
        if key not in cache:
            args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
            for path in values:
                args += ["-f", str(CHART / "ci" / path) if "/" not in str(path) else str(path)]
            for assignment in set:
                args += ["--set", assignment]
            for api in api_versions:
                args += ["--api-versions", api]
            output = helm(*args).stdout
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            cache[key] = [doc for doc in yaml.load_all(output, Loader=loader) if doc]
        # Copies: a test may not change what another test sees.
        return copy.deepcopy(cache[key])

    return run
