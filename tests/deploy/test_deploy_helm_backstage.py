"""The chart's Backstage registration (backstage.enabled): hook Jobs that register the instance
after every install and upgrade and unregister it before deletion, with the servers' image,
environment and hardening; the instance advertises the release's kubernetes-id label and its
public URL; without hooks (GitOps) the servers register themselves; nothing of it by default."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from chart_support import CHART, NAMESPACE, RELEASE, FakeCluster, Objects, find, is_hook, one
from deploy_tools import ROOT

FULLNAME = f"{RELEASE}-benben"
VALUES = "backstage-values.yaml"
GIVEN = yaml.safe_load((CHART / "ci" / VALUES).read_text(encoding="utf-8"))
TOKEN_SECRET = f"{FULLNAME}-backstage"
TOKEN_ENV = {
    "name": "BENBEN_BACKSTAGE_TOKEN",
    "valueFrom": {"secretKeyRef": {"name": TOKEN_SECRET, "key": "token"}},
}
EXISTING_TOKEN = (
    "backstage.token.existingSecret=backstage-api",
    "backstage.token.key=catalog-token",
    "backstage.token.value=",
)
NO_HOOKS = ("migrations.hook=false",)


def job(objects: Objects, action: str) -> dict[str, Any]:
    return one(objects, "Job", f"{FULLNAME}-{action}")


def pod(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]


def only_container(obj: dict[str, Any]) -> dict[str, Any]:
    (found,) = pod(obj)["containers"]
    return found


def server(objects: Objects) -> dict[str, Any]:
    return one(objects, "Deployment", FULLNAME)


def environment(objects: Objects, container: dict[str, Any]) -> dict[str, str]:
    """What a container of the render gets, its Secret references resolved in the render."""
    environ: dict[str, str] = {}
    for source in container["envFrom"]:
        if "configMapRef" in source:
            environ |= one(objects, "ConfigMap", source["configMapRef"]["name"])["data"]
        else:
            environ |= one(objects, "Secret", source["secretRef"]["name"])["stringData"]
    for env in container.get("env", []):
        if "value" in env:
            environ[env["name"]] = env["value"]
        else:
            ref = env["valueFrom"]["secretKeyRef"]
            environ[env["name"]] = one(objects, "Secret", ref["name"])["stringData"][ref["key"]]
    return environ


def validate(objects: Objects) -> None:
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, "1.30", strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} {list(exc.path)}")


# -- the hook Jobs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "hook"),
    [("register", "post-install,post-upgrade"), ("unregister", "pre-delete")],
)
def test_hook_job_runs_the_command_as_the_servers_run(render, action: str, hook: str) -> None:
    objects = render(VALUES)
    found = job(objects, action)
    assert found["metadata"]["annotations"] == {
        "helm.sh/hook": hook,
        "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded",
    }
    assert (found["spec"]["backoffLimit"], found["spec"]["activeDeadlineSeconds"]) == (3, 240)
    spec, benben = pod(found), only_container(found)
    assert benben["command"] == ["benben", "backstage", action, "--ini", "production.ini"]
    assert spec["restartPolicy"] == "Never"
    # Post-install and pre-delete: the release's objects exist, so the Job reads the very
    # ConfigMap, Secret and ServiceAccount of the servers (no hook copies, unlike migrations).
    served, serving = pod(server(objects)), only_container(server(objects))
    assert benben["image"] == serving["image"]
    assert benben["envFrom"] == serving["envFrom"]
    assert benben["env"] == [TOKEN_ENV, *GIVEN["extraEnv"]]
    assert spec["serviceAccountName"] == served["serviceAccountName"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"] == served["securityContext"]
    assert benben["securityContext"] == serving["securityContext"]
    assert benben["securityContext"]["readOnlyRootFilesystem"] is True
    assert benben["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert benben["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert spec["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]
    for labels in (found["metadata"]["labels"], found["spec"]["template"]["metadata"]["labels"]):
        assert labels["backstage.io/kubernetes-id"] == GIVEN["backstage"]["kubernetesId"]
        assert labels["app.kubernetes.io/component"] == "backstage"
    # Never behind the Service.
    selector = one(objects, "Service")["spec"]["selector"]
    assert not selector.items() <= found["spec"]["template"]["metadata"]["labels"].items()


def test_the_token_reaches_only_the_jobs_from_a_secret_of_its_own(render) -> None:
    objects = render(VALUES)
    secret = one(objects, "Secret", TOKEN_SECRET)
    assert not is_hook(secret)  # a release object: there at post-install and at pre-delete
    assert secret["stringData"] == {"token": GIVEN["backstage"]["token"]["value"]}
    # Not in the ConfigMap, nor in the chart's Secret every pod reads, nor in the servers.
    assert "BENBEN_BACKSTAGE_TOKEN" not in one(objects, "ConfigMap", FULLNAME)["data"]
    assert "BENBEN_BACKSTAGE_TOKEN" not in one(objects, "Secret", FULLNAME)["stringData"]
    assert only_container(server(objects))["env"] == GIVEN["extraEnv"]


def test_the_jobs_register_the_instance_s_public_url_under_the_release_s_label(render) -> None:
    """The Job's environment, read by Benben with the plugin: the catalog-info URL Backstage is
    given is the public URL's, and the kubernetes-id the entities carry is the objects' label."""
    from benben.cli.common import read_app_settings
    from benben.config import configure
    from benben_backstage.entities import SETTINGS_KEY, catalog_info_url

    objects = render(VALUES)
    environ = environment(objects, only_container(job(objects, "register")))
    plugin = entry_points(group="benben.plugins", name="backstage")
    config = configure(
        read_app_settings(str(ROOT / "production.ini")), environ=environ, entry_points=plugin
    )
    settings = config.registry[SETTINGS_KEY]
    assert catalog_info_url(config.registry) == (
        f"{GIVEN['settings']['benben.public_url']}/backstage/catalog-info.yaml"
    )
    label = server(objects)["spec"]["template"]["metadata"]["labels"]["backstage.io/kubernetes-id"]
    assert settings.kubernetes_id == label == GIVEN["backstage"]["kubernetesId"]
    given = GIVEN["backstage"]
    assert settings.url == given["url"]
    assert settings.token == given["token"]["value"]
    assert (settings.name, settings.owner, settings.system, settings.lifecycle) == (
        given["name"], given["owner"], given["system"], given["lifecycle"],
    )  # fmt: skip
    assert settings.tags == ("benben", "data")  # other benben.backstage.* come from `settings`
    assert settings.register_on_startup is False  # the hook registers, not every server


def test_the_release_name_is_the_advertised_id_when_none_is_given(render) -> None:
    objects = render(VALUES, set=("backstage.kubernetesId=", "backstage.name="))
    data = one(objects, "ConfigMap", FULLNAME)["data"]
    assert data["BENBEN_BACKSTAGE_KUBERNETES_ID"] == RELEASE
    assert job(objects, "register")["metadata"]["labels"]["backstage.io/kubernetes-id"] == RELEASE
    # Empty entity fields keep the plugin's defaults: not set at all.
    assert "BENBEN_BACKSTAGE_NAME" not in data


def test_a_token_in_a_secret_you_manage_is_referenced_by_name_and_key(render) -> None:
    objects = render(VALUES, set=EXISTING_TOKEN)
    assert find(objects, "Secret", TOKEN_SECRET) == []
    expected = {"secretKeyRef": {"name": "backstage-api", "key": "catalog-token"}}
    for action in ("register", "unregister"):
        (token,) = [e for e in only_container(job(objects, action))["env"] if "valueFrom" in e]
        assert token == {"name": "BENBEN_BACKSTAGE_TOKEN", "valueFrom": expected}
    validate(objects)


def test_without_a_token_requests_carry_none(render) -> None:
    objects = render(VALUES, set=("backstage.token.value=",))
    assert find(objects, "Secret", TOKEN_SECRET) == []
    assert only_container(job(objects, "register"))["env"] == GIVEN["extraEnv"]


def test_an_upgrade_without_the_token_keeps_the_stored_one(helm, tmp_path: Path) -> None:
    with FakeCluster(tmp_path) as cluster:
        cluster.put_secret(NAMESPACE, TOKEN_SECRET, {"token": "stored-token-0123456789"})
        output = helm(
            "template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--dry-run=server",
            "-f", str(CHART / "ci" / VALUES), "--set", "backstage.token.value=",
            kubeconfig=cluster.kubeconfig,
        ).stdout  # fmt: skip
    objects = [doc for doc in yaml.safe_load_all(output) if doc]
    assert one(objects, "Secret", TOKEN_SECRET)["stringData"] == {
        "token": "stored-token-0123456789"
    }
    assert TOKEN_ENV in only_container(job(objects, "register"))["env"]


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        ((), f"Job {FULLNAME}-register registers it after every install and upgrade"),
        (NO_HOOKS, "Every server registers it when it starts"),
    ],
)
def test_notes_tell_where_backstage_reads_the_instance(
    helm, tmp_path: Path, sets: tuple[str, ...], expected: str
) -> None:
    args = ["install", RELEASE, str(CHART), "--namespace", NAMESPACE]
    args += ["-f", str(CHART / "ci" / VALUES)]
    for assignment in sets:
        args += ["--set", assignment]
    args += ["--dry-run=server", "--disable-openapi-validation"]
    with FakeCluster(tmp_path) as cluster:
        result = helm(*args, kubeconfig=cluster.kubeconfig)
    notes = result.stdout.split("\nNOTES:\n", 1)[1]
    assert (
        "Backstage at https://backstage.example.org reads "
        "https://data.example.org/backstage/catalog-info.yaml." in notes
    )
    assert expected in notes


# -- without hooks, and by default ---------------------------------------------------------------


def test_without_hooks_every_server_registers_itself(render) -> None:
    objects = render(VALUES, set=NO_HOOKS)
    assert find(objects, "Job") == []
    assert [o["kind"] for o in objects if is_hook(o)] == ["Pod"]  # only helm test
    assert one(objects, "ConfigMap", FULLNAME)["data"]["BENBEN_BACKSTAGE_REGISTER_ON_STARTUP"] == (
        "true"
    )
    spec = pod(server(objects))
    (benben,) = spec["containers"]
    assert benben["env"] == [TOKEN_ENV, *GIVEN["extraEnv"]]
    (init,) = spec["initContainers"]  # migrations: they never call Backstage
    assert TOKEN_ENV not in init.get("env", [])
    validate(objects)


def test_nothing_of_backstage_renders_by_default(render) -> None:
    defaults = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    assert defaults["backstage"]["enabled"] is False
    objects = render("default-values.yaml")
    assert [o["metadata"]["name"] for o in find(objects, "Job")] == [f"{FULLNAME}-migrate"]
    assert find(objects, "Secret", TOKEN_SECRET) == []
    for obj in objects:
        assert obj["metadata"]["labels"].get("app.kubernetes.io/component") != "backstage"
    for configmap in find(objects, "ConfigMap"):
        assert not [k for k in configmap["data"] if k.startswith("BENBEN_BACKSTAGE_")]
    assert "env" not in only_container(server(objects))
    # Only the label stays: Backstage's Kubernetes plugin may find any release.
    assert server(objects)["metadata"]["labels"]["backstage.io/kubernetes-id"] == RELEASE


# -- refused values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("backstage.enabled=yes", "backstage.enabled: Invalid type. Expected: boolean"),
        ("backstage.backoffLimit=soon", "backstage.backoffLimit: Invalid type. Expected: integer"),
        ("backstage.tokens.value=x", "backstage: Additional property tokens is not allowed"),
        ("backstage.token.secret=x", "backstage.token: Additional property secret is not allowed"),
        ("backstage.url=ftp://backstage", "backstage.url: Does not match pattern"),
        ("backstage.owner=a/b/c", "backstage.owner: Does not match pattern"),
        ("backstage.name=-x-", "backstage.name: Does not match pattern"),
        ("backstage.resources.requests.gpu=1", "Additional property gpu is not allowed"),
        ("settings.benben\\.backstage\\.token=t", 'Property name of "benben.backstage.token"'),
    ],
)
def test_schema_rejects_wrong_types_and_unknown_keys(helm, assignment: str, message: str) -> None:
    result = helm(
        "template", RELEASE, str(CHART), "-f", str(CHART / "ci" / VALUES),
        "--set", assignment, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (("backstage.url=",), "backstage.url is required with backstage.enabled"),
        (("settings.benben\\.public_url=",), "backstage.enabled needs settings.benben.public_url"),
        (("backstage.token.existingSecret=api",), "backstage.token: set existingSecret (and key)"),
        (("settings.benben\\.backstage\\.kubernetes_id=other",),
         "settings.benben.backstage.kubernetes_id: the backstage block sets it"),
        (("settings.benben\\.plugins\\.disabled={metrics,backstage}",),
         "settings.benben.plugins.disabled lists the backstage plugin"),
    ],
)  # fmt: skip
def test_render_fails_with_a_message_naming_the_value(helm, sets, message: str) -> None:
    args = ["template", RELEASE, str(CHART), "-f", str(CHART / "ci" / VALUES)]
    for assignment in sets:
        args += ["--set", assignment]
    result = helm(*args, check=False)
    assert result.returncode == 1
    assert message in result.stderr
