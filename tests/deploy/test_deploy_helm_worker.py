"""The chart's background work (worker.enabled, on by default): a worker Deployment running
`benben worker` and a single scheduler running `benben scheduler` (one replica, Recreate), with the
servers' image, configuration and hardening, probed on their health port; the broker URL from the
release's Secret (the cache's Redis by default, RabbitMQ possible); metrics and network policy
covering them; and nothing of it with worker.enabled=false (the server pods run the tasks)."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_support import API_VERSIONS, CHART, CI_VALUES, RELEASE, find, one
from deploy_tools import ROOT

FULLNAME = f"{RELEASE}-benben"
WORKER = f"{FULLNAME}-worker"
SCHEDULER = f"{FULLNAME}-scheduler"
RABBITMQ = "worker-rabbitmq-values.yaml"
ANY_ADDRESS = "0.0.0.0"  # noqa: S104 - what the chart must set, not a bind of the test
DEFAULTS = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (found,) = deployment["spec"]["template"]["spec"]["containers"]
    return found


def env_of(deployment: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(deployment)["env"]}


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    return deployment["spec"]["template"]["metadata"]["labels"]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a LabelSelector (matchLabels, matchExpressions with In) selects ``labels``."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


@pytest.mark.parametrize("values", CI_VALUES, ids=[p.name for p in CI_VALUES])
def test_every_values_file_runs_servers_workers_and_one_scheduler(render, values: Path) -> None:
    objects = render(values.name, api_versions=API_VERSIONS)
    names = sorted(o["metadata"]["name"] for o in find(objects, "Deployment"))
    assert names == [FULLNAME, SCHEDULER, WORKER]
    server, worker, scheduler = (
        one(objects, "Deployment", n) for n in (FULLNAME, WORKER, SCHEDULER)
    )
    for deployment, component in [(worker, "worker"), (scheduler, "scheduler")]:
        assert deployment["metadata"]["labels"]["app.kubernetes.io/component"] == component
        assert pod_labels(deployment)["app.kubernetes.io/component"] == component
        # The servers' image, configuration and secret; the same checksums roll them.
        assert container(deployment)["image"] == container(server)["image"]
        assert container(deployment)["envFrom"] == container(server)["envFrom"]
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        server_annotations = server["spec"]["template"]["metadata"]["annotations"]
        for checksum in ("checksum/config", "checksum/secret"):
            assert annotations[checksum] == server_annotations[checksum]
        # Only the servers take traffic or count in their disruption budget and autoscaler.
        service = one(objects, "Service")
        assert not selects({"matchLabels": service["spec"]["selector"]}, pod_labels(deployment))
        for budget in find(objects, "PodDisruptionBudget"):
            assert not selects(budget["spec"]["selector"], pod_labels(deployment))
    for autoscaler in find(objects, "HorizontalPodAutoscaler"):
        assert autoscaler["spec"]["scaleTargetRef"]["name"] == FULLNAME


def test_workers_run_benben_worker_with_their_concurrency_probes_and_resources(render) -> None:
    worker = one(render("default-values.yaml"), "Deployment", WORKER)
    defaults = DEFAULTS["worker"]
    assert worker["spec"]["replicas"] == defaults["replicaCount"] == 2
    assert worker["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    benben = container(worker)
    assert benben["command"] == ["benben", "worker", "--ini", "production.ini"]
    port = defaults["healthPort"]
    assert benben["ports"] == [{"name": "health", "containerPort": port, "protocol": "TCP"}]
    for probe, path in [
        ("startupProbe", "/health/live"),
        ("livenessProbe", "/health/live"),
        ("readinessProbe", "/health/ready"),
    ]:
        assert benben[probe]["httpGet"] == {"path": path, "port": "health"}
    env = env_of(worker)
    # Every interface: the kubelet probes the pod's address.
    assert env["BENBEN_WORKER_HEALTH_HOST"] == ANY_ADDRESS
    assert env["BENBEN_WORKER_HEALTH_PORT"] == str(port)
    assert env["BENBEN_WORKER_CONCURRENCY"] == "4"
    assert "BENBEN_WORKER_QUEUES" not in env  # every queue
    assert env["BENBEN_WORKER_BROKER_URL"] == {
        "secretKeyRef": {"name": FULLNAME, "key": "BENBEN_WORKER_BROKER_URL"}
    }
    assert benben["resources"] == defaults["resources"]
    spec = worker["spec"]["template"]["spec"]
    assert spec["terminationGracePeriodSeconds"] == defaults["terminationGracePeriodSeconds"]
    spread = spec["topologySpreadConstraints"]
    assert {c["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] for c in spread} == {
        "worker"
    }


def test_exactly_one_scheduler_replaced_with_recreate(render) -> None:
    for values, sets in [("default-values.yaml", ()), (RABBITMQ, ("worker.replicaCount=7",))]:
        scheduler = one(render(values, set=sets), "Deployment", SCHEDULER)
        assert scheduler["spec"]["replicas"] == 1
        assert scheduler["spec"]["strategy"] == {"type": "Recreate"}
        benben = container(scheduler)
        assert benben["command"] == ["benben", "scheduler", "--ini", "production.ini"]
        assert benben["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "health"}
        assert "BENBEN_WORKER_CONCURRENCY" not in env_of(scheduler)
        assert benben["resources"] == DEFAULTS["worker"]["scheduler"]["resources"]


def test_rabbitmq_workers_with_queues_and_their_own_port(render) -> None:
    objects = render(RABBITMQ, api_versions=API_VERSIONS)
    given = yaml.safe_load((CHART / "ci" / RABBITMQ).read_text(encoding="utf-8"))
    secret = one(objects, "Secret", FULLNAME)["stringData"]
    assert secret["BENBEN_WORKER_BROKER_URL"] == given["secrets"]["brokerUrl"]
    worker = one(objects, "Deployment", WORKER)
    assert worker["spec"]["replicas"] == 3
    env = env_of(worker)
    assert env["BENBEN_WORKER_CONCURRENCY"] == "8"
    assert env["BENBEN_WORKER_QUEUES"] == "benben webhooks"
    assert env["BENBEN_WORKER_HEALTH_PORT"] == "9091"
    assert container(worker)["ports"][0]["containerPort"] == 9091


def test_the_broker_defaults_to_the_cache_s_redis_database_1(render) -> None:
    data = one(render("default-values.yaml"), "Secret", FULLNAME)["stringData"]
    assert data["BENBEN_CACHE_URL"] == "redis://:redis-password@redis.db.svc:6379/0"
    assert data["BENBEN_WORKER_BROKER_URL"] == "redis://:redis-password@redis.db.svc:6379/1"
    tls = render("default-values.yaml", set=("secrets.cacheUrl=rediss://:p@cache.svc:6380/4",))
    broker = one(tls, "Secret", FULLNAME)["stringData"]["BENBEN_WORKER_BROKER_URL"]
    assert broker == "rediss://:p@cache.svc:6380/1"


def test_an_existing_secret_must_hold_the_broker_url(render) -> None:
    objects = render("existing-secret-values.yaml")
    for name in (WORKER, SCHEDULER):
        # Named explicitly: a Secret without the key stops the pod, naming it.
        assert env_of(one(objects, "Deployment", name))["BENBEN_WORKER_BROKER_URL"] == {
            "secretKeyRef": {"name": "benben-credentials", "key": "BENBEN_WORKER_BROKER_URL"}
        }


@pytest.mark.parametrize("values", CI_VALUES, ids=[p.name for p in CI_VALUES])
def test_background_pods_environment_is_a_valid_production_configuration(
    render, values: Path
) -> None:
    """What a worker or scheduler pod gets (production.ini, the ConfigMap, the Secret, its own
    variables, extraEnv) is accepted by Benben's settings parser, with no unknown variable."""
    from benben.cli.common import read_app_settings
    from benben.config import load_settings
    from benben.plugins.loader import discover_plugins

    plugins = discover_plugins(entry_points(group="benben.plugins", name="backstage"))
    objects = render(values.name)
    for name in (WORKER, SCHEDULER):
        deployment = one(objects, "Deployment", name)
        environ: dict[str, str] = {}
        secret: dict[str, str] = {}
        for source in container(deployment)["envFrom"]:
            if "configMapRef" in source:
                environ |= one(objects, "ConfigMap", source["configMapRef"]["name"])["data"]
            elif find(objects, "Secret", source["secretRef"]["name"]):
                secret = one(objects, "Secret", source["secretRef"]["name"])["stringData"]
            else:  # an existing Secret: what it must hold
                secret = {
                    "BENBEN_SECRET": "".join(chr(c) for c in range(48, 123)),
                    "BENBEN_DATABASE_URL": "postgresql://benben@db.svc/benben",
                    "BENBEN_CACHE_URL": "redis://cache.svc:6379/0",
                    "BENBEN_WORKER_BROKER_URL": "redis://cache.svc:6379/1",
                }
        environ |= secret
        for variable in container(deployment)["env"]:
            if "value" in variable:
                environ[variable["name"]] = variable["value"]
            else:
                environ[variable["name"]] = secret[variable["valueFrom"]["secretKeyRef"]["key"]]
        ini = read_app_settings(str(ROOT / "production.ini"))
        resolved, _ = load_settings(ini, environ, plugins)
        assert resolved.unknown == [], name
        settings = resolved.values
        assert settings["benben.worker.broker_url"].startswith(("redis://", "amqp://")), name
        assert settings["benben.worker.health_host"] == ANY_ADDRESS
        port = container(deployment)["ports"][0]["containerPort"]
        assert settings["benben.worker.health_port"] == port


def test_worker_settings_belong_in_the_worker_block(helm) -> None:
    for assignment, message in [
        ("settings.benben\\.worker\\.concurrency=8", "set it in the values' worker.concurrency"),
        ("settings.benben\\.worker\\.health_port=9000", "set it in the values' worker.healthPort"),
        ("settings.benben\\.worker\\.broker_url=redis://r/1", 'Property name of "benben.worker'),
        ("worker.concurrency=0", "worker.concurrency: Must be greater than or equal to 1"),
        ("worker.queues[0]=no spaces", "worker.queues.0: Does not match pattern"),
    ]:
        result = helm(
            "template", RELEASE, str(CHART), "-f", str(CHART / "ci" / "default-values.yaml"),
            "--set", assignment, check=False,
        )  # fmt: skip
        assert result.returncode == 1, assignment
        assert message in result.stderr, result.stderr


def test_workers_off_the_servers_run_the_tasks_and_nothing_else_renders(render) -> None:
    objects = render(RABBITMQ, set=("worker.enabled=false", "secrets.brokerUrl="),
                     api_versions=API_VERSIONS)  # fmt: skip
    assert [o["metadata"]["name"] for o in find(objects, "Deployment")] == [FULLNAME]
    assert "BENBEN_WORKER_BROKER_URL" not in one(objects, "Secret", FULLNAME)["stringData"]
    assert find(objects, "PodMonitor") == []
    assert [o["metadata"]["name"] for o in find(objects, "NetworkPolicy")] == [FULLNAME]
    components = {o["metadata"]["labels"].get("app.kubernetes.io/component") for o in objects}
    assert not {"worker", "scheduler"} & components


def test_pod_monitor_scrapes_the_workers_and_the_scheduler_on_their_health_port(render) -> None:
    objects = render(RABBITMQ, api_versions=API_VERSIONS)
    monitor = one(objects, "PodMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("health", "/metrics")
    for name in (WORKER, SCHEDULER):
        assert selects(monitor["spec"]["selector"], pod_labels(one(objects, "Deployment", name)))
    assert not selects(
        monitor["spec"]["selector"], pod_labels(one(objects, "Deployment", FULLNAME))
    )
    # The servers' /metrics stays the ServiceMonitor's.
    assert find(render(RABBITMQ), "PodMonitor") == []  # no Prometheus Operator API


def test_network_policy_lets_the_workers_reach_webhook_receivers(render) -> None:
    objects = render(RABBITMQ)
    policy = one(objects, "NetworkPolicy", WORKER)["spec"]
    for name in (WORKER, SCHEDULER):
        assert selects(policy["podSelector"], pod_labels(one(objects, "Deployment", name)))
    assert not selects(policy["podSelector"], pod_labels(one(objects, "Deployment", FULLNAME)))
    assert policy["ingress"] == [{"ports": [{"port": "health", "protocol": "TCP"}]}]
    (webhooks,) = policy["egress"]
    assert "to" not in webhooks  # any address: the SSRF guard decides
    assert [p["port"] for p in webhooks["ports"]] == [443, 8443]
    # The release's policy gives them the database, Redis and the broker (policies add up).
    release = one(objects, "NetworkPolicy", FULLNAME)["spec"]
    assert selects(release["podSelector"], pod_labels(one(objects, "Deployment", WORKER)))
    assert 5672 in [p["port"] for p in release["egress"][1]["ports"]]
    anywhere = render(RABBITMQ, set=("networkPolicy.egress.webhookPorts=null",))
    assert one(anywhere, "NetworkPolicy", WORKER)["spec"]["egress"] == [{}]


def test_without_hooks_the_servers_alone_register_in_backstage(render) -> None:
    objects = render("backstage-values.yaml", set=("migrations.hook=false",))
    for name in (WORKER, SCHEDULER):
        env = env_of(one(objects, "Deployment", name))
        assert env["BENBEN_BACKSTAGE_REGISTER_ON_STARTUP"] == "false"
        assert "BENBEN_BACKSTAGE_TOKEN" not in env
    assert "BENBEN_BACKSTAGE_REGISTER_ON_STARTUP" not in env_of(
        one(render("backstage-values.yaml"), "Deployment", WORKER)
    )


def test_background_commands_are_benbens(render) -> None:
    from benben.cli import build_parser
    from benben.cli.worker import run_scheduler, run_worker

    objects = render("default-values.yaml")
    parser = build_parser()
    for name, handler in [(WORKER, run_worker), (SCHEDULER, run_scheduler)]:
        args = parser.parse_args(container(one(objects, "Deployment", name))["command"][1:])
        assert args.handler is handler
        assert args.ini == "production.ini"
