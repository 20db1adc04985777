"""compose.yaml, checked offline (no container engine here): valid by the Compose Specification's
schema and by Docker Compose itself, and in agreement with what it runs: the image (Dockerfile),
production.ini, Benben's settings and command line, and conf/nginx."""

from __future__ import annotations

import configparser
import json
import math
import os
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import yaml
from compose_support import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    REQUIRED,
    compose_config,
    compose_spec_schema,
    dockerfile_runtime,
    parse_env_file,
    write_env_file,
)
from deploy_tools import NGINX_CONF, ROOT, nginx_command, require, system_tool

NGINX_SCRIPT = ROOT / "conf" / "nginx" / "compose" / "40-benben-upstream.sh"
LONG_RUNNING = ("app", "worker", "scheduler", "postgres", "redis", "nginx")
BACKGROUND = ("worker", "scheduler")  # the instances' image and environment, no traffic


def raw_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def production_port() -> str:
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(ROOT / "production.ini")
    return ini["server:main"]["listen"].rsplit(":", 1)[1]


# -- valid by the specification and by Docker Compose ---------------------------------------------


def test_compose_file_is_valid_by_the_compose_specification_schema(binary: Path) -> None:
    schema = compose_spec_schema(binary)
    assert schema["title"] == "Compose Specification"
    assert "draft-07" in schema["$schema"]
    jsonschema.Draft7Validator.check_schema(schema)
    errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(raw_compose())]
    assert errors == []


def test_the_schema_would_catch_a_misspelt_key(binary: Path) -> None:
    broken = raw_compose()
    broken["services"]["app"]["healthchek"] = broken["services"]["app"].pop("healthcheck")
    validator = jsonschema.Draft7Validator(compose_spec_schema(binary))
    assert any("healthchek" in error.message for error in validator.iter_errors(broken))


def test_docker_compose_would_refuse_a_broken_file(binary: Path, filled_env: Path) -> None:
    broken = filled_env.parent / "broken.yaml"
    broken.write_text(COMPOSE_FILE.read_text().replace("condition: service_healthy", "when: up"))
    result = compose_config(binary, filled_env, broken)
    assert result.returncode != 0
    assert "when" in result.stderr


def test_services_of_the_production_picture(model: dict[str, Any]) -> None:
    services = model["services"]
    assert set(services) == {"migrate", "app", "worker", "scheduler", "postgres", "redis", "nginx"}
    assert services["app"]["build"]["context"] == str(ROOT)
    assert services["app"]["build"]["dockerfile"] == "Dockerfile"
    for name in ("migrate", *BACKGROUND):
        assert services[name]["image"] == services["app"]["image"]
    assert services["app"]["deploy"]["replicas"] >= 2
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert services["nginx"]["image"].startswith("nginx:")


# -- secrets: from .env, never committed, refused when missing ------------------------------------


def test_a_missing_secret_stops_compose_and_is_named(binary: Path, tmp_path: Path) -> None:
    result = compose_config(binary, write_env_file(tmp_path / ".env", parse_env_file(ENV_EXAMPLE)))
    assert result.returncode != 0
    assert re.search(r"required variable \w+ is missing a value: set \w+ in \.env", result.stderr)
    for name in REQUIRED:  # each is refused on its own
        values = parse_env_file(ENV_EXAMPLE) | {n: "x" * 80 for n in REQUIRED if n != name}
        result = compose_config(binary, write_env_file(tmp_path / ".env", values))
        assert f"required variable {name} is missing a value" in result.stderr


def test_env_example_documents_exactly_the_variables_compose_uses() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    used = set(re.findall(r"(?<!\$)\$\{(\w+)", text))
    declared = parse_env_file(ENV_EXAMPLE)
    assert used == set(declared)
    assert {name for name, value in declared.items() if not value} >= set(REQUIRED)
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if re.match(r"\w+=", line):  # each variable follows its own comment
            assert lines[number - 1].startswith("#"), line
    for name in REQUIRED:  # compose refuses to run without it
        assert re.search(rf"\$\{{{name}:\?[^}}]+\}}", text), name


def test_env_file_is_ignored_by_git_and_never_sent_to_a_build() -> None:
    def ignored(path: str) -> bool:
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        return result.returncode == 0

    assert ignored(".env")
    assert not ignored(".env.example")
    rules = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    rules = [rule for rule in rules if rule and not rule.startswith("#")]
    assert rules[0] == "*"  # an allow-list: only what is named is sent...
    assert not any(rule.startswith("!") and ".env" in rule for rule in rules)  # ...never .env


# -- agreement with the image, production.ini and Benben ------------------------------------------


def test_commands_are_the_images_and_benbens(model: dict[str, Any]) -> None:
    from benben.cli import build_parser, migrate, serve

    services = model["services"]
    assert services["app"]["command"] == json.loads(dockerfile_runtime("CMD")[0])
    parser = build_parser()
    for name, module in [("app", serve), ("migrate", migrate)]:
        command = services[name]["command"]
        assert command[0] == "benben"
        args = parser.parse_args(command[1:])
        assert args.handler is module.run
        assert args.ini == "production.ini"
        assert (ROOT / args.ini).is_file()  # the image's WORKDIR holds it (Dockerfile COPY)
    assert "production.ini ./" in dockerfile_runtime("COPY")
    assert services["migrate"]["restart"] == "no"


def test_dependencies_order_the_start(model: dict[str, Any]) -> None:
    services = model["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    app = services["app"]["depends_on"]
    assert app["migrate"]["condition"] == "service_completed_successfully"
    assert app["postgres"]["condition"] == app["redis"]["condition"] == "service_healthy"
    nginx = services["nginx"]["depends_on"]["app"]
    assert nginx == {"condition": "service_healthy", "restart": True, "required": True}


def test_every_long_running_service_has_a_health_check(model: dict[str, Any]) -> None:
    services = model["services"]
    for name in LONG_RUNNING:
        assert services[name]["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert services[name]["restart"] == "unless-stopped"
    assert "migrate" not in [n for n, s in services.items() if "healthcheck" in s]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert "redis-cli" in services["redis"]["healthcheck"]["test"][1]
    assert "PONG" in services["redis"]["healthcheck"]["test"][1]


def test_app_health_check_is_the_images(model: dict[str, Any]) -> None:
    (healthcheck,) = dockerfile_runtime("HEALTHCHECK")
    options, _, command = healthcheck.partition("CMD ")
    compose = model["services"]["app"]["healthcheck"]
    assert compose["test"] == ["CMD", *json.loads(command)]
    image = dict(option.lstrip("-").split("=") for option in options.split())
    assert compose["interval"] == image["interval"]
    assert compose["timeout"] == image["timeout"]
    assert compose["retries"] == int(image["retries"])
    assert compose["start_period"] == image["start-period"]


def test_ports_agree_with_production_ini_the_image_and_nginx(model: dict[str, Any]) -> None:
    services = model["services"]
    port = production_port()
    assert dockerfile_runtime("EXPOSE") == [port]
    assert services["app"]["expose"] == [port]
    assert "ports" not in services["app"]  # reached through nginx only
    assert f"127.0.0.1:{port}/" in services["app"]["healthcheck"]["test"][-1]
    assert services["nginx"]["environment"]["BENBEN_UPSTREAM"] == f"app:{port}"
    (listen,) = set(re.findall(r"^\s*listen (?:\[::\]:)?(\d+);", NGINX_CONF.read_text(), re.M))
    (published,) = services["nginx"]["ports"]
    assert (published["target"], published["published"]) == (int(listen), "8080")
    assert f"127.0.0.1:{listen}/" in services["nginx"]["healthcheck"]["test"][-1]
    for name in ("postgres", "redis", "migrate", *BACKGROUND):
        assert "ports" not in services[name]


def test_environment_is_a_valid_production_configuration(model: dict[str, Any]) -> None:
    """What the app and migrate containers get (production.ini in the image, compose's
    environment with .env's values) is accepted by Benben's own settings parser (core's and the
    bundled plugin's), with no unknown variable."""
    from importlib.metadata import entry_points

    from benben.cli.common import read_app_settings
    from benben.config import load_settings
    from benben.core_settings import CORE_SETTINGS
    from benben.plugins.loader import discover_plugins
    from benben.serving import SERVER_SETTINGS

    bundled = entry_points(group="benben.plugins")
    plugins = discover_plugins([e for e in bundled if e.name in ("backstage", "files")])
    known = {s.env for s in [*CORE_SETTINGS, *SERVER_SETTINGS]}
    known |= {s.env for plugin in plugins for s in plugin.metadata.settings}
    image_env = dict(re.findall(r"(\w+)=(\S+)", " ".join(dockerfile_runtime("ENV"))))
    services = model["services"]
    assert services["app"]["environment"] == services["migrate"]["environment"]
    environ = image_env | services["app"]["environment"]
    assert {name for name in environ if name.startswith("BENBEN_")} <= known
    resolved, _ = load_settings(read_app_settings(str(ROOT / "production.ini")), environ, plugins)
    values = resolved.values
    assert resolved.unknown == []
    assert values["benben.environment"] == "production"
    assert values["benben.cache.backend"] == "redis"
    assert urlsplit(values["benben.database.url"]).hostname == "postgres"
    assert urlsplit(values["benben.cache.url"]).hostname == "redis"
    (subnet,) = [c["subnet"] for c in model["networks"]["web"]["ipam"]["config"]]
    assert [str(n) for n in values["benben.security.trusted_proxies"]] == [subnet]
    # The passwords in the URLs are the ones PostgreSQL and Redis are given.
    postgres = services["postgres"]["environment"]
    assert urlsplit(values["benben.database.url"]).password == postgres["POSTGRES_PASSWORD"]
    assert urlsplit(values["benben.database.url"]).username == postgres["POSTGRES_USER"]
    assert urlsplit(values["benben.database.url"]).path == "/" + postgres["POSTGRES_DB"]
    redis = services["redis"]["environment"]
    assert urlsplit(values["benben.cache.url"]).password == redis["REDIS_PASSWORD"]


def test_networks_keep_the_data_stores_private(model: dict[str, Any]) -> None:
    services = model["services"]
    assert model["networks"]["backend"]["internal"] is True
    assert set(services["nginx"]["networks"]) == {"web"}
    assert set(services["app"]["networks"]) == {"web", "backend"}
    for name in ("migrate", "scheduler", "postgres", "redis"):
        assert set(services[name]["networks"]) == {"backend"}, name
    # Webhooks go out: the workers alone have a way out, and nothing reaches them from it.
    assert set(services["worker"]["networks"]) == {"backend", "outbound"}
    assert not model["networks"]["outbound"].get("internal", False)
    assert [n for n, s in services.items() if "outbound" in s["networks"]] == ["worker"]


def test_containers_are_hardened_and_bounded(model: dict[str, Any]) -> None:
    (image_user,) = dockerfile_runtime("USER")
    for name, service in model["services"].items():
        assert service["read_only"] is True, name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service["deploy"]["resources"]["limits"]["memory"], name
        assert service["logging"]["options"]["max-size"], name
    for name in ("app", "migrate", *BACKGROUND):
        service = model["services"][name]
        assert service["user"] == image_user
        assert service["cap_drop"] == ["ALL"]
        assert "/tmp:size=64m" in service["tmpfs"]


def test_data_lives_in_a_named_volume_and_nothing_in_anonymous_ones(
    model: dict[str, Any],
) -> None:
    (mount,) = model["services"]["postgres"]["volumes"]
    assert (mount["type"], mount["source"], mount["target"]) == (
        "volume",
        "postgres-data",
        "/var/lib/postgresql/data",
    )
    assert "postgres-data" in model["volumes"]
    # The image declares its data directory a VOLUME; with PostgreSQL it holds nothing, so it
    # is memory, owned by the image's user, rather than an anonymous volume per container.
    (data_dir,) = json.loads(dockerfile_runtime("VOLUME")[0])
    uid = dockerfile_runtime("USER")[0].split(":")[0]
    for name in ("app", "migrate", *BACKGROUND):
        (tmpfs,) = [t for t in model["services"][name]["tmpfs"] if t.startswith(data_dir + ":")]
        assert f"uid={uid}" in tmpfs
        assert "mode=0700" in tmpfs
    assert "/data" in model["services"]["redis"]["tmpfs"]  # the cache: nothing to keep


# -- nginx: the shipped configuration, pointed at the app service ---------------------------------


def _script_default(name: str) -> str:
    (value,) = re.findall(rf'^\w+="\$\{{{name}:-([^}}]+)\}}"$', NGINX_SCRIPT.read_text(), re.M)
    return value


def test_nginx_mounts_the_shared_configuration_and_the_upstream_script(
    model: dict[str, Any],
) -> None:
    nginx = model["services"]["nginx"]
    mounts = {Path(m["source"]): m for m in nginx["volumes"]}
    assert set(mounts) == {NGINX_CONF, NGINX_SCRIPT}
    assert all(m["type"] == "bind" and m["read_only"] for m in mounts.values())
    assert mounts[NGINX_CONF]["target"] == _script_default("BENBEN_NGINX_SOURCE")
    assert re.fullmatch(r"/docker-entrypoint\.d/\d+-[\w-]+\.sh", mounts[NGINX_SCRIPT]["target"])
    assert os.access(NGINX_SCRIPT, os.X_OK)  # the image's entrypoint runs executable *.sh only
    assert os.path.dirname(_script_default("BENBEN_NGINX_TARGET")) in nginx["tmpfs"]


def test_nginx_upstream_script_output_is_accepted_by_nginx(
    model: dict[str, Any], tmp_path: Path
) -> None:
    require(lambda: system_tool("nginx", "nginx"))
    target = tmp_path / "benben.conf"
    env = {
        "PATH": "/usr/bin:/bin",
        "BENBEN_NGINX_SOURCE": str(NGINX_CONF),
        "BENBEN_NGINX_TARGET": str(target),
        **model["services"]["nginx"]["environment"],
    }
    subprocess.run(["/bin/sh", str(NGINX_SCRIPT)], env=env, check=True, capture_output=True)
    text = target.read_text()
    upstream = env["BENBEN_UPSTREAM"]
    servers = re.findall(r"^\s*server (\S+) (.*);$", text, re.M)
    assert servers == [(upstream, "max_fails=3 fail_timeout=10s")]
    assert "access_log /dev/stdout benben_access;" in text
    # Everything else is the shipped file, line for line.
    shipped = [line for line in NGINX_CONF.read_text().splitlines() if "127.0.0.1:" not in line]
    kept = [line for line in text.splitlines() if upstream not in line]
    assert [line for line in shipped if "access_log" not in line] == [
        line for line in kept if "access_log" not in line
    ]
    # nginx -t resolves upstream names: here the service name is not resolvable, loopback is.
    (tmp_path / "local.conf").write_text(text.replace(upstream, "127.0.0.1:" + production_port()))
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\n"
        f"http {{ client_body_temp_path {tmp_path}/body; proxy_temp_path {tmp_path}/proxy;\n"
        f"       include {tmp_path}/local.conf; }}\n"
    )
    (tmp_path / "logs").mkdir()
    result = subprocess.run(nginx_command(tmp_path, main, "-t"), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_nginx_upstream_script_refuses_a_configuration_it_cannot_rewrite(tmp_path: Path) -> None:
    source = tmp_path / "changed.conf"
    source.write_text(NGINX_CONF.read_text().replace("127.0.0.1", "localhost"))
    env = {
        "PATH": "/usr/bin:/bin",
        "BENBEN_NGINX_SOURCE": str(source),
        "BENBEN_NGINX_TARGET": str(tmp_path / "out.conf"),
        "BENBEN_UPSTREAM": "app:6543",
    }
    result = subprocess.run(["/bin/sh", str(NGINX_SCRIPT)], env=env, capture_output=True)
    assert result.returncode == 1
    assert b"no upstream server" in result.stderr


def test_instances_run_a_process_per_cpu_and_stop_within_their_grace(
    model: dict[str, Any], tmp_path: Path
) -> None:
    """benben.server.workers auto counts the container's CPU limit (the cgroup quota Docker sets
    from limits.cpus); the requests in flight finish before Docker's SIGKILL."""
    from benben.serving import available_cpus, resolve_process_settings

    app = model["services"]["app"]
    cpus = float(app["deploy"]["resources"]["limits"]["cpus"])
    process = resolve_process_settings({}, app["environment"])
    assert process.workers == "auto"
    (tmp_path / "cpu.max").write_text(f"{int(cpus * 100_000)} 100000\n")
    assert available_cpus(tmp_path) == min(math.ceil(cpus), len(os.sched_getaffinity(0)))
    assert cpus == 2  # what the comment and docs/deployment.md say
    grace = int(str(app["stop_grace_period"]).rstrip("s"))
    assert process.graceful_timeout < grace
