"""The settings of `benben serve` (benben.server.*) agree across the three routes to a server:
the command's defaults, production.ini's [server:main] (also read by pserve and the image), and
the chart's `server` values and `workers` (rendered into the ConfigMap, where they win); the
chart's schema has the settings' bounds. nginx in front buffers what slow clients send."""

from __future__ import annotations

import configparser
import json
import re

import pytest
import yaml
from chart_support import CHART, RELEASE, one
from deploy_tools import NGINX_CONF, ROOT

from benben.serving import CONNECTION_SETTINGS, SERVER_PREFIX, SERVER_SETTINGS

FULLNAME = f"{RELEASE}-benben"

SCHEMA = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
# setting (after benben.server.) -> the chart's value under `server`
CHART_KEYS = {
    "connection_limit": "connectionLimit",
    "channel_timeout": "channelTimeout",
    "cleanup_interval": "cleanupInterval",
    "backlog": "backlog",
    "max_request_body_size": "maxRequestBodySize",
    "timeout": "timeout",
}
# What production.ini states: the connections (pserve's waitress refuses the process settings).
DEFAULTS = {s.name[len(SERVER_PREFIX) :]: s.default for s in CONNECTION_SETTINGS}
# Set by the chart from other values: workers (its own key), graceful_timeout (the pod's grace).
DERIVED = {"workers", "graceful_timeout"}


def test_chart_covers_every_server_setting() -> None:
    every = {s.name[len(SERVER_PREFIX) :] for s in SERVER_SETTINGS}
    assert set(CHART_KEYS) | DERIVED == every
    assert set(SCHEMA["properties"]["server"]["properties"]) == set(CHART_KEYS.values())


def test_cli_defaults_production_ini_and_the_chart_agree(render) -> None:
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(ROOT / "production.ini")
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))["server"]
    config = one(render("default-values.yaml"), "ConfigMap", FULLNAME)["data"]
    for key, default in DEFAULTS.items():
        (setting,) = [s for s in SERVER_SETTINGS if s.name == SERVER_PREFIX + key]
        assert int(ini["server:main"][key]) == default, key
        assert values[CHART_KEYS[key]] == default, key
        assert config[setting.env] == str(default), key
    assert ini["server:main"]["asyncore_use_poll"] == "true"
    assert values["timeout"] == 30
    assert config["BENBEN_SERVER_TIMEOUT"] == "30"
    # pserve hands [server:main] to waitress, which refuses keys it does not know.
    assert not {"workers", "timeout", "graceful_timeout"} & set(ini["server:main"])


def test_one_process_per_pod_by_default_and_the_cpu_request_that_goes_with_it(render) -> None:
    """docs/deployment.md: one process per pod, about 500m of CPU request per process."""
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    assert values["workers"] == 1
    assert values["resources"]["requests"]["cpu"] == "500m"
    assert "cpu" not in values["resources"]["limits"]  # throttling answers late
    config = one(render("default-values.yaml"), "ConfigMap", FULLNAME)["data"]
    # Explicit: `auto` would count every CPU of the node (no limit on the container).
    assert config["BENBEN_SERVER_WORKERS"] == "1"
    deployment = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    assert "`workers: 1`" in deployment
    assert "500m" in deployment


def test_the_several_processes_example_sizes_the_pod_for_them(render) -> None:
    objects = render("workers-values.yaml")
    config = one(objects, "ConfigMap", FULLNAME)["data"]
    assert config["BENBEN_SERVER_WORKERS"] == "2"
    assert config["BENBEN_SERVER_TIMEOUT"] == "60"
    assert config["BENBEN_SERVER_GRACEFUL_TIMEOUT"] == "45"  # 60 - 10 (preStop) - 5
    deployment = one(objects, "Deployment", FULLNAME)
    (benben,) = deployment["spec"]["template"]["spec"]["containers"]
    assert benben["resources"]["requests"] == {"cpu": "1", "memory": "768Mi"}  # 500m, 384Mi x 2


def test_several_processes_per_pod_stop_within_the_pods_grace(render) -> None:
    objects = render(
        "default-values.yaml",
        set=("workers=3", "terminationGracePeriodSeconds=60", "preStopSleepSeconds=10"),
    )
    config = one(objects, "ConfigMap", FULLNAME)["data"]
    assert config["BENBEN_SERVER_WORKERS"] == "3"
    # SIGTERM comes after the preStop sleep; Gunicorn then waits for requests in flight.
    assert config["BENBEN_SERVER_GRACEFUL_TIMEOUT"] == "45"


def test_chart_values_reach_the_configmap(render) -> None:
    objects = render("default-values.yaml", set=("server.connectionLimit=4000",))
    config = one(objects, "ConfigMap", FULLNAME)
    assert config["data"]["BENBEN_SERVER_CONNECTION_LIMIT"] == "4000"  # never 4e+03


@pytest.mark.parametrize("key", sorted(CHART_KEYS))
def test_schema_bounds_are_the_settings_bounds(key: str) -> None:
    (setting,) = [s for s in SERVER_SETTINGS if s.name == SERVER_PREFIX + key]
    bounds = SCHEMA["properties"]["server"]["properties"][CHART_KEYS[key]]
    assert bounds["type"] == "integer"
    low, high = bounds["minimum"], bounds["maximum"]
    assert setting.parser(str(low)) == low
    assert setting.parser(str(high)) == high
    for outside in (low - 1, high + 1):
        with pytest.raises(ValueError, match="must be"):
            setting.parser(str(outside))


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("server.connectionLimit=5", "server.connectionLimit: Must be greater than or equal to 10"),
        ("server.channelTimeout=soon", "server.channelTimeout: Invalid type"),
        ("server.maxClients=10", "server: Additional property maxClients is not allowed"),
        (
            "settings.benben\\.server\\.backlog=10",
            "settings.benben.server.backlog: set it in the values' workers, or their server block",
        ),
        (
            "settings.benben\\.server\\.workers=4",
            "settings.benben.server.workers: set it in the values' workers",
        ),
        ("workers=0", "workers: Must be greater than or equal to 1"),
    ],
)
def test_chart_refuses_bad_or_duplicated_server_values(helm, assignment: str, message: str) -> None:
    result = helm(
        "template", RELEASE, str(CHART), "-f", str(CHART / "ci" / "default-values.yaml"),
        "--set", assignment, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert message in result.stderr


# -- nginx in front -----------------------------------------------------------------------------


def _directives(name: str) -> list[str]:
    text = re.sub(r"#.*", "", NGINX_CONF.read_text())
    return re.findall(rf"^\s*{name}\s+(.*?);", text, re.MULTILINE)


def test_nginx_buffers_slow_clients_before_benben_sees_them() -> None:
    # The whole request is read by nginx (with its own timeouts) before a connection to an
    # instance is opened: slow clients cost nginx a connection, never Benben one.
    # Except uploads (the attachments' location): waitress receives a body on its event loop,
    # so a slow uploader holds one of its sockets, not a thread.
    assert _directives("proxy_request_buffering") == ["on", "off"]
    # Except change streams' responses (their location): each frame goes out as it is written.
    assert _directives("proxy_buffering") == ["on", "off"]
    for timeout in ("client_header_timeout", "client_body_timeout", "send_timeout"):
        (value,) = _directives(timeout)
        assert 0 < int(value.rstrip("s")) <= 30, timeout


def test_nginx_closes_idle_upstream_connections_before_benben_does() -> None:
    # Otherwise nginx may send a request on a connection Benben is closing (a 502).
    text = re.sub(r"#.*", "", NGINX_CONF.read_text())
    upstream = text.split("upstream benben {", 1)[1].split("}", 1)[0]
    (keepalive,) = re.findall(r"keepalive_timeout\s+(\d+)s;", upstream)
    assert int(keepalive) < DEFAULTS["channel_timeout"]
