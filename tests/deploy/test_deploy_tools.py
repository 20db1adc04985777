"""The deployment checks' tools: helm comes from a cache or npm, and a missing tool skips the
checks locally but fails them in CI."""

from __future__ import annotations

from pathlib import Path

import pytest
from deploy_tools import (
    NGINX_CONF,
    ToolUnavailableError,
    helm_binary,
    nginx_config,
    require,
)


def test_a_cached_helm_is_used_without_npm(tmp_path: Path, monkeypatch) -> None:
    cached = tmp_path / "helm"
    cached.write_text("#!/bin/sh\n")
    cached.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert helm_binary(tmp_path) == cached


def test_without_npm_helm_is_unavailable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ToolUnavailableError, match="npm is not installed"):
        helm_binary(tmp_path / "cache")


def _missing() -> Path:
    raise ToolUnavailableError("thing is not installed")


def test_a_missing_tool_skips_locally(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="thing is not installed"):
        require(_missing)


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_a_missing_tool_fails_in_ci(monkeypatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="not installed: CI must run every test"):
        require(_missing)


def test_nginx_config_points_the_shipped_file_at_the_given_instances(tmp_path: Path) -> None:
    config = nginx_config(
        tmp_path, instances=["10.1.0.1:6543", "10.1.0.2:6543"], listen="127.0.0.1:18080", run=True
    )
    main = config.read_text()
    assert main.startswith("daemon off;\nmaster_process off;\n")
    assert f"include {tmp_path}/benben.conf;" in main
    included = (tmp_path / "benben.conf").read_text()
    assert "    server 10.1.0.1:6543 max_fails=3 fail_timeout=10s;\n" in included
    assert "    server 10.1.0.2:6543 max_fails=3 fail_timeout=10s;\n" in included
    assert "127.0.0.1:654" not in included
    assert "listen 127.0.0.1:18080;" in included
    assert "listen 8080" not in included
    assert f"access_log {tmp_path}/logs/access.log benben_access;" in included
    with pytest.raises(ValueError, match="no upstream server lines"):
        nginx_config(tmp_path, NGINX_CONF.read_text().replace("server 127", "#"), instances=[])
