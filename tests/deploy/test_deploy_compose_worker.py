"""compose.yaml's background work: a worker service and one scheduler, with the instances' image
and environment, on Redis's database 1, after the migration and the data stores, health-checked
on the worker's own health server, and commands Benben's command line accepts."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from deploy_tools import ROOT


def test_workers_and_one_scheduler_share_the_instances_image_and_environment(
    model: dict[str, Any],
) -> None:
    from importlib.metadata import entry_points

    from benben.cli.common import read_app_settings
    from benben.config import load_settings
    from benben.plugins.loader import discover_plugins

    services = model["services"]
    app = services["app"]
    plugins = discover_plugins(entry_points(group="benben.plugins", name="backstage"))
    for name, command in [("worker", "worker"), ("scheduler", "scheduler")]:
        service = services[name]
        assert service["command"] == ["benben", command, "--ini", "production.ini"]
        environment = service["environment"]
        assert {k: v for k, v in environment.items() if k in app["environment"]} == app[
            "environment"
        ]
        depends = service["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert (
            depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy"
        )
        # The health check asks the worker's health server, on the port it is given.
        port = environment["BENBEN_WORKER_HEALTH_PORT"]
        assert f"http://127.0.0.1:{port}/health/live" in service["healthcheck"]["test"][-1]
        resolved, _ = load_settings(
            read_app_settings(str(ROOT / "production.ini")), environment, plugins
        )
        assert resolved.unknown == []
        broker = urlsplit(resolved.values["benben.worker.broker_url"])
        assert (broker.scheme, broker.hostname, broker.path) == ("redis", "redis", "/1")
        assert broker.password == services["redis"]["environment"]["REDIS_PASSWORD"]
        cache = urlsplit(resolved.values["benben.cache.url"])
        assert cache.path != broker.path  # the cache's flushes never touch the queues
    assert services["scheduler"]["deploy"]["replicas"] == 1
    assert services["worker"]["environment"]["BENBEN_WORKER_CONCURRENCY"] == "4"
    # Running tasks finish before Docker's SIGKILL (a webhook attempt: 15 s at most).
    minutes, seconds = re.fullmatch(
        r"(?:(\d+)m)?(?:(\d+)s)?", services["worker"]["stop_grace_period"]
    ).groups()
    assert int(minutes or 0) * 60 + int(seconds or 0) >= 30


def test_background_commands_are_benbens(model: dict[str, Any]) -> None:
    from benben.cli import build_parser
    from benben.cli.worker import run_scheduler, run_worker

    parser = build_parser()
    for name, handler in [("worker", run_worker), ("scheduler", run_scheduler)]:
        args = parser.parse_args(model["services"][name]["command"][1:])
        assert args.handler is handler
        assert args.ini == "production.ini"
