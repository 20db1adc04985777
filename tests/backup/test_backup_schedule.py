"""Scheduled backups: the worker's task exists only when an interval is set, writes an archive to
the target and applies retention, skips while the newest archive is recent, and reports each
outcome as metrics, an event in the feed and (failures) a log line without credentials."""

from __future__ import annotations

import datetime
import logging
import tarfile
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from benben.backup.schedule import TASK, redact_credentials, scheduled_output
from benben.backup.targets import archive_name
from benben.db import session_factory
from benben.events.feed import read_events
from benben.observability.metrics import get_metrics
from benben.testing import feed_settled, run_periodic_tasks
from benben.worker.tasks import get_celery, registered_tasks

LOCAL = {"REMOTE_ADDR": "127.0.0.1"}
DAY = datetime.timedelta(days=1)


def _scheduled(make_app: Any, target: Path | str, **settings: str) -> Any:
    app = make_app(
        {
            "benben.backup.interval_hours": "24",
            "benben.backup.target": str(target),
            **{f"benben.backup.{key}": value for key, value in settings.items()},
        }
    )
    return app


def _value(registry: Any, name: str, **labels: str) -> float | None:
    return get_metrics(registry).registry.get_sample_value(name, labels)


def _backup_events(registry: Any) -> list[Any]:
    # On PostgreSQL the feed shows an event once every older transaction in the cluster ended.
    feed_settled(registry)
    with session_factory(registry)() as session:
        return read_events(session, types=["backup.completed", "backup.failed"])


def _archives(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("benben-backup-"))


def test_no_task_no_schedule_no_metrics_without_an_interval(app) -> None:
    registry = app.app.registry
    assert TASK not in registered_tasks(registry)
    assert TASK not in get_celery(registry).conf.beat_schedule
    assert "benben_backup" not in app.get("/metrics", extra_environ=LOCAL).text


def test_the_interval_schedules_the_task_and_its_metrics_at_zero(make_app, tmp_path) -> None:
    app = _scheduled(make_app, tmp_path, interval_hours="6")
    registry = app.app.registry
    assert TASK in registered_tasks(registry)
    entry = get_celery(registry).conf.beat_schedule[TASK]
    assert (entry["task"], entry["schedule"]) == (TASK, 6 * 3600.0)
    text = app.get("/metrics", extra_environ=LOCAL).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["benben_backup_runs"].type == "counter"
    runs = {s.labels["outcome"]: s.value for s in families["benben_backup_runs"].samples
            if s.name == "benben_backup_runs_total"}  # fmt: skip
    assert runs == {"success": 0.0, "failure": 0.0}
    assert _value(registry, "benben_backup_interval_seconds") == 6 * 3600
    assert _value(registry, "benben_backup_last_success_timestamp_seconds") == 0


def test_a_run_writes_an_archive_applies_retention_and_reports_it(make_app, tmp_path) -> None:
    target = tmp_path / "backups"
    target.mkdir()
    now = datetime.datetime.now(datetime.UTC)
    # Older archives: one of each of the three days before (only the newest day is kept), and
    # a stranger's file retention never touches.
    old = [archive_name(now - days * DAY) for days in (3, 2, 1)]
    for name in old:
        (target / name).write_bytes(b"old")
    (target / "notes.txt").write_text("mine")
    app = _scheduled(make_app, target, keep_daily="2", keep_weekly="0")
    registry = app.app.registry

    assert run_periodic_tasks(registry, TASK) == 1

    archives = _archives(target)
    assert len(archives) == 2
    assert archives[0] == old[-1]
    with tarfile.open(target / archives[1]) as tar:
        assert tar.getnames()[0] == "manifest.json"
    assert (target / "notes.txt").exists()
    (event,) = _backup_events(registry)
    assert event.type == "backup.completed"
    assert event.collection_id is None
    data = event.data
    assert data["location"] == str(target / archives[1])
    assert data["size"] == (target / archives[1]).stat().st_size
    assert data["rows"] >= 0
    assert data["files"] == 0
    assert data["seconds"] >= 0
    assert _value(registry, "benben_backup_runs_total", outcome="success") == 1
    assert _value(registry, "benben_backup_runs_total", outcome="failure") == 0
    assert _value(registry, "benben_backup_last_size_bytes") == data["size"]
    assert _value(registry, "benben_backup_duration_seconds") > 0
    finished = _value(registry, "benben_backup_last_success_timestamp_seconds")
    assert abs(finished - datetime.datetime.now(datetime.UTC).timestamp()) < 60


def test_a_run_soon_after_another_skips_and_notes_the_archive(make_app, tmp_path) -> None:
    # A scheduler sends the task at once when it starts: a restart must not make an archive.
    target = tmp_path / "backups"
    target.mkdir()
    recent = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=11)
    (target / archive_name(recent)).write_bytes(b"recent")
    app = _scheduled(make_app, target)
    registry = app.app.registry

    run_periodic_tasks(registry, TASK)

    assert _archives(target) == [archive_name(recent)]
    assert _backup_events(registry) == []
    assert _value(registry, "benben_backup_runs_total", outcome="success") == 0
    noted = _value(registry, "benben_backup_last_success_timestamp_seconds")
    assert noted == pytest.approx(recent.timestamp(), abs=0.001)


def test_an_archive_half_an_interval_old_is_due_again(make_app, tmp_path) -> None:
    target = tmp_path / "backups"
    target.mkdir()
    older = archive_name(datetime.datetime.now(datetime.UTC) - 13 * DAY / 24)
    (target / older).write_bytes(b"x")
    registry = _scheduled(make_app, target).app.registry
    run_periodic_tasks(registry, TASK)
    assert _archives(target)[-1] > older  # a new one (retention may drop the older: same day)
    assert _value(registry, "benben_backup_runs_total", outcome="success") == 1


def test_a_failing_run_is_counted_published_and_logged_never_raised(
    make_app, tmp_path, caplog
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    app = _scheduled(make_app, blocker / "backups")
    registry = app.app.registry

    with caplog.at_level(logging.ERROR, logger="benben.backup.schedule"):
        assert run_periodic_tasks(registry, TASK) == 1  # ran, did not raise

    assert _value(registry, "benben_backup_runs_total", outcome="failure") == 1
    assert _value(registry, "benben_backup_runs_total", outcome="success") == 0
    assert _value(registry, "benben_backup_last_failure_timestamp_seconds") > 0
    assert _value(registry, "benben_backup_last_success_timestamp_seconds") == 0
    (event,) = _backup_events(registry)
    assert event.type == "backup.failed"
    assert event.data["target"] == str(blocker / "backups")
    assert event.data["error"]
    assert "\n" not in event.data["error"]
    (record,) = [r for r in caplog.records if r.name == "benben.backup.schedule"]
    assert record.getMessage() == (
        f"scheduled backup to {blocker / 'backups'} failed: {event.data['error']}"
    )
    # The worker goes on: the next run fails the same way, counted again.
    run_periodic_tasks(registry, TASK)
    assert _value(registry, "benben_backup_runs_total", outcome="failure") == 2


def test_s3_credentials_never_reach_the_event_or_the_log(make_app, caplog) -> None:
    # No bucket answers on this port: the run fails, and says so without the key.
    pytest.importorskip("boto3")
    registry = _scheduled(
        make_app,
        "s3://AKIAEXAMPLE:s3cr3t@bucket/benben",
        s3_endpoint_url="http://127.0.0.1:9",
        s3_region="us-east-1",
    ).app.registry
    with caplog.at_level(logging.ERROR, logger="benben.backup.schedule"):
        run_periodic_tasks(registry, TASK)
    (event,) = _backup_events(registry)
    assert event.type == "backup.failed"
    assert event.data["target"] == "s3://bucket/benben"
    shown = caplog.text + str(event.data)
    assert "s3cr3t" not in shown
    assert "AKIAEXAMPLE" not in shown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("s3://key:secret@bucket/prefix", "s3://bucket/prefix"),
        ("failed: https://token@host/x and s3://a:b@c", "failed: https://host/x and s3://c"),
        ("s3://bucket/prefix", "s3://bucket/prefix"),
        ("user@example.org", "user@example.org"),
    ],
)
def test_redact_credentials(text: str, expected: str) -> None:
    assert redact_credentials(text) == expected


@pytest.mark.parametrize(
    ("target", "output"),
    [("", ""), ("/srv/backups", "/srv/backups/"), ("/srv/b/", "/srv/b/"),
     ("s3://bucket/p", "s3://bucket/p"), ("/srv/x.tar", "/srv/x.tar/")],
)  # fmt: skip
def test_the_scheduled_target_is_always_a_directory_or_a_bucket(target: str, output: str) -> None:
    assert scheduled_output({"benben.backup.target": target}) == output
