"""The chart's `backup` block (docs/backups.md): nothing by default; a CronJob running `benben
backup` (one at a time, a deadline, its own volume or a bucket, the files volume read-only); or
the worker's route (the settings in the ConfigMap, the volume and scratch space in the pods that
run tasks, never the scheduler's); never both; the settings the block owns refused elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from chart_support import CHART, RELEASE, find, one

from benben.core_settings.backup import BACKUP_SETTINGS
from benben.settings import resolve_settings

FULLNAME = f"{RELEASE}-benben"
CRONJOB, CLAIM = f"{FULLNAME}-backup", f"{FULLNAME}-backups"
WORKER, SCHEDULER = f"{FULLNAME}-worker", f"{FULLNAME}-scheduler"
DEFAULT = str(CHART / "ci" / "default-values.yaml")
OUTPUT = "/var/lib/benben-backups"
SCRATCH = "/var/tmp/benben-backup"
CRON = {"backup": {"cronjob": {"enabled": True}}}
S3 = {
    "output": "s3://shop-backups/benben",
    "s3": {
        "endpointUrl": "http://minio.storage.svc:9000",
        "region": "eu-west-3",
        "credentials": {"existingSecret": "shop-backup-s3"},
    },
}


@pytest.fixture
def values(tmp_path: Path):
    def write(mapping: dict[str, Any]) -> Path:
        path = tmp_path / f"values-{len(list(tmp_path.iterdir()))}.yaml"
        path.write_text(yaml.safe_dump(mapping))
        return path

    return write


def validate(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        if obj["kind"] not in {"ServiceMonitor", "PodMonitor"}:
            kubernetes_validate.validate(obj, "1.30", strict=True)


def container(spec: dict[str, Any]) -> dict[str, Any]:
    (found,) = spec["containers"]
    return found


def env(spec: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(spec).get("env", [])}


def mounts(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["mountPath"]: m for m in container(spec).get("volumeMounts", [])}


def volumes(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in spec["volumes"]}


def job_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return one(objects, "CronJob", CRONJOB)["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def deployment_spec(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return one(objects, "Deployment", name)["spec"]["template"]["spec"]


def config(objects: list[dict[str, Any]]) -> dict[str, str]:
    data = one(objects, "ConfigMap", FULLNAME)["data"]
    return {k: v for k, v in data.items() if k.startswith("BENBEN_BACKUP_")}


def test_by_default_no_backup_renders(render) -> None:
    objects = render("default-values.yaml")
    assert find(objects, "CronJob") == []
    assert find(objects, "PersistentVolumeClaim") == []
    assert config(objects) == {}
    for name in (FULLNAME, WORKER, SCHEDULER):
        spec = deployment_spec(objects, name)
        assert SCRATCH not in mounts(spec)
        assert "TMPDIR" not in env(spec)


def test_the_cronjob_runs_benben_backup_one_at_a_time_into_its_claim(render, values) -> None:
    local_files = {"files": {"local": {"persistence": {"enabled": True}}}}
    objects = render(DEFAULT, values(CRON), values(local_files))
    validate(objects)
    cronjob = one(objects, "CronJob", CRONJOB)["spec"]
    assert cronjob["schedule"] == "17 3 * * *"
    assert cronjob["concurrencyPolicy"] == "Forbid"
    assert cronjob["successfulJobsHistoryLimit"] == 3
    job = cronjob["jobTemplate"]["spec"]
    assert job["activeDeadlineSeconds"] == 21600
    spec = job_spec(objects)
    assert spec["restartPolicy"] == "Never"
    assert container(spec)["command"] == [
        "benben", "backup", "--ini", "production.ini", "--output", f"{OUTPUT}/",
        "--keep-daily", "7", "--keep-weekly", "4",
    ]  # fmt: skip
    assert container(spec)["image"] == container(deployment_spec(objects, FULLNAME))["image"]
    assert container(spec)["envFrom"] == container(deployment_spec(objects, FULLNAME))["envFrom"]
    # Hardened as the other pods: the volumes are its only writable places.
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    context = container(spec)["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    claim = one(objects, "PersistentVolumeClaim", CLAIM)
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert volumes(spec)["backups"]["persistentVolumeClaim"] == {"claimName": CLAIM}
    assert mounts(spec)[OUTPUT]["name"] == "backups"
    assert volumes(spec)["backup-scratch"]["emptyDir"] == {"sizeLimit": "20Gi"}
    assert env(spec)["TMPDIR"] == SCRATCH
    assert mounts(spec)[SCRATCH]["name"] == "backup-scratch"
    # The attachments are read from the files volume, which the Job cannot change.
    files = mounts(spec)["/var/lib/benben-files"]
    assert files["readOnly"] is True
    assert volumes(spec)["files"]["persistentVolumeClaim"]["readOnly"] is True
    assert env(spec)["BENBEN_FILES_LOCAL_PATH"] == "/var/lib/benben-files"
    # The CronJob route leaves the worker and the ConfigMap alone.
    assert config(objects) == {}
    assert SCRATCH not in mounts(deployment_spec(objects, WORKER))


def test_the_cronjob_writes_to_a_bucket_with_your_keys(render, values) -> None:
    mapping = {
        "backup": {
            **S3,
            "keepDaily": 3,
            "keepWeekly": 0,
            "cronjob": {"enabled": True, "schedule": "@daily", "timeZone": "Europe/Paris"},
        }
    }
    objects = render(DEFAULT, values(mapping))
    validate(objects)
    assert find(objects, "PersistentVolumeClaim") == []
    cronjob = one(objects, "CronJob", CRONJOB)["spec"]
    assert (cronjob["schedule"], cronjob["timeZone"]) == ("@daily", "Europe/Paris")
    spec = job_spec(objects)
    command = container(spec)["command"]
    assert command[command.index("--output") + 1] == "s3://shop-backups/benben"
    assert command[-4:] == ["--keep-daily", "3", "--keep-weekly", "0"]
    assert "backups" not in volumes(spec)
    variables = env(spec)
    assert variables["AWS_ACCESS_KEY_ID"] == {
        "secretKeyRef": {"name": "shop-backup-s3", "key": "accessKeyId"}
    }
    assert variables["AWS_SECRET_ACCESS_KEY"] == {
        "secretKeyRef": {"name": "shop-backup-s3", "key": "secretAccessKey"}
    }
    # The endpoint and region as settings; the keys never in the ConfigMap.
    assert config(objects) == {
        "BENBEN_BACKUP_S3_ENDPOINT_URL": "http://minio.storage.svc:9000",
        "BENBEN_BACKUP_S3_REGION": "eu-west-3",
    }


def test_the_worker_route_sets_the_settings_and_equips_the_workers(render, values) -> None:
    objects = render(DEFAULT, values({"backup": {"intervalHours": 12, "keepDaily": 14}}))
    validate(objects)
    assert find(objects, "CronJob") == []
    variables = config(objects)
    assert variables == {
        "BENBEN_BACKUP_INTERVAL_HOURS": "12",
        "BENBEN_BACKUP_TARGET": f"{OUTPUT}/",
        "BENBEN_BACKUP_KEEP_DAILY": "14",
        "BENBEN_BACKUP_KEEP_WEEKLY": "4",
    }
    # What Benben reads from them: valid settings, as the chart meant them.
    resolved = resolve_settings({}, variables, BACKUP_SETTINGS).values
    assert resolved["benben.backup.interval_hours"] == 12
    assert resolved["benben.backup.keep_daily"] == 14
    assert resolved["benben.backup.target"] == f"{OUTPUT}/"
    worker = deployment_spec(objects, WORKER)
    assert mounts(worker)[OUTPUT]["name"] == "backups"
    assert volumes(worker)["backups"]["persistentVolumeClaim"] == {"claimName": CLAIM}
    assert env(worker)["TMPDIR"] == SCRATCH
    # The scheduler only sends the task; the servers only serve.
    for name in (SCHEDULER, FULLNAME):
        spec = deployment_spec(objects, name)
        assert OUTPUT not in mounts(spec), name
        assert "TMPDIR" not in env(spec), name


def test_without_workers_the_server_pods_run_the_backups(render, values) -> None:
    mapping = {"worker": {"enabled": False}, "backup": {"intervalHours": 24, **S3}}
    objects = render(DEFAULT, values(mapping))
    validate(objects)
    server = deployment_spec(objects, FULLNAME)
    assert env(server)["TMPDIR"] == SCRATCH
    assert env(server)["AWS_ACCESS_KEY_ID"]["secretKeyRef"]["name"] == "shop-backup-s3"
    assert config(objects)["BENBEN_BACKUP_TARGET"] == "s3://shop-backups/benben"
    assert find(objects, "PersistentVolumeClaim") == []


def test_the_ci_values_render_a_valid_cronjob(render) -> None:
    objects = render("backup-values.yaml")
    validate(objects)
    command = container(job_spec(objects))["command"]
    assert command[command.index("--keep-daily") + 1] == "10"


def test_an_existing_claim_is_used_as_it_is(render, values) -> None:
    mapping = {"backup": {"cronjob": {"enabled": True}, "persistence": {"existingClaim": "mine"}}}
    objects = render(DEFAULT, values(mapping))
    assert find(objects, "PersistentVolumeClaim") == []
    spec = job_spec(objects)
    assert volumes(spec)["backups"]["persistentVolumeClaim"] == {"claimName": "mine"}


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (
            ("backup.intervalHours=24", "backup.cronjob.enabled=true"),
            "backup: choose one route",
        ),
        (
            ("settings.benben\\.backup\\.interval_hours=6",),
            "settings.benben.backup.interval_hours: set it in the values' backup.intervalHours",
        ),
        (
            ("settings.benben\\.backup\\.target=/x",),
            "set it in the values' backup.output",
        ),
        (("backup.output=relative/path",), "backup.output: Does not match pattern"),
        (("backup.output=/tmp",), "backup.output: Must not validate the schema"),
        (("backup.intervalHours=-1",), "backup.intervalHours: Must be greater than or equal"),
        (("backup.cronjob.schedule=daily",), "backup.cronjob.schedule: Does not match pattern"),
        (("backup.keepDaily=many",), "backup.keepDaily: Invalid type"),
        (("backup.cronjob.every=1h",), "Additional property every is not allowed"),
    ],
)
def test_the_chart_refuses_what_it_cannot_honour(helm, sets: tuple[str, ...], message: str) -> None:
    args = ["template", RELEASE, str(CHART), "-f", DEFAULT]
    for assignment in sets:
        args += ["--set", assignment]
    result = helm(*args, check=False)
    assert result.returncode == 1
    assert message in result.stderr


def test_lint_passes_with_each_route(helm, values) -> None:
    for mapping in (CRON, {"backup": {"intervalHours": 24, **S3}}):
        result = helm("lint", "--strict", str(CHART), "-f", DEFAULT, "-f", str(values(mapping)))
        assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout
