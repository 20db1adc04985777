"""What the chart does against a cluster (a fake API server): an install or upgrade keeps the
secret values already in the release's Secret, and NOTES.txt tells how to reach and check it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from chart_support import CHART, NAMESPACE, RELEASE, FakeCluster, one

FULLNAME = f"{RELEASE}-benben"
DEFAULTS = yaml.safe_load((CHART / "ci" / "default-values.yaml").read_text())["secrets"]
STORED = {
    "BENBEN_SECRET": "S" * 10 + "".join(chr(c) for c in range(65, 91)) * 3,
    "BENBEN_DATABASE_URL": "postgresql://benben:stored@db.stored.svc:5432/benben",
    "BENBEN_CACHE_URL": "redis://cache.stored.svc:6379/2",
    # The workers' broker as the chart derives it from the cache's URL (its database 1).
    "BENBEN_WORKER_BROKER_URL": "redis://cache.stored.svc:6379/1",
}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[FakeCluster]:
    with FakeCluster(tmp_path) as fake:
        yield fake


def template(helm, cluster: FakeCluster, *sets: str) -> list[dict]:
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--dry-run=server"]
    for assignment in sets:
        args += ["--set", assignment]
    output = helm(*args, kubeconfig=cluster.kubeconfig).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


def checksums(objects: list[dict]) -> dict[str, str]:
    return one(objects, "Deployment", FULLNAME)["spec"]["template"]["metadata"]["annotations"]


def test_upgrade_without_secret_values_keeps_the_stored_ones(helm, cluster) -> None:
    cluster.put_secret(NAMESPACE, FULLNAME, STORED)
    objects = template(helm, cluster)
    assert f"/api/v1/namespaces/{NAMESPACE}/secrets/{FULLNAME}" in cluster.requests
    assert one(objects, "Secret", FULLNAME)["stringData"] == STORED
    assert one(objects, "Secret", f"{FULLNAME}-migrate")["stringData"] == STORED
    # Nothing changed, so nothing rolls: the same checksum as giving the stored values again.
    explicit = template(
        helm,
        cluster,
        f"secrets.secret={STORED['BENBEN_SECRET']}",
        f"secrets.databaseUrl={STORED['BENBEN_DATABASE_URL']}",
        f"secrets.cacheUrl={STORED['BENBEN_CACHE_URL']}",
    )
    assert checksums(objects) == checksums(explicit)


def test_generation_never_replaces_a_stored_secret(helm, cluster) -> None:
    cluster.put_secret(NAMESPACE, FULLNAME, STORED)
    objects = template(helm, cluster, "secrets.generateSecret=true")
    assert (
        one(objects, "Secret", FULLNAME)["stringData"]["BENBEN_SECRET"] == STORED["BENBEN_SECRET"]
    )


def test_given_values_win_over_stored_ones(helm, cluster) -> None:
    cluster.put_secret(NAMESPACE, FULLNAME, STORED)
    objects = template(helm, cluster, "secrets.cacheUrl=redis://new.svc:6379/0")
    data = one(objects, "Secret", FULLNAME)["stringData"]
    assert data == STORED | {"BENBEN_CACHE_URL": "redis://new.svc:6379/0"}


def test_first_install_without_values_fails_rather_than_inventing_credentials(
    helm, cluster
) -> None:
    result = helm(
        "template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--dry-run=server",
        "--set", "secrets.generateSecret=true", kubeconfig=cluster.kubeconfig, check=False,
    )  # fmt: skip
    # The server secret may be generated; a database URL never can.
    assert result.returncode == 1
    assert "secrets.databaseUrl is required" in result.stderr


def test_rotating_an_existing_secret_rolls_the_pods(helm, cluster) -> None:
    cluster.put_secret(NAMESPACE, "benben-credentials", STORED)
    before = checksums(template(helm, cluster, "secrets.existingSecret=benben-credentials"))
    assert checksums(template(helm, cluster, "secrets.existingSecret=benben-credentials")) == before
    cluster.put_secret(
        NAMESPACE, "benben-credentials", STORED | {"BENBEN_DATABASE_URL": "postgresql://db2/b"}
    )
    after = checksums(template(helm, cluster, "secrets.existingSecret=benben-credentials"))
    assert after["checksum/secret"] != before["checksum/secret"]
    assert after["checksum/config"] == before["checksum/config"]


@pytest.mark.parametrize(
    ("values", "expected", "absent"),
    [
        (
            "default-values.yaml",
            [
                f"port-forward service/{FULLNAME} 6543:80",
                f"helm test {RELEASE} --namespace {NAMESPACE}",
                f"exec -it deploy/{FULLNAME} -- benben users create --ini production.ini --admin",
                f"are in Secret {FULLNAME}",
                "Replicas: 2.",
            ],
            ["init container", "Migrations are off"],
        ),
        (
            "ingress-tls-values.yaml",
            ["https://benben.example.org/"],
            ["port-forward"],
        ),
        (
            "gitops-values.yaml",
            ["Migrations run in the init container of every pod"],
            [f"are in Secret {FULLNAME}"],
        ),
        (
            "hpa-values.yaml",
            ["Replicas: 3 to 12 (HorizontalPodAutoscaler)."],
            [],
        ),
    ],
)
def test_notes_tell_how_to_reach_and_check_the_release(
    helm, cluster, values: str, expected: list[str], absent: list[str]
) -> None:
    result = helm(
        "install", RELEASE, str(CHART), "--namespace", NAMESPACE, "-f", str(CHART / "ci" / values),
        "--dry-run=server", "--disable-openapi-validation", kubeconfig=cluster.kubeconfig,
    )  # fmt: skip
    notes = result.stdout.split("\nNOTES:\n", 1)[1]
    for text in expected:
        assert text in notes
    for text in absent:
        assert text not in notes
