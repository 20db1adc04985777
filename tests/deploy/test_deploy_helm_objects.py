"""The optional objects: ServiceMonitor (only with the Prometheus Operator's API), NetworkPolicy,
the helm test pod (the workers' and the scheduler's: test_deploy_helm_worker.py)."""

from __future__ import annotations

import pytest
from chart_support import API_VERSIONS, CHART, RELEASE, find, one

FULLNAME = f"{RELEASE}-benben"


def test_service_monitor_scrapes_every_pod_s_http_port_when_the_api_exists(render) -> None:
    objects = render("servicemonitor-values.yaml", api_versions=API_VERSIONS)
    monitor = one(objects, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint == {
        "port": "http",
        "path": "/metrics",
        "interval": "15s",
        "scrapeTimeout": "5s",
        # The token Benben checks (benben.metrics.token), from the release's Secret.
        "authorization": {
            "type": "Bearer",
            "credentials": {"name": FULLNAME, "key": "BENBEN_METRICS_TOKEN"},
        },
    }
    assert one(objects, "Secret", FULLNAME)["stringData"]["BENBEN_METRICS_TOKEN"]
    service = one(objects, "Service")
    assert endpoint["port"] in [port["name"] for port in service["spec"]["ports"]]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {
        "matchNames": [service["metadata"]["namespace"]]
    }


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (("secrets.metricsToken=",), "bearerToken needs secrets.metricsToken"),
        (("settings.benben\\.metrics\\.enabled=off",), "benben.metrics.enabled is off"),
    ],
)
def test_service_monitor_refuses_a_scrape_that_cannot_work(helm, sets, message) -> None:
    args = ["template", RELEASE, str(CHART), "-f", str(CHART / "ci" / "servicemonitor-values.yaml")]
    args += ["--api-versions", "monitoring.coreos.com/v1"]
    for assignment in sets:
        args += ["--set", assignment]
    result = helm(*args, check=False)
    assert result.returncode == 1
    assert message in result.stderr


def test_service_monitor_is_left_out_without_the_api_or_when_disabled(render) -> None:
    # Enabled, but the cluster does not serve monitoring.coreos.com/v1: applying it would fail.
    assert find(render("servicemonitor-values.yaml"), "ServiceMonitor") == []
    assert find(render("default-values.yaml", api_versions=API_VERSIONS), "ServiceMonitor") == []


def test_network_policy_admits_the_http_port_from_the_given_peers_and_limits_egress(
    render,
) -> None:
    objects = render("networkpolicy-values.yaml")
    policy = one(objects, "NetworkPolicy", FULLNAME)["spec"]
    pod_labels = one(objects, "Deployment", FULLNAME)["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert rule["from"][0] == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
    }
    # helm test's pod is a pod of the release: it may still reach the Service.
    assert rule["from"][1]["podSelector"]["matchLabels"] == policy["podSelector"]["matchLabels"]
    dns, data, own = policy["egress"]
    assert {(p["port"], p["protocol"]) for p in dns["ports"]} == {(53, "UDP"), (53, "TCP")}
    assert [p["port"] for p in data["ports"]] == [5432, 6379]
    assert data["to"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "db"}}}
    ]
    assert own["ports"] == [{"port": 6543, "protocol": "TCP"}]


def test_network_policy_without_peers_admits_any_source_on_the_http_port_only(render) -> None:
    objects = render(
        "networkpolicy-values.yaml",
        set=("networkPolicy.ingressFrom=null", "networkPolicy.egress.enabled=false"),
    )
    policy = one(objects, "NetworkPolicy", FULLNAME)["spec"]
    assert policy["policyTypes"] == ["Ingress"]
    assert policy["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}]}]
    assert "egress" not in policy
    assert find(render("default-values.yaml"), "NetworkPolicy") == []


def test_helm_test_pod_asks_the_service_for_readiness(render) -> None:
    objects = render("hardened-scheduling-values.yaml")
    pod = one(objects, "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["restartPolicy"] == "Never"
    (check,) = pod["spec"]["containers"]
    server = one(objects, "Deployment", FULLNAME)
    assert check["image"] == server["spec"]["template"]["spec"]["containers"][0]["image"]
    assert check["command"][:2] == ["python", "-c"]
    # The Service's name and port, as configured (8080 in this values file).
    assert f'url = "http://{FULLNAME}:8080/health/ready"' in check["command"][2]
    compile(check["command"][2], "helm-test", "exec")  # valid Python
