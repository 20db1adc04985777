"""What the delivery proofs share: real ``benben worker`` processes on a test's database and
broker, killed and restarted at will, and the checks of what a receiver got."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benben.settings import env_name

BIN = Path(sys.executable).parent


def worker_environ(settings: Mapping[str, Any], **extra: str) -> dict[str, str]:
    """The environment that gives a ``benben worker`` the test app's settings."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BENBEN_")}
    for name, value in settings.items():
        text = " ".join(value) if isinstance(value, list | tuple) else str(value)
        environ[env_name(name)] = text
    environ.update(extra)
    return environ


class WorkerProcess:
    """``benben worker`` in a process group of its own (so that SIGKILL takes its children)."""

    def __init__(self, environ: Mapping[str, str], log: Path, *args: str) -> None:
        self.environ = dict(environ)
        self.log = log
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> WorkerProcess:
        script = BIN / "benben"
        command = [str(script)] if script.exists() else [sys.executable, "-m", "benben.cli"]
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [*command, "worker", *self.args],
                env=self.environ,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, nothing finished or acknowledged."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            self.kills += 1
        self.process = None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]


def duplicates(message_ids: list[str]) -> dict[str, int]:
    """The message ids received more than once, and how often."""
    return {message: count for message, count in Counter(message_ids).items() if count > 1}


def wait_for(
    check: Any,
    what: str,
    timeout: float,
    workers: Sequence[WorkerProcess] = (),
    state: Callable[[], Any] | None = None,
) -> None:
    """Until ``check()`` holds; on timeout, ``state()`` and the workers' output are in the
    error."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            logs = "\n".join(worker.output() for worker in workers)
            seen = state() if state is not None else ""
            raise AssertionError(f"timed out waiting for {what} ({seen})\n{logs}")
        time.sleep(0.1)
