"""values.schema.json refuses what the chart cannot honour; secrets are never made up per render;
migrations run once before a rollout, as a hook or, for GitOps, as an init container."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from chart_support import CHART, RELEASE, find, is_hook, one

FULLNAME = f"{RELEASE}-benben"
SCHEMA = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
# Kubernetes objects passed through as they are; the API server checks them, and the rendered
# objects are validated against Kubernetes' schemas in test_deploy_helm_chart.py.
PASS_THROUGH = {
    "affinity",
    "tolerations[]",
    "topologySpreadConstraints[]",
    "extraEnv[]",
    "networkPolicy.ingressFrom[]",
    "networkPolicy.egress.to[]",
}


def _object_schemas(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if schema.get("type") == "object":
        found.append((path, schema))
    for name, child in schema.get("properties", {}).items():
        found += _object_schemas(child, f"{path}.{name}" if path else name)
    if isinstance(schema.get("items"), dict):
        found += _object_schemas(schema["items"], f"{path}[]")
    return found


def test_schema_closes_every_object_of_the_chart_s_own_values() -> None:
    checked = 0
    for path, schema in _object_schemas(SCHEMA):
        if path in PASS_THROUGH:
            continue
        extra = schema.get("additionalProperties")
        # Closed (false), or a map whose every value has a declared type (labels, settings).
        assert extra is False or (isinstance(extra, dict) and "type" in extra), path or "(root)"
        checked += 1
    assert checked > 25


def test_schema_keeps_every_secret_setting_out_of_the_configmap() -> None:
    from benben.core_settings import CORE_SETTINGS
    from benben_backstage.settings import SETTINGS as BACKSTAGE_SETTINGS

    refused = set(SCHEMA["properties"]["settings"]["propertyNames"]["not"]["enum"])
    # Core's and those of the plugin Benben bundles (the Backstage token: backstage.token).
    settings = [*CORE_SETTINGS, *BACKSTAGE_SETTINGS]
    assert refused == {setting.name for setting in settings if setting.secret}


def test_default_values_file_documents_exactly_the_schema() -> None:
    defaults = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    assert set(defaults) == set(SCHEMA["properties"])


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("replicaCount=two", "replicaCount: Invalid type. Expected: integer, given: string"),
        ("replicaCount=1", "replicaCount: Must be greater than or equal to 2"),
        ("replicas=3", "Additional property replicas is not allowed"),
        ("image.tags=latest", "image: Additional property tags is not allowed"),
        ("probes.readiness.path=/x", "probes.readiness: Additional property path is not allowed"),
        ("ingress.enabled=yes", "ingress.enabled: Invalid type. Expected: boolean"),
        ("service.type=Ingress", "service.type: service.type must be one of the following"),
        ("securityContext.runAsUser=0", "securityContext.runAsUser: Must be greater than or equal"),
        ("secrets.secret=too-short", "secrets.secret: Does not match pattern"),
        ("secrets.databaseUrl=mysql://db/benben", "secrets.databaseUrl: Does not match pattern"),
        (
            "settings.benben\\.database\\.url=postgresql://x",
            'Property name of "benben.database.url"',
        ),
        ("settings.pool_size=3", 'Property name of "pool_size" does not match'),
        ("metrics.serviceMonitor.interval=soon", "interval: Does not match pattern"),
        ("resources.requests.gpu=1", "Additional property gpu is not allowed"),
    ],
)
def test_schema_rejects_wrong_types_and_unknown_keys(helm, assignment: str, message: str) -> None:
    result = helm(
        "template", RELEASE, str(CHART), "-f", str(CHART / "ci" / "default-values.yaml"),
        "--set", assignment, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ((), "secrets.secret is required (or secrets.existingSecret"),
        (("secrets.secret=" + "k" * 20 + "".join(map(chr, range(65, 115))),),
         "secrets.databaseUrl is required"),
        (("secrets.existingSecret=creds", "secrets.databaseUrl=postgresql://db/b"),
         "secrets.existingSecret is set: leave secrets.secret, databaseUrl"),
        (("secrets.existingSecret=creds", "secrets.brokerUrl=redis://r/1"),
         "secrets.existingSecret is set: leave secrets.secret, databaseUrl, cacheUrl, brokerUrl"),
        (("secrets.secret=" + "k" * 64, "secrets.databaseUrl=postgresql://db/b",
          "secrets.cacheUrl=redis://r/0", "secrets.brokerUrl=redis://r/1", "worker.enabled=false"),
         "secrets.brokerUrl is set but worker.enabled is false"),
        (("secrets.existingSecret=creds", "preStopSleepSeconds=30"),
         "preStopSleepSeconds must be below terminationGracePeriodSeconds"),
        (("secrets.existingSecret=creds", "autoscaling.enabled=true", "autoscaling.minReplicas=9",
          "autoscaling.maxReplicas=3"), "minReplicas must not exceed autoscaling.maxReplicas"),
    ],
)  # fmt: skip
def test_render_fails_with_a_message_naming_the_value(helm, sets, message: str) -> None:
    args = ["template", RELEASE, str(CHART)]
    for assignment in sets:
        args += ["--set", assignment]
    result = helm(*args, check=False)
    assert result.returncode == 1
    assert message in result.stderr


# -- secrets -------------------------------------------------------------------------------------


def test_chart_secret_holds_exactly_the_given_credentials(render) -> None:
    objects = render("default-values.yaml")
    values = yaml.safe_load((CHART / "ci" / "default-values.yaml").read_text())["secrets"]
    secret = one(objects, "Secret", FULLNAME)
    assert secret["stringData"] == {
        "BENBEN_SECRET": values["secret"],
        "BENBEN_DATABASE_URL": values["databaseUrl"],
        "BENBEN_CACHE_URL": values["cacheUrl"],
        # With workers and no secrets.brokerUrl: the cache's Redis, database 1.
        "BENBEN_WORKER_BROKER_URL": values["cacheUrl"].removesuffix("/0") + "/1",
    }
    assert "data" not in secret


def test_renders_without_a_cluster_never_invent_a_secret(render) -> None:
    # Two renders of the same values give the same Secret: nothing random unless asked for.
    assert one(render("default-values.yaml"), "Secret", FULLNAME) == one(
        render("default-values.yaml", set=("threads=4",)), "Secret", FULLNAME
    )


def test_generated_secret_is_one_value_shared_by_every_object_of_the_render(render) -> None:
    values = yaml.safe_load((CHART / "ci" / "default-values.yaml").read_text())["secrets"]
    objects = render(
        set=(
            "secrets.generateSecret=true",
            f"secrets.databaseUrl={values['databaseUrl']}",
            f"secrets.cacheUrl={values['cacheUrl']}",
        )
    )
    secrets = find(objects, "Secret")
    assert {s["metadata"]["name"] for s in secrets} == {FULLNAME, f"{FULLNAME}-migrate"}
    generated = {s["stringData"]["BENBEN_SECRET"] for s in secrets}
    (value,) = generated  # the release's Secret and the migration hook's copy agree
    assert len(value) >= 64
    assert len(set(value)) >= 16


def test_existing_secret_replaces_the_chart_s_secret_everywhere(render) -> None:
    objects = render("existing-secret-values.yaml")
    assert find(objects, "Secret") == []
    deployment = one(objects, "Deployment", FULLNAME)
    (benben,) = deployment["spec"]["template"]["spec"]["containers"]
    assert {"secretRef": {"name": "benben-credentials"}} in benben["envFrom"]
    job = one(objects, "Job")
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    assert {"secretRef": {"name": "benben-credentials"}} in migrate["envFrom"]
    assert benben["image"] == (
        "registry.example.org/platform/benben@sha256:"
        "4f8d7c0b1e2a3d4c5b6a79880f1e2d3c4b5a69788f0e1d2c3b4a5968778e9f0a"
    )
    spec = deployment["spec"]["template"]["spec"]
    assert spec["imagePullSecrets"] == [{"name": "registry-credentials"}]
    assert spec["serviceAccountName"] == "benben-runtime"
    assert find(objects, "ServiceAccount") == []


# -- migrations ----------------------------------------------------------------------------------


def test_migrations_run_as_a_pre_install_pre_upgrade_hook_with_their_own_inputs(render) -> None:
    objects = render("default-values.yaml")
    job = one(objects, "Job")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    # The chart's ServiceAccount does not exist yet before an install.
    assert "serviceAccountName" not in pod
    (migrate,) = pod["containers"]
    assert migrate["command"] == ["benben", "migrate", "--ini", "production.ini"]
    # Before install the release's ConfigMap and Secret do not exist either: the Job reads hook
    # copies made just before it (a lower weight) with the same content.
    refs = [next(iter(ref.values()))["name"] for ref in migrate["envFrom"]]
    assert refs == [f"{FULLNAME}-migrate", f"{FULLNAME}-migrate"]
    for kind in ("ConfigMap", "Secret"):
        copy = one(objects, kind, f"{FULLNAME}-migrate")
        original = one(objects, kind, FULLNAME)
        assert copy["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        weight = int(copy["metadata"]["annotations"]["helm.sh/hook-weight"])
        assert weight < int(annotations["helm.sh/hook-weight"])
        field = "data" if kind == "ConfigMap" else "stringData"
        assert copy[field] == original[field]
        assert not is_hook(original)
    for deployment in find(objects, "Deployment"):
        assert "initContainers" not in deployment["spec"]["template"]["spec"]


def test_without_hooks_every_pod_migrates_first_in_an_init_container(render) -> None:
    objects = render("gitops-values.yaml")
    assert find(objects, "Job") == []
    assert [o for o in objects if is_hook(o) and o["kind"] != "Pod"] == []  # only helm test
    extra = [{"name": "BENBEN_LOGGING_LEVEL", "value": "warning"}]
    deployments = find(objects, "Deployment")
    assert len(deployments) == 3  # the servers, the workers and the scheduler
    for deployment in deployments:
        spec = deployment["spec"]["template"]["spec"]
        (init,) = spec["initContainers"]
        (container,) = spec["containers"]
        assert init["command"] == ["benben", "migrate", "--ini", "production.ini"]
        assert init["image"] == container["image"]
        assert init["envFrom"] == container["envFrom"]
        assert init["env"] == extra
        assert container["env"][-1:] == extra  # extraEnv last: it wins


def test_migrations_disabled_render_no_migration_at_all(render) -> None:
    objects = render("hardened-scheduling-values.yaml")
    assert find(objects, "Job") == []
    for deployment in find(objects, "Deployment"):
        assert "initContainers" not in deployment["spec"]["template"]["spec"]
