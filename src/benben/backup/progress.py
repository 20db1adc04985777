"""Progress of long commands (backup, restore, verify, import, export) on stderr.

On a terminal each task is a tqdm bar (count, throughput); elsewhere (logs, CI, cron) plain
lines, at most one every :data:`PLAIN_INTERVAL` seconds per task plus a final line::

    benben_records: 1,000,000 rows in 12.3 s (81,300 rows/s)

Callers update in batches (a few hundred rows at a time): the per-call cost is a counter and a
clock read, so a dump is not slowed by its progress.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["PLAIN_INTERVAL", "Progress", "ProgressTask", "format_count", "make_progress"]

PLAIN_INTERVAL = 5.0


def format_count(value: float, unit: str) -> str:
    """``1,234,567 rows``, ``1 row``; bytes as ``12.3 MB`` (digits of bytes are unreadable)."""
    if unit in ("B", "bytes"):
        size = float(value)
        for suffix in ("B", "kB", "MB", "GB", "TB"):
            if size < 1000 or suffix == "TB":
                return f"{size:,.0f} {suffix}" if suffix == "B" else f"{size:,.1f} {suffix}"
            size /= 1000
    if value == 1 and unit.endswith("s"):  # 1 row, 1 file, 1 line
        unit = unit[:-1]
    return f"{value:,.0f} {unit}"


class ProgressTask:
    """One task's counter: ``update(n)`` adds ``n`` units done."""

    def __init__(self, label: str, total: int | None, unit: str) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.count = 0
        self.started = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.count += n

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def summary(self) -> str:
        """The final line: ``<label>: <count> <unit> in <s> s (<rate> <unit>/s)``."""
        elapsed = self.elapsed
        rate = self.count / elapsed if elapsed > 0 else 0.0
        return (
            f"{self.label}: {format_count(self.count, self.unit)} in {elapsed:.1f} s "
            f"({format_count(round(rate, -2) if rate >= 1000 else rate, self.unit)}/s)"
        )


class _QuietTask(ProgressTask):
    pass


class _PlainTask(ProgressTask):
    def __init__(
        self, label: str, total: int | None, unit: str, write: Callable[[str], None]
    ) -> None:
        super().__init__(label, total, unit)
        self._write = write
        self._next = self.started + PLAIN_INTERVAL

    def update(self, n: int = 1) -> None:
        self.count += n
        now = time.monotonic()
        if now >= self._next:
            self._next = now + PLAIN_INTERVAL
            of = f" of {format_count(self.total, self.unit)}" if self.total else ""
            self._write(f"{self.label}: {format_count(self.count, self.unit)}{of}...")


class _BarTask(ProgressTask):
    def __init__(self, label: str, total: int | None, unit: str, stream: TextIO) -> None:
        from tqdm import tqdm

        super().__init__(label, total, unit)
        byte_unit = unit in ("B", "bytes")
        self._bar: Any = tqdm(
            total=total,
            desc=label,
            unit="B" if byte_unit else f" {unit}",
            unit_scale=byte_unit,
            file=stream,
            leave=False,
            dynamic_ncols=True,
            mininterval=0.2,
        )

    def update(self, n: int = 1) -> None:
        self.count += n
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()


class Progress:
    """Progress of one command: tasks one after another, notes in between."""

    def __init__(self, stream: TextIO, *, enabled: bool = True, terminal: bool | None = None):
        self.stream = stream
        self.enabled = enabled
        if terminal is None:
            isatty = getattr(stream, "isatty", None)
            terminal = bool(isatty and isatty())
        self.terminal = terminal

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        """A line of its own (a phase, a detail); nothing in quiet mode."""
        if self.enabled:
            self._write(text)

    def warn(self, text: str) -> None:
        """``warning: <text>``, printed in quiet mode too: something the user must know."""
        self._write(f"warning: {text}")

    @contextmanager
    def task(self, label: str, total: int | None = None, unit: str = "rows") -> Iterator[Any]:
        """A counted task; its summary line is printed when it ends without an error."""
        task: ProgressTask
        if not self.enabled:
            task = _QuietTask(label, total, unit)
        elif self.terminal:
            task = _BarTask(label, total, unit, self.stream)
        else:
            task = _PlainTask(label, total, unit, self._write)
        try:
            yield task
        finally:
            if isinstance(task, _BarTask):
                task.close()
        if self.enabled:
            self._write(task.summary())


def make_progress(stream: TextIO | None = None, enabled: bool = True) -> Progress:
    """The progress of a command on ``stream`` (stderr by default): bars on a terminal, plain
    lines elsewhere, nothing when not ``enabled`` (``--quiet``)."""
    return Progress(sys.stderr if stream is None else stream, enabled=enabled)
