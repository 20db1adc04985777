"""benben.worker.* settings into the Celery configuration: the no-task-lost set, JSON only."""

from __future__ import annotations

import pytest
from pyramid.exceptions import ConfigurationError

from benben.config import configure
from benben.worker import get_celery, is_embedded


def _celery(tmp_path, settings=None, environ=None):
    raw = {"benben.data_dir": str(tmp_path), **(settings or {})}
    return get_celery(configure(raw, environ=environ or {}).registry)


def test_defaults_are_embedded_and_safe(tmp_path):
    app = _celery(tmp_path)
    conf = app.conf
    assert conf.broker_url == "memory://"
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.worker_cancel_long_running_tasks_on_connection_loss is True
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_ignore_result is True
    assert conf.broker_transport_options["visibility_timeout"] == 1800
    assert "confirm_publish" not in conf.broker_transport_options
    assert conf.beat_scheduler == "celery.beat:Scheduler"  # no shelve file in the working dir
    assert conf.worker_hijack_root_logger is False


def test_two_apps_have_queues_of_their_own(tmp_path):
    first, second = _celery(tmp_path / "a"), _celery(tmp_path / "b")
    assert first.conf.task_default_queue != second.conf.task_default_queue
    assert first.conf.task_default_queue.endswith(".benben")


def test_a_rabbitmq_broker_confirms_publishes(tmp_path):
    app = _celery(
        tmp_path,
        {
            "benben.worker.broker_url": "amqp://guest:guest@127.0.0.1:5672//",
            "benben.worker.prefetch": "4",
            "benben.worker.visibility_timeout": "600",
        },
    )
    assert app.conf.broker_transport_options == {"visibility_timeout": 600, "confirm_publish": True}
    assert app.conf.worker_prefetch_multiplier == 4
    assert app.conf.task_default_queue == "benben"  # a real broker: the plain names


def test_the_environment_overrides_and_embedded_follows_the_broker(tmp_path):
    environ = {
        "BENBEN_WORKER_BROKER_URL": "redis://127.0.0.1:6379/1",
        "BENBEN_WORKER_QUEUE_PREFIX": "staging.",
    }
    registry = configure({"benben.data_dir": str(tmp_path)}, environ=environ).registry
    app = get_celery(registry)
    assert app.conf.broker_url == "redis://127.0.0.1:6379/1"
    assert app.conf.task_default_queue == "staging.benben"
    assert not is_embedded(registry.settings)
    assert is_embedded({**registry.settings, "benben.worker.embedded": "on"})
    assert not is_embedded({"benben.worker.embedded": "off", "benben.worker.broker_url": ""})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("benben.worker.embedded", "sometimes"),
        ("benben.worker.concurrency", "0"),
        ("benben.worker.pool", "gevent"),
        ("benben.worker.health_port", "70000"),
        ("benben.worker.visibility_timeout", "5"),
    ],
)
def test_bad_values_are_refused_at_start(tmp_path, name, value):
    with pytest.raises(ConfigurationError, match=name):
        configure({"benben.data_dir": str(tmp_path), name: value}, environ={})
