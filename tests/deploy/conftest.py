"""Fixtures of the deployment checks: the helm binary and rendered chart objects; Docker
Compose's binary and compose.yaml as it resolves it."""

from __future__ import annotations

import copy
import json
import secrets
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from chart_support import CHART, NAMESPACE, RELEASE, Objects
from compose_support import (
    ENV_EXAMPLE,
    REQUIRED,
    compose_binary,
    compose_config,
    parse_env_file,
    write_env_file,
)
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


# -- compose.yaml ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def binary() -> Path:
    return require(compose_binary)


@pytest.fixture(scope="module")
def filled_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """.env.example with its required secrets filled in, as a user's .env would be."""
    values = parse_env_file(ENV_EXAMPLE)
    # As .env.example says to generate them: passwords of letters and digits (they go into URLs).
    values |= {name: secrets.token_hex(24) for name in REQUIRED}
    values["BENBEN_SECRET"] = secrets.token_urlsafe(64)
    return write_env_file(tmp_path_factory.mktemp("compose") / ".env", values)


@pytest.fixture(scope="module")
def model(binary: Path, filled_env: Path) -> dict:
    """The project as Docker Compose resolves it: interpolated, merged, normalised."""
    result = compose_config(binary, filled_env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
