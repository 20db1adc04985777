"""docs/events.md, docs/webhooks.md and the background-work part of docs/operations.md cannot
drift from the code: the example plugin of docs/events.md runs (on both backends) and forwards
every new record at least once; every setting, task, metric, event type and plugin API name the
pages cite exists; the published retry schedule and settings' defaults are the code's."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import benben.plugin
from benben.core_settings import CORE_SETTINGS
from benben.events.event import EVENT_TYPES
from benben.testing import run_queued_tasks
from benben.worker.builtin import BUILTIN_TASKS
from benben_files.cleanup import TASK as FILES_CLEANUP_TASK
from benben_files.settings import SETTINGS as FILES_SETTINGS
from benben_files.sweep import TASK as FILES_SWEEP_TASK
from benben_files.thumbnails import TASK as FILES_THUMBNAILS_TASK
from benben_webhooks.schedule import RETRY_SCHEDULE
from benben_webhooks.settings import SETTINGS as WEBHOOKS_SETTINGS
from benben_webhooks.tasks import FANOUT_TASK, SEND_TASK

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "docs" / "events.md"
WEBHOOKS = ROOT / "docs" / "webhooks.md"
OPERATIONS = ROOT / "docs" / "operations.md"
_PYTHON = re.compile(r"^```python\n(?P<code>.*?)^```$", re.M | re.S)


def operations_background() -> str:
    """The background-work section of docs/operations.md (to its end)."""
    text = OPERATIONS.read_text("utf-8")
    return text[text.index("## Background work") :]


def pages() -> dict[str, str]:
    return {
        "docs/events.md": EVENTS.read_text("utf-8"),
        "docs/webhooks.md": WEBHOOKS.read_text("utf-8"),
        "docs/operations.md (background work)": operations_background(),
    }


# -- the example plugin, run -----------------------------------------------------------------------


class Receiver:
    """A chat's incoming webhook on loopback: the JSON bodies it was posted."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        received = self.lines

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                import json

                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(json.loads(body)["text"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    chat = Receiver()
    try:
        yield chat
    finally:
        chat.stop()


def example_plugin(url: str) -> dict[str, Any]:
    """docs/events.md's plugin as a module namespace; its setting (read by ``plugin_settings``
    inside a plugin's ``includeme`` only) is given directly."""
    (code,) = [m["code"] for m in _PYTHON.finditer(EVENTS.read_text("utf-8"))]
    namespace: dict[str, Any] = {"__name__": "benben_chat"}
    exec(compile(code, f"{EVENTS}:python", "exec"), namespace)  # noqa: S102 - the docs' own code
    namespace["plugin_settings"] = lambda config: {"url": url}
    return namespace


def test_the_example_plugin_forwards_every_new_record_at_least_once(
    make_app, receiver, create_user, auth_headers
) -> None:
    plugin = example_plugin(receiver.url)
    app = make_app(include=plugin["includeme"])
    registry = app.app.registry
    create_user("ana", is_admin=True)
    headers = auth_headers(app, "ana")
    app.post_json("/api/v1/collections", {"id": "tasks"}, headers=headers)
    for record in ("a", "b"):
        app.put_json(f"/api/v1/collections/tasks/records/{record}", {"data": {}}, headers=headers)
    run_queued_tasks(registry)  # the listener's nudges, after each commit
    assert [line.split(" added ")[1] for line in receiver.lines] == ["a to tasks", "b to tasks"]
    run_queued_tasks(registry)
    assert len(receiver.lines) == 2  # nothing twice
    # The chat is down: the cursor stays, and the next run (the periodic one) sends the record.
    receiver.stop()
    app.put_json("/api/v1/collections/tasks/records/c", {"data": {}}, headers=headers)
    run_queued_tasks(registry)
    back = Receiver()
    try:
        plugin["forward"](benben.plugin.TaskContext(registry, "chat.forward"), back.url)
        assert [line.split(" added ")[1] for line in back.lines] == ["c to tasks"]
    finally:
        back.stop()
    forwarded = app.get("/api/v1/events?type=chat.forwarded", headers=headers).json["data"]
    assert [event["type"] for event in forwarded] == ["chat.forwarded"] * 3


# -- names the pages cite exist ------------------------------------------------------------------

_SETTING = re.compile(r"`(benben\.[a-z_]+(?:\.[a-z_]+)+)")
_METRIC = re.compile(r"\b(benben_(?:task|feed)_[a-z_]+)")
_CALL = re.compile(r"`(?:config\.)?([a-z_]+)\(")


def test_every_setting_and_task_cited_exists() -> None:
    settings = {s.name for s in (*CORE_SETTINGS, *WEBHOOKS_SETTINGS, *FILES_SETTINGS)}
    tasks = {*BUILTIN_TASKS, FANOUT_TASK, SEND_TASK}
    tasks |= {FILES_CLEANUP_TASK, FILES_SWEEP_TASK, FILES_THUMBNAILS_TASK}
    cited = {(page, name) for page, text in pages().items() for name in _SETTING.findall(text)}
    assert len(cited) > 20
    other = {"benben.plugin", "benben.chat.url"}  # the module, the example plugin's own setting
    unknown = sorted((p, n) for p, n in cited if n not in settings | tasks | other)
    assert unknown == []


def test_every_metric_cited_is_the_worker_s() -> None:
    source = "".join(p.read_text("utf-8") for p in (ROOT / "src/benben/worker").glob("*.py"))
    cited = {name for text in pages().values() for name in _METRIC.findall(text)}
    assert len(cited) >= 5
    missing = sorted(n for n in cited if f'"{n.removesuffix("_total")}"' not in source)
    assert missing == []


def test_the_plugin_api_cited_is_exported(make_app) -> None:
    config_directives = {"add_task", "add_periodic_task", "add_event_listener"}
    text = EVENTS.read_text("utf-8")
    api = text[text.index("## For plugins") :]
    cited = set(_CALL.findall(api))
    assert {"publish_event", "consumer_position", "read_events", "enqueue_task"} <= cited
    exported = set(benben.plugin.__all__)
    yours = {"includeme", "callback", "func"}  # what the plugin author writes
    assert sorted(cited - exported - config_directives - yours) == []
    registry = make_app().app.registry
    from pyramid.config import Configurator

    config = Configurator(registry=registry)
    for directive in config_directives:
        assert callable(getattr(config, directive)), directive
    (code,) = _PYTHON.findall(text)
    imported = re.search(r"from benben\.plugin import \((.*?)\)", code, re.S)
    assert imported is not None
    names = {name.strip() for name in imported.group(1).split(",") if name.strip()}
    assert names <= exported


def test_every_core_event_type_is_documented() -> None:
    text = EVENTS.read_text("utf-8")
    table = text[text.index("### Core's event types") : text.index("What they look like")]
    documented = set(re.findall(r"`([a-z_]+\.[a-z_]+)`", table))
    assert documented == set(EVENT_TYPES)


# -- figures the pages publish are the code's ----------------------------------------------------


def _duration(text: str) -> int:
    if text == "at once":
        return 0
    number, unit = text.split()
    return int(number) * {"s": 1, "min": 60, "h": 3600}[unit]


def test_the_published_retry_schedule_is_the_code_s() -> None:
    text = WEBHOOKS.read_text("utf-8")
    row = re.search(r"^\| After the previous one \|(.*)\|$", text, re.M)
    assert row is not None
    delays = [_duration(cell.strip()) for cell in row.group(1).split("|")]
    assert tuple(delays) == RETRY_SCHEDULE
    total_hours = sum(RETRY_SCHEDULE) / 3600
    assert f"| {total_hours:.1f} h |" in text  # the last attempt, since the event


def test_the_webhooks_settings_table_gives_the_code_s_defaults() -> None:
    text = WEBHOOKS.read_text("utf-8")
    rows = dict(re.findall(r"^\| `(benben\.webhooks\.[a-z_]+)` \| ([^|]+) \|", text, re.M))
    assert set(rows) == {s.name for s in WEBHOOKS_SETTINGS}
    for setting in WEBHOOKS_SETTINGS:
        shown = rows[setting.name].strip().strip("`")
        default = setting.default
        if isinstance(default, bool):
            expected = str(default).lower()
        elif isinstance(default, tuple):
            expected = "empty" if not default else " ".join(default)
        elif isinstance(default, float) and default.is_integer():
            expected = str(int(default))
        else:
            expected = str(default)
        assert shown == expected, setting.name
