"""Names, look-ups and a fake cluster shared by the chart tests."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from deploy_tools import ROOT

CHART = ROOT / "helm" / "benben"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
RELEASE = "shop"
NAMESPACE = "benben-test"
# Rendered (and validated) as if the Prometheus Operator's CRDs were installed.
API_VERSIONS = ("monitoring.coreos.com/v1",)

Objects = list[dict[str, Any]]


def find(objects: Objects, kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [
        o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]


def one(objects: Objects, kind: str, name: str | None = None) -> dict[str, Any]:
    (found,) = find(objects, kind, name)
    return found


def is_hook(obj: dict[str, Any]) -> bool:
    return "helm.sh/hook" in (obj["metadata"].get("annotations") or {})


# -- a fake Kubernetes API server, for what helm only does against a cluster ---------------------
# `lookup` (the chart keeps a release's secret values) and NOTES.txt (install --dry-run=server)
# need a cluster; this one answers discovery and GETs of the objects a test puts in it.

_GROUPS = {
    "v1": [
        ("configmaps", "ConfigMap"),
        ("secrets", "Secret"),
        ("services", "Service"),
        ("serviceaccounts", "ServiceAccount"),
        ("pods", "Pod"),
    ],
    "apps/v1": [("deployments", "Deployment")],
    "batch/v1": [("jobs", "Job")],
    "policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget")],
    "networking.k8s.io/v1": [("ingresses", "Ingress"), ("networkpolicies", "NetworkPolicy")],
    "autoscaling/v2": [("horizontalpodautoscalers", "HorizontalPodAutoscaler")],
}


class FakeCluster:
    """``with FakeCluster() as cluster``: ``cluster.kubeconfig`` points helm at it."""

    def __init__(self, directory: Path) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.kubeconfig = directory / "kubeconfig"
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def put_secret(self, namespace: str, name: str, data: dict[str, str]) -> None:
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        self.objects[f"/api/v1/namespaces/{namespace}/secrets/{name}"] = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "type": "Opaque",
            "data": encoded,
        }

    def __enter__(self) -> FakeCluster:
        self._thread.start()
        port = self._server.server_address[1]
        self.kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {"name": "fake", "cluster": {"server": f"http://127.0.0.1:{port}"}}
                    ],
                    "users": [{"name": "fake", "user": {"token": "fake"}}],
                    "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
                    "current-context": "fake",
                }
            )
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _answer(self, path: str) -> tuple[int, dict[str, Any]]:
        if path == "/version":
            return 200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0"}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"]}
        if path == "/apis":
            groups = [
                {"name": gv.split("/")[0], "versions": [v], "preferredVersion": v}
                for gv in _GROUPS
                if "/" in gv
                for v in [{"groupVersion": gv, "version": gv.split("/")[1]}]
            ]
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        for group_version, resources in _GROUPS.items():
            if path == ("/api/v1" if group_version == "v1" else f"/apis/{group_version}"):
                return 200, {
                    "kind": "APIResourceList",
                    "groupVersion": group_version,
                    "resources": [
                        {"name": name, "singularName": "", "namespaced": True, "kind": kind,
                         "verbs": ["get", "list", "create", "update", "patch", "delete"]}
                        for name, kind in resources
                    ],
                }  # fmt: skip
        if path in self.objects:
            return 200, self.objects[path]
        if path.endswith("/secrets"):  # helm's release storage: no release yet
            return 200, {"kind": "SecretList", "apiVersion": "v1", "items": []}
        return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                     "reason": "NotFound", "message": f"{path} not found"}  # fmt: skip

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        cluster = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                cluster.requests.append(path)
                status, body = cluster._answer(path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
