"""The chart's `files` block (the files plugin's storage, docs/files.md): by default nothing (the
plugin's own default, the pod's data directory); `local` with persistence: one claim, mounted by
the servers and the workers only, its path given only to them; `s3`: the bucket in the
ConfigMap, the keys from a Secret you manage; settings the block owns refused in `settings`;
uploads fit waitress's body limit; NOTES.txt warns about what loses or refuses attachments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from chart_support import CHART, NAMESPACE, RELEASE, FakeCluster, find, one

from benben.serving import SERVER_SETTINGS
from benben_files.settings import SETTINGS as FILES_SETTINGS

FULLNAME = f"{RELEASE}-benben"
WORKER, SCHEDULER, CLAIM = f"{FULLNAME}-worker", f"{FULLNAME}-scheduler", f"{FULLNAME}-files"
MOUNT = "/var/lib/benben-files"
DEFAULT = str(CHART / "ci" / "default-values.yaml")
LOCAL = {"files": {"storage": "local", "local": {"persistence": {"enabled": True}}}}
S3 = {
    "files": {
        "storage": "s3",
        "s3": {
            "bucket": "shop-attachments",
            "endpointUrl": "http://minio.storage.svc:9000",
            "region": "eu-west-3",
            "prefix": "benben/",
            "addressingStyle": "path",
            "presignedDownloads": True,
            "presignedExpiry": 120,
            "credentials": {"existingSecret": "shop-s3"},
        },
    }
}


@pytest.fixture
def values(tmp_path: Path):
    """``values(mapping)``: a values file holding ``mapping``, for ``render``."""

    def write(mapping: dict[str, Any]) -> Path:
        path = tmp_path / f"values-{len(list(tmp_path.iterdir()))}.yaml"
        path.write_text(yaml.safe_dump(mapping))
        return path

    return write


def pod(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]


def env(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = pod(deployment)["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def mounts(spec: dict[str, Any]) -> dict[str, str]:
    found = {}
    for container in spec["containers"] + spec.get("initContainers", []):
        for mount in container.get("volumeMounts", []):
            found[f"{container['name']}:{mount['mountPath']}"] = mount["name"]
    return found


def pod_specs(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: pod(o) for o in objects if o["kind"] in {"Deployment", "Job"}}


def files_variables(objects: list[dict[str, Any]]) -> dict[str, str]:
    data = one(objects, "ConfigMap", FULLNAME)["data"]
    return {k: v for k, v in data.items() if k.startswith("BENBEN_FILES_")}


def validate(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        if obj["kind"] not in {"ServiceMonitor", "PodMonitor"}:
            kubernetes_validate.validate(obj, "1.30", strict=True)


def test_by_default_the_chart_leaves_the_plugin_its_own_default(render) -> None:
    objects = render("default-values.yaml")
    assert find(objects, "PersistentVolumeClaim") == []
    assert files_variables(objects) == {}
    for name, spec in pod_specs(objects).items():
        assert "files" not in mounts(spec).values(), name
        for container in spec["containers"]:
            assert not any(e["name"].startswith("BENBEN_FILES_") for e in container.get("env", []))


def test_local_storage_mounts_one_shared_claim_in_servers_and_workers(render, values) -> None:
    objects = render(DEFAULT, values(LOCAL))
    validate(objects)
    claim = one(objects, "PersistentVolumeClaim", CLAIM)
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert "storageClassName" not in claim["spec"]  # the cluster's default class
    # An uninstall never takes the attachments with it.
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    specs = pod_specs(objects)
    for name in (FULLNAME, WORKER):
        spec = specs[name]
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["files"] == {"name": "files", "persistentVolumeClaim": {"claimName": CLAIM}}
        container = "benben" if name == FULLNAME else "worker"
        assert mounts(spec)[f"{container}:{MOUNT}"] == "files"
        assert env(one(objects, "Deployment", name))["BENBEN_FILES_LOCAL_PATH"] == MOUNT
        # Hardened as ever: the volume is the only writable place besides the emptyDirs.
        for each in spec["containers"]:
            assert each["securityContext"]["readOnlyRootFilesystem"] is True
    # The path is no ConfigMap setting: the scheduler and the migration Job start the app too,
    # without the volume (a pre-install hook runs before the claim exists).
    assert files_variables(objects) == {}
    for name in (SCHEDULER, f"{FULLNAME}-migrate"):
        assert "files" not in mounts(specs[name]).values(), name
        assert "files" not in {v["name"] for v in specs[name]["volumes"]}, name


def test_the_claim_can_be_yours_or_bound_by_hand(render, values) -> None:
    existing = {"files": {"local": {"persistence": {"enabled": True, "existingClaim": "mine"}}}}
    objects = render(DEFAULT, values(existing))
    assert find(objects, "PersistentVolumeClaim") == []
    for name in (FULLNAME, WORKER):
        (volume,) = [
            v for v in pod(one(objects, "Deployment", name))["volumes"] if v["name"] == "files"
        ]
        assert volume["persistentVolumeClaim"] == {"claimName": "mine"}
    by_hand = {
        "files": {
            "local": {
                "mountPath": "/srv/files",
                "persistence": {
                    "enabled": True,
                    "storageClass": "-",
                    "accessModes": ["ReadWriteOnce"],
                    "size": "200Gi",
                    "keep": False,
                    "annotations": {"backup.example.org/include": "true"},
                },
            }
        }
    }
    objects = render(DEFAULT, values(by_hand))
    validate(objects)
    claim = one(objects, "PersistentVolumeClaim", CLAIM)
    assert claim["spec"]["storageClassName"] == ""
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "200Gi"
    assert claim["metadata"]["annotations"] == {"backup.example.org/include": "true"}
    assert env(one(objects, "Deployment", FULLNAME))["BENBEN_FILES_LOCAL_PATH"] == "/srv/files"


def test_without_workers_the_servers_alone_mount_the_volume(render, values) -> None:
    objects = render(DEFAULT, values({**LOCAL, "worker": {"enabled": False}}))
    assert [d["metadata"]["name"] for d in find(objects, "Deployment")] == [FULLNAME]
    assert mounts(pod(one(objects, "Deployment", FULLNAME)))[f"benben:{MOUNT}"] == "files"


def test_s3_storage_configures_the_bucket_and_takes_keys_from_your_secret(render, values) -> None:
    # A persistence left on is ignored: the bytes go to the bucket.
    objects = render(
        DEFAULT, values({**S3, "files": {**S3["files"], **LOCAL["files"], "storage": "s3"}})
    )
    validate(objects)
    assert find(objects, "PersistentVolumeClaim") == []
    assert files_variables(objects) == {
        "BENBEN_FILES_STORAGE": "s3",
        "BENBEN_FILES_S3_BUCKET": "shop-attachments",
        "BENBEN_FILES_S3_ENDPOINT_URL": "http://minio.storage.svc:9000",
        "BENBEN_FILES_S3_REGION": "eu-west-3",
        "BENBEN_FILES_S3_PREFIX": "benben/",
        "BENBEN_FILES_S3_ADDRESSING_STYLE": "path",
        "BENBEN_FILES_PRESIGNED_DOWNLOADS": "true",
        "BENBEN_FILES_PRESIGNED_EXPIRY": "120",
    }
    # Every variable is a setting the plugin declares.
    declared = {s.name.removeprefix("benben.").replace(".", "_").upper() for s in FILES_SETTINGS}
    assert {k.removeprefix("BENBEN_") for k in files_variables(objects)} <= declared
    for name in (FULLNAME, WORKER):
        variables = env(one(objects, "Deployment", name))
        assert variables["BENBEN_FILES_S3_ACCESS_KEY_ID"] == {
            "secretKeyRef": {"name": "shop-s3", "key": "accessKeyId"}
        }
        assert variables["BENBEN_FILES_S3_SECRET_ACCESS_KEY"] == {
            "secretKeyRef": {"name": "shop-s3", "key": "secretAccessKey"}
        }
        assert "BENBEN_FILES_LOCAL_PATH" not in variables
    assert "BENBEN_FILES_S3_ACCESS_KEY_ID" not in env(one(objects, "Deployment", SCHEDULER))
    # Without a Secret: the SDK's chain (a role for the service account), no key at all.
    role = {"files": {"storage": "s3", "s3": {"bucket": "bucket-1"}}}
    objects = render(DEFAULT, values(role))
    assert not any(k.startswith("BENBEN_FILES") for k in env(one(objects, "Deployment", FULLNAME)))
    assert files_variables(objects)["BENBEN_FILES_S3_ADDRESSING_STYLE"] == "auto"
    assert "BENBEN_FILES_S3_ENDPOINT_URL" not in files_variables(objects)


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (("files.storage=s3",), "files.s3.bucket is required with files.storage=s3"),
        (
            ("settings.benben\\.files\\.storage=s3",),
            "settings.benben.files.storage: set it in the values' files.storage",
        ),
        (
            ("settings.benben\\.files\\.s3\\.secret_access_key=x",),
            "files.s3.credentials (a Secret, never the ConfigMap)",
        ),
        (
            ("settings.benben\\.server\\.max_request_body_size=5",),
            "set it in the values' workers, or their server block",
        ),
        (("files.storage=gcs",), "files.storage must be one of the following"),
        (("files.s3.addressingStyle=dns",), "addressingStyle must be one of the following"),
        (("files.local.mountPath=/tmp",), "files.local.mountPath: Must not validate the schema"),
        (("files.local.persistence.accessModes[0]=ReadOnlyMany",), "accessModes.0"),
        (("files.local.persistence.size=lots",), "size: Does not match pattern"),
        (("files.s3.bucket=Not_A_Bucket",), "files.s3.bucket: Does not match pattern"),
        (("files.volume=x",), "Additional property volume is not allowed"),
    ],
)
def test_the_chart_refuses_what_it_cannot_honour(helm, sets: tuple[str, ...], message: str) -> None:
    args = ["template", RELEASE, str(CHART), "-f", DEFAULT]
    for assignment in sets:
        args += ["--set", assignment]
    result = helm(*args, check=False)
    assert result.returncode == 1
    assert message in result.stderr


def test_lint_passes_with_each_storage(helm, values) -> None:
    for mapping in (LOCAL, S3):
        result = helm("lint", "--strict", str(CHART), "-f", DEFAULT, "-f", str(values(mapping)))
        assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


def test_servers_accept_bodies_as_large_as_the_largest_attachment(render, values) -> None:
    setting = {s.name: s for s in SERVER_SETTINGS}["benben.server.max_request_body_size"]
    default_file = {s.name: s for s in FILES_SETTINGS}["benben.files.max_file_size"].default
    chart = yaml.safe_load((CHART / "values.yaml").read_text())["server"]["maxRequestBodySize"]
    # The chart says what `benben serve` says, which leaves room for the framing of a 1 GiB file.
    assert chart == setting.default >= max(default_file, 1 << 30) + (1 << 20)
    config = one(render("default-values.yaml"), "ConfigMap", FULLNAME)["data"]
    assert config["BENBEN_SERVER_MAX_REQUEST_BODY_SIZE"] == str(chart)
    larger = values({"server": {"maxRequestBodySize": 5 * (1 << 30)}})
    config = one(render(DEFAULT, larger), "ConfigMap", FULLNAME)["data"]
    assert config["BENBEN_SERVER_MAX_REQUEST_BODY_SIZE"] == "5368709120"


def notes(helm, tmp_path: Path, *files: Path, sets: tuple[str, ...] = ()) -> str:
    args = ["install", RELEASE, str(CHART), "--namespace", NAMESPACE, "-f", DEFAULT]
    for path in files:
        args += ["-f", str(path)]
    for assignment in sets:
        args += ["--set", assignment]
    args += ["--dry-run=server", "--disable-openapi-validation"]
    tmp_path.mkdir()
    with FakeCluster(tmp_path) as cluster:
        result = helm(*args, kubeconfig=cluster.kubeconfig)
    return result.stdout.split("\nNOTES:\n", 1)[1]


def test_notes_warn_about_what_loses_or_refuses_attachments(helm, tmp_path, values) -> None:
    text = notes(helm, tmp_path / "a")
    assert "WARNING: attachments are kept in each pod's data directory" in text
    # 256Mi of /tmp holds two uploads of 100 MiB: no warning about it by default.
    assert "tmpSizeLimit" not in text
    # A claim of yours (the fake cluster knows no PersistentVolumeClaim kind to create).
    mine = {"enabled": True, "existingClaim": "mine"}
    text = notes(helm, tmp_path / "b", values({"files": {"local": {"persistence": mine}}}))
    assert f"Attachments: volume claim mine (ReadWriteMany) at {MOUNT}" in text
    assert "WARNING" not in text
    once = {"files": {"local": {"persistence": {**mine, "accessModes": ["ReadWriteOnce"]}}}}
    assert "without ReadWriteMany" in notes(helm, tmp_path / "c", values(once))
    text = notes(helm, tmp_path / "d", values(S3))
    assert "Attachments: bucket shop-attachments at http://minio.storage.svc:9000" in text
    big = {
        "settings": {"benben.files.max_file_size": 1 << 30},
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "100m"},
        },
    }
    text = notes(helm, tmp_path / "e", values(S3), values(big))
    assert "tmpSizeLimit (256Mi) holds fewer than two uploads" in text
    assert "proxy-body-size (100m) is below benben.files.max_file_size (1073741824" in text
    fits = {**big, "settings": {}, "ingress": {**big["ingress"], "annotations": {}}}
    text = notes(helm, tmp_path / "f", values(S3), values(fits))
    assert "ingress-nginx limits bodies to 1m" in text
    fits["ingress"]["annotations"] = {"nginx.ingress.kubernetes.io/proxy-body-size": "101m"}
    assert "WARNING" not in notes(helm, tmp_path / "g", values(S3), values(fits))
