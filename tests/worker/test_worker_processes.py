"""``benben worker`` and ``benben serve`` as real processes: a worker with --beat on Redis runs
the periodic sweeps and answers its probes; the embedded default runs them inside serve."""

from __future__ import annotations

import datetime
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, select
from worker_support import broker_for

from benben.cli import main
from benben.security.models import RevokedAccessToken

pytestmark = pytest.mark.slow

START_TIMEOUT = 30.0


def _command(*args: str) -> list[str]:
    script = Path(sys.executable).parent / "benben"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "benben.cli", *args]


def _environ(**overrides: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BENBEN_")}
    environ.update(overrides)
    return environ


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _expired_row(data_dir: Path) -> Any:
    """Migrate the embedded database of ``data_dir``; add a revoked token past its expiry."""
    from benben.config import make_wsgi_app
    from benben.db import get_engine

    app = make_wsgi_app({"benben.data_dir": str(data_dir)}, environ={})
    get_engine(app.registry).dispose()
    engine = create_engine(f"sqlite:///{data_dir / 'benben.sqlite'}")
    expired = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    with engine.begin() as connection:
        connection.execute(insert(RevokedAccessToken), {"jti": "expired", "expires_at": expired})
    return engine


def _wait_gone(engine: Any, process: subprocess.Popen[Any], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        with engine.connect() as connection:
            if not connection.execute(select(RevokedAccessToken.jti)).all():
                return
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def _stop(process: subprocess.Popen[Any]) -> tuple[int, float]:
    asked = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        code = process.wait(timeout=10)
    return code, time.monotonic() - asked


def test_worker_help(capsys):
    assert main(["worker", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--beat" in out
    assert "--concurrency N" in out
    assert "--queues A,B" in out
    assert main(["scheduler", "--help"]) == 0


def test_worker_refuses_to_start_without_a_broker(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BENBEN_WORKER_BROKER_URL", raising=False)
    assert main(["worker"]) == 2
    assert "benben.worker.broker_url is empty" in capsys.readouterr().err


def test_a_worker_process_with_beat_runs_the_sweeps_and_stops_warm(tmp_path):
    data_dir = tmp_path / "var"
    engine = _expired_row(data_dir)
    port = _free_port()
    with broker_for("redis") as (url, prefix):
        environ = _environ(
            BENBEN_DATA_DIR=str(data_dir),
            BENBEN_WORKER_BROKER_URL=url,
            BENBEN_WORKER_QUEUE_PREFIX=prefix,
            BENBEN_WORKER_SCHEDULER_LOCK=f"{prefix}lock",
            BENBEN_WORKER_HEALTH_PORT=str(port),
        )
        log = tmp_path / "worker.log"
        with open(log, "w") as output:
            process = subprocess.Popen(
                _command("worker", "--beat", "--concurrency", "2"),
                cwd=tmp_path,
                env=environ,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_gone(engine, process, log)  # beat sent the sweep at once, the worker ran it
            url_ready = f"http://127.0.0.1:{port}/health/ready"
            with urllib.request.urlopen(url_ready, timeout=10) as response:
                assert response.status == 200
        finally:
            code, _took = _stop(process)
        engine.dispose()
    text = log.read_text()
    assert code == 0, text
    assert "holding lock" in text
    assert "Traceback" not in text


def test_serve_runs_the_tasks_itself_by_default(tmp_path):
    data_dir = tmp_path / "var"
    engine = _expired_row(data_dir)
    log = tmp_path / "serve.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            _command("serve", "--port", "0"),
            cwd=tmp_path,
            env=_environ(BENBEN_DATA_DIR=str(data_dir)),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_gone(engine, process, log)  # the embedded schedule and worker: no broker
    finally:
        code, took = _stop(process)
        engine.dispose()
    text = log.read_text()
    assert code == 0, text
    assert took < 5, took
    assert "embedded worker started" in text
    assert "Traceback" not in text


def test_a_standby_scheduler_takes_over_from_a_killed_one(tmp_path):
    data_dir = tmp_path / "var"
    _expired_row(data_dir).dispose()  # migrated once, before the two start
    with broker_for("redis") as (url, prefix):
        environ = _environ(
            BENBEN_DATA_DIR=str(data_dir),
            BENBEN_WORKER_BROKER_URL=url,
            BENBEN_WORKER_QUEUE_PREFIX=prefix,
            BENBEN_WORKER_SCHEDULER_STANDBY_SECONDS="1",
        )
        logs = [tmp_path / "first.log", tmp_path / "second.log"]
        processes: list[subprocess.Popen[Any]] = []
        try:
            for log in logs:
                with open(log, "w") as output:
                    processes.append(
                        subprocess.Popen(
                            _command("scheduler"),
                            cwd=tmp_path,
                            env=environ,
                            stdout=output,
                            stderr=subprocess.STDOUT,
                        )
                    )
                _wait_for(log, "holding lock" if log == logs[0] else "standby")
            processes[0].kill()  # SIGKILL: no release, the kernel drops the lock
            _wait_for(logs[1], "holding lock")
            code, _took = _stop(processes[1])
            assert code == 0, logs[1].read_text()
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=10)


def _wait_for(log: Path, text: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while text not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
