"""conf/prometheus/alerts.yml and conf/grafana/benben-dashboard.json: valid for their tools, and
written against exactly the metrics Benben exports."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from deploy_tools import ROOT, require, system_tool

ALERTS = ROOT / "conf" / "prometheus" / "alerts.yml"
ALERT_TESTS = Path(__file__).with_name("alerts_test.yml")
DASHBOARD = ROOT / "conf" / "grafana" / "benben-dashboard.json"

# Benben's metrics (GET /metrics) and their labels; `job` and `instance` come from the scrape.
METRICS = {
    "benben_http_requests_total": {"route", "method", "status"},
    "benben_http_request_duration_seconds": {"route", "method", "le"},
    "benben_http_requests_in_flight": set(),
    "benben_db_pool_connections": {"state"},
    "benben_cache_operations_total": {"result"},
    "benben_ratelimit_rejections_total": {"group"},
    "benben_login_failures_total": {"reason"},
    "benben_build_info": {"version"},
    "benben_plugin_info": {"name", "version"},
    # Scheduled backups (where benben.backup.interval_hours > 0: the worker's processes).
    "benben_backup_runs_total": {"outcome"},
    "benben_backup_last_success_timestamp_seconds": set(),
    "benben_backup_last_failure_timestamp_seconds": set(),
    "benben_backup_last_size_bytes": set(),
    "benben_backup_duration_seconds": set(),
    "benben_backup_interval_seconds": set(),
}
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")
SCRAPE_LABELS = {"job", "instance"}
LABEL_VALUES = {
    "state": {"checked_out", "idle", "overflow"},
    "result": {"hit", "miss", "error"},
    "outcome": {"success", "failure"},
}


def promtool() -> Path:
    return system_tool("promtool", "prometheus")


def metric_family(name: str) -> str:
    for suffix in HISTOGRAM_SERIES:
        base = name.removesuffix(suffix)
        if base != name and base == "benben_http_request_duration_seconds":
            return base
    return name


def check_expression(expr: str, where: str) -> set[str]:
    """The metric families ``expr`` reads, after checking them and the labels it names."""
    names = set(re.findall(r"\b(benben_[a-z_]+|up)\b(?!\s*\()", expr))
    families = {metric_family(n) for n in names} - {"up"}
    unknown = families - set(METRICS)
    assert not unknown, f"{where}: unknown metrics {unknown}"
    labels = set().union(*(METRICS[f] for f in families)) | SCRAPE_LABELS
    for group in re.findall(r"\b(?:by|on|ignoring|without)\s*\(([^)]*)\)", expr):
        used = {label.strip() for label in group.split(",") if label.strip()}
        assert used <= labels, f"{where}: labels {used - labels} belong to none of {families}"
    for label, value in re.findall(r'\b(state|result|outcome)\s*=~?\s*"([^"]+)"', expr):
        assert set(value.split("|")) <= LABEL_VALUES[label], f"{where}: {label}={value}"
    return families


# -- alerts --------------------------------------------------------------------------------------


def alert_rules() -> list[dict]:
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run(
        [require(promtool), "check", "rules", str(ALERTS)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_every_alert_fires_when_it_should_and_only_then() -> None:
    """promtool's unit tests (tests/deploy/alerts_test.yml) evaluate each alert on series."""
    result = subprocess.run(
        [require(promtool), "test", "rules", ALERT_TESTS.name],
        capture_output=True, text=True, cwd=ALERT_TESTS.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    tested = set(re.findall(r"^\s+alertname: (\w+)$", ALERT_TESTS.read_text(), re.MULTILINE))
    assert tested == {rule["alert"] for rule in alert_rules()}


def test_alerts_cover_the_issue_s_conditions_with_known_metrics() -> None:
    rules = alert_rules()
    by_name = {rule["alert"]: rule for rule in rules}
    assert {
        "BenbenInstanceDown",
        "BenbenHighErrorRate",
        "BenbenHighLatency",
        "BenbenRateLimitRejectionSurge",
        "BenbenLoginFailureSurge",
        "BenbenDatabasePoolSaturated",
        "BenbenCacheErrors",
        "BenbenBackupFailing",
    } <= set(by_name)
    for rule in rules:
        assert check_expression(rule["expr"], rule["alert"])
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert {"summary", "description"} <= set(rule["annotations"])
        assert re.fullmatch(r"\d+m", rule["for"])


def test_the_metric_check_would_catch_a_misspelt_metric_or_label() -> None:
    with pytest.raises(AssertionError, match="unknown metrics"):
        check_expression("rate(benben_http_request_total[5m])", "x")
    with pytest.raises(AssertionError, match="belong to none"):
        check_expression("sum by (path) (rate(benben_http_requests_total[5m]))", "x")
    with pytest.raises(AssertionError, match="result=hits"):
        check_expression('benben_cache_operations_total{result="hits"}', "x")


# -- dashboard -----------------------------------------------------------------------------------


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels() -> list[dict]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def test_dashboard_queries_only_known_metrics_and_shows_every_one() -> None:
    shown: set[str] = set()
    for panel in panels():
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            shown |= check_expression(target["expr"], panel["title"])
    variables = dashboard()["templating"]["list"]
    for variable in variables:
        if variable["type"] == "query":
            shown |= check_expression(variable["definition"], variable["name"])
    assert shown == set(METRICS)


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """Every query, with Grafana's variables filled in, as a recording rule promtool checks."""
    rules = []
    for number, panel in enumerate(panels()):
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", "5m")
            expr = expr.replace("$job", ".+").replace("$instance", ".+")
            rules.append({"record": f"dashboard:panel{number}:{target['refId']}", "expr": expr})
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(
        [require(promtool), "check", "rules", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_layout_and_variables_are_consistent() -> None:
    board = dashboard()
    assert board["uid"] == "benben-overview"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    names = {v["name"] for v in board["templating"]["list"]}
    assert names == {"datasource", "job", "instance"}
    cells: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        area = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"])
                for y in range(pos["y"], pos["y"] + pos["h"])}  # fmt: skip
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area
    for panel in panels():
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            used = set(re.findall(r"\$(\w+)", target["expr"])) - {"__rate_interval"}
            assert used <= names, panel["title"]
            if "rate(" in target["expr"]:
                assert "[$__rate_interval]" in target["expr"], panel["title"]
