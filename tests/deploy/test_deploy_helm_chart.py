"""The Helm chart renders, for every values file under helm/benben/ci/, objects that Kubernetes
accepts (strict schemas, bundled) and that have the properties a multi-instance deployment needs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from chart_support import API_VERSIONS, CHART, CI_VALUES, NAMESPACE, RELEASE, find, one
from deploy_tools import ROOT

from benben import __version__

KUBERNETES_VERSION = "1.30"
FULLNAME = f"{RELEASE}-benben"
CI_IDS = [path.name for path in CI_VALUES]
BACKUP_SCRATCH = "/var/tmp/benben-backup"  # TMPDIR of the pods that write archives


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(name, pod metadata, pod spec) of every pod the chart can start."""
    pods = []
    for obj in objects:
        if obj["kind"] in {"Deployment", "Job"}:
            template = obj["spec"]["template"]
            pods.append((obj["metadata"]["name"], template["metadata"], template["spec"]))
        elif obj["kind"] == "CronJob":  # the backups' (backup.cronjob)
            template = obj["spec"]["jobTemplate"]["spec"]["template"]
            pods.append((obj["metadata"]["name"], template["metadata"], template["spec"]))
        elif obj["kind"] == "Pod":
            pods.append((obj["metadata"]["name"], obj["metadata"], obj["spec"]))
    return pods


def server(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return one(objects, "Deployment", FULLNAME)


def container(deployment: dict[str, Any], name: str = "benben") -> dict[str, Any]:
    (found,) = [
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == name
    ]
    return found


# -- lint and validity ---------------------------------------------------------------------------


@pytest.mark.parametrize("values", CI_VALUES, ids=CI_IDS)
def test_lint_strict_passes(helm, values: Path) -> None:
    result = helm("lint", "--strict", str(CHART), "-f", str(values))
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("values", CI_VALUES, ids=CI_IDS)
def test_every_rendered_object_is_valid_kubernetes(render, values: Path) -> None:
    objects = render(values.name, api_versions=API_VERSIONS)
    assert objects
    for obj in objects:
        if obj["kind"] in {"ServiceMonitor", "PodMonitor"}:  # CRDs: no bundled schema
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(
                f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}"
            )


def test_the_validator_would_catch_an_invalid_object(render) -> None:
    deployment = server(render("default-values.yaml"))
    container(deployment)["securityContext"]["readOnlyRootFileSystem"] = True  # misspelt
    with pytest.raises(kubernetes_validate.ValidationError, match="readOnlyRootFileSystem"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_chart_app_version_is_benbens_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    assert chart["appVersion"] == __version__
    assert chart["apiVersion"] == "v2"
    assert "dependencies" not in chart  # external PostgreSQL and Redis: nothing to fetch


@pytest.mark.parametrize("values", CI_VALUES, ids=CI_IDS)
def test_every_object_carries_the_backstage_id_and_standard_labels(render, values: Path) -> None:
    objects = render(values.name, api_versions=API_VERSIONS)
    expected = yaml.safe_load(values.read_text()).get("backstage", {}).get("kubernetesId", RELEASE)
    for obj in objects:
        labels = obj["metadata"]["labels"]
        assert labels["backstage.io/kubernetes-id"] == expected, obj["metadata"]["name"]
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert obj["metadata"]["namespace"] == NAMESPACE
    for name, metadata, _ in pod_specs(objects):
        assert metadata["labels"]["backstage.io/kubernetes-id"] == expected, name


# -- the server Deployment -----------------------------------------------------------------------


def test_deployment_rolls_without_losing_capacity_and_spreads(render) -> None:
    deployment = server(render("default-values.yaml"))
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    pod_labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
    spread = spec["template"]["spec"]["topologySpreadConstraints"]
    assert {c["topologyKey"] for c in spread} == {
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
    }
    for constraint in spread:
        assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"
        assert constraint["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"]


def test_deployment_serves_production_ini_with_probes_drain_and_resources(render) -> None:
    deployment = server(render("default-values.yaml"))
    benben = container(deployment)
    assert benben["image"] == f"ghcr.io/benben/benben:{__version__}"
    assert benben["command"][:4] == ["benben", "serve", "--ini", "production.ini"]
    assert benben["command"][4:] == ["--threads", "4"]
    assert benben["ports"] == [{"name": "http", "containerPort": 6543, "protocol": "TCP"}]
    for probe, path in [
        ("startupProbe", "/health/live"),
        ("livenessProbe", "/health/live"),
        ("readinessProbe", "/health/ready"),
    ]:
        assert benben[probe]["httpGet"] == {"path": path, "port": "http"}
    assert (
        benben["startupProbe"]["failureThreshold"] * benben["startupProbe"]["periodSeconds"] >= 60
    )
    sleep = benben["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep[0] == "sleep"
    assert (
        0 < int(sleep[1]) < deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    )
    assert set(benben["resources"]) == {"requests", "limits"}
    assert {"cpu", "memory"} <= set(benben["resources"]["requests"])
    assert "memory" in benben["resources"]["limits"]


@pytest.mark.parametrize("values", CI_VALUES, ids=CI_IDS)
def test_every_pod_is_hardened(render, values: Path) -> None:
    objects = render(values.name, api_versions=API_VERSIONS)
    pods = pod_specs(objects)
    assert pods
    for name, _, spec in pods:
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == 10001
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for each in spec["containers"] + spec.get("initContainers", []):
            context = each["securityContext"]
            assert context["runAsNonRoot"] is True
            assert context["runAsUser"] == 10001
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}
            for mount in each.get("volumeMounts", []):
                # Writable places are emptyDirs (/tmp, the data directory, a backup's scratch
                # space) and the backups' own volume; the files' volume is only ever read here.
                volume = volumes[mount["name"]]
                if "emptyDir" in volume:
                    assert mount["mountPath"] in {"/tmp", "/var/lib/benben", BACKUP_SCRATCH}
                elif mount["name"] == "files":
                    assert mount.get("readOnly") is True, name
                else:
                    assert mount["name"] == "backups", name
            if each["name"] in {"benben", "migrate"}:
                assert {"name": "tmp", "mountPath": "/tmp"} in each["volumeMounts"]
    for account in find(objects, "ServiceAccount"):
        assert account["automountServiceAccountToken"] is False


def test_checksums_roll_pods_exactly_when_config_or_secret_change(render) -> None:
    def checksums(*sets: str) -> dict[str, str]:
        annotations = server(render("default-values.yaml", set=sets))["spec"]["template"]
        return annotations["metadata"]["annotations"]

    base = checksums()
    assert re.fullmatch(r"[0-9a-f]{64}", base["checksum/config"])
    assert re.fullmatch(r"[0-9a-f]{64}", base["checksum/secret"])
    assert checksums() == base  # stable: the same values never roll the pods
    assert checksums("replicaCount=5") == base
    changed = checksums("settings.benben\\.ratelimit\\.default=100/minute")
    assert changed["checksum/config"] != base["checksum/config"]
    assert changed["checksum/secret"] == base["checksum/secret"]
    changed = checksums("secrets.cacheUrl=redis://other.db.svc:6379/1")
    assert changed["checksum/secret"] != base["checksum/secret"]
    assert changed["checksum/config"] == base["checksum/config"]


def test_settings_become_environment_variables_in_the_configmap(render) -> None:
    objects = render("ingress-tls-values.yaml")
    data = one(objects, "ConfigMap", FULLNAME)["data"]
    assert data == {
        "BENBEN_DATA_DIR": "/var/lib/benben",
        "BENBEN_PUBLIC_URL": "https://benben.example.org",
        "BENBEN_SECURITY_HSTS_MAX_AGE": "31536000",
        "BENBEN_SECURITY_TRUSTED_PROXIES": "10.0.0.0/8 192.168.0.0/16",
        "BENBEN_RATELIMIT_ENABLED": "true",
        # benben serve's processes and connections, from workers and the server block
        "BENBEN_SERVER_WORKERS": "1",
        "BENBEN_SERVER_CONNECTION_LIMIT": "1000",
        "BENBEN_SERVER_CHANNEL_TIMEOUT": "75",
        "BENBEN_SERVER_CLEANUP_INTERVAL": "10",
        "BENBEN_SERVER_BACKLOG": "1024",
        "BENBEN_SERVER_MAX_REQUEST_BODY_SIZE": "1090519040",
        "BENBEN_SERVER_TIMEOUT": "30",
        # the pod's grace (30 s) less the preStop sleep (10 s) less 5 s
        "BENBEN_SERVER_GRACEFUL_TIMEOUT": "15",
    }
    benben = container(server(objects))
    assert benben["envFrom"] == [
        {"configMapRef": {"name": FULLNAME}},
        {"secretRef": {"name": FULLNAME}},
    ]


@pytest.mark.parametrize("values", CI_VALUES, ids=CI_IDS)
def test_rendered_environment_is_a_valid_production_configuration(render, values: Path) -> None:
    """What a pod gets (production.ini, the ConfigMap, the Secret, extraEnv) is accepted by
    Benben's own settings parser (core's and the bundled Backstage plugin's), with no unknown
    variable."""
    from importlib.metadata import entry_points

    from benben.cli.common import read_app_settings
    from benben.config import load_settings
    from benben.core_settings import CORE_SETTINGS
    from benben.plugins.loader import discover_plugins
    from benben.serving import SERVER_SETTINGS

    plugins = discover_plugins(entry_points(group="benben.plugins", name="backstage"))
    definitions = [*CORE_SETTINGS, *(s for plugin in plugins for s in plugin.metadata.settings)]

    objects = render(values.name)
    benben = container(server(objects))
    environ: dict[str, str] = {}
    for source in benben["envFrom"]:
        if "configMapRef" in source:
            environ |= one(objects, "ConfigMap", source["configMapRef"]["name"])["data"]
        elif find(objects, "Secret", source["secretRef"]["name"]):
            environ |= one(objects, "Secret", source["secretRef"]["name"])["stringData"]
        else:  # an existing Secret: what it must hold
            environ |= {
                "BENBEN_SECRET": "".join(chr(c) for c in range(48, 123)),
                "BENBEN_DATABASE_URL": "postgresql://benben@db.svc/benben",
                "BENBEN_CACHE_URL": "redis://cache.svc:6379/0",
            }
    environ |= {env["name"]: env["value"] for env in benben.get("env", []) if "value" in env}
    # benben serve's own (benben.server.*) are read by the command, not the application.
    assert set(environ) <= {setting.env for setting in [*definitions, *SERVER_SETTINGS]}
    serving = {s.env: s for s in SERVER_SETTINGS}
    for env in set(environ) & set(serving):
        serving[env].parse(environ[env], "env")
    resolved, _ = load_settings(read_app_settings(str(ROOT / "production.ini")), environ, plugins)
    assert resolved.values["benben.environment"] == "production"
    assert resolved.values["benben.data_dir"] == "/var/lib/benben"
    assert resolved.unknown == []
    for key, value in (yaml.safe_load(values.read_text()).get("settings") or {}).items():
        parsed = resolved.values[key]
        assert (list(parsed) if isinstance(parsed, tuple) else parsed) == value, key


# -- Service, Ingress, scaling -------------------------------------------------------------------


def test_service_exposes_the_named_http_port_of_the_server_pods(render) -> None:
    objects = render("default-values.yaml")
    service = one(objects, "Service")
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]
    pod_labels = server(objects)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    for name, metadata, _ in pod_specs(objects):
        if name != FULLNAME:  # migration and test pods never receive traffic
            assert not service["spec"]["selector"].items() <= metadata["labels"].items()


def test_ingress_has_class_tls_and_routes_to_the_http_port(render) -> None:
    objects = render("ingress-tls-values.yaml")
    ingress = one(objects, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [
        {"secretName": "benben-example-org-tls", "hosts": ["benben.example.org"]}
    ]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "benben.example.org"
    (path,) = rule["http"]["paths"]
    assert path["backend"]["service"] == {"name": FULLNAME, "port": {"name": "http"}}
    assert find(render("default-values.yaml"), "Ingress") == []


def test_hpa_owns_the_replica_count_when_enabled(render) -> None:
    objects = render("hpa-values.yaml")
    assert "replicas" not in server(objects)["spec"]
    hpa = one(objects, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": FULLNAME,
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
    targets = {m["resource"]["name"]: m["resource"]["target"] for m in hpa["spec"]["metrics"]}
    assert targets == {
        "cpu": {"type": "Utilization", "averageUtilization": 65},
        "memory": {"type": "Utilization", "averageUtilization": 80},
    }
    assert find(render("default-values.yaml"), "HorizontalPodAutoscaler") == []


def test_disruption_budget_covers_the_server_pods(render) -> None:
    objects = render("default-values.yaml")
    budget = one(objects, "PodDisruptionBudget")["spec"]
    assert budget["maxUnavailable"] == 1
    pod_labels = server(objects)["spec"]["template"]["metadata"]["labels"]
    assert budget["selector"]["matchLabels"].items() <= pod_labels.items()
    percent = one(render("hpa-values.yaml"), "PodDisruptionBudget")["spec"]
    assert percent["minAvailable"] == "50%"
    assert "maxUnavailable" not in percent


def test_scheduling_values_reach_the_pod(render) -> None:
    deployment = server(render("hardened-scheduling-values.yaml"))
    spec = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 4
    assert spec["priorityClassName"] == "business-critical"
    assert spec["nodeSelector"] == {"kubernetes.io/arch": "amd64"}
    assert spec["tolerations"][0]["key"] == "dedicated"
    assert "nodeAffinity" in spec["affinity"]
    assert [c["whenUnsatisfiable"] for c in spec["topologySpreadConstraints"]] == ["DoNotSchedule"]
    assert spec["terminationGracePeriodSeconds"] == 45
    benben = container(deployment)
    assert benben["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "15"]
    assert benben["command"][-2:] == ["--threads", "6"]
    metadata = deployment["spec"]["template"]["metadata"]
    assert metadata["annotations"]["example.org/team"] == "platform"
    assert metadata["labels"]["example.org/tier"] == "api"
