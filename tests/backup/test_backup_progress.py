"""Progress: plain lines off a terminal (rate-limited, a final line per task), tqdm bars on
one, nothing when quiet but warnings."""

from __future__ import annotations

import io
import re

import pytest

from benben.backup import progress as progress_module
from benben.backup.progress import Progress, format_count, make_progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_each_task_ends_with_a_plain_line():
    stream = io.StringIO()
    progress = make_progress(stream)
    assert progress.terminal is False
    with progress.task("benben_records") as bar:
        for _ in range(3):
            bar.update(1_000_000 // 3)
        bar.update(1)
    progress.note("done")
    lines = stream.getvalue().splitlines()
    assert re.fullmatch(
        r"benben_records: 1,000,000 rows in \d+\.\d s \([\d,]+ rows/s\)", lines[0]
    ), lines
    assert lines[1:] == ["done"]


def test_plain_lines_come_at_most_every_interval(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: clock[0])
    stream = io.StringIO()
    progress = make_progress(stream)
    with progress.task("files", total=3_000_000, unit="B") as bar:
        bar.update(1_000_000)  # at once: no line yet
        clock[0] += progress_module.PLAIN_INTERVAL
        bar.update(1_000_000)  # 5 s later: a line
        bar.update(500_000)  # right after: none
        clock[0] += 10
    assert stream.getvalue().splitlines() == [
        "files: 2.0 MB of 3.0 MB...",
        "files: 2.5 MB in 15.0 s (166.7 kB/s)",
    ]


def test_quiet_prints_nothing_but_warnings():
    stream = io.StringIO()
    progress = make_progress(stream, enabled=False)
    with progress.task("t") as bar:
        bar.update(5)
    progress.note("hidden")
    progress.warn("plugin x is not backed up")
    assert stream.getvalue() == "warning: plugin x is not backed up\n"
    assert bar.count == 5


def test_on_a_terminal_a_bar_is_drawn_and_the_summary_stays():
    stream = Terminal()
    progress = Progress(stream)
    assert progress.terminal is True
    with progress.task("benben_users", total=10) as bar:
        bar.update(10)
    output = stream.getvalue()
    assert "benben_users" in output
    assert "\r" in output  # tqdm redraws its line
    assert re.search(r"benben_users: 10 rows in \d+\.\d s", output)


def test_a_failed_task_prints_no_summary():
    stream = io.StringIO()
    progress = make_progress(stream)

    def fail() -> None:
        with progress.task("t") as bar:
            bar.update(1)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    assert stream.getvalue() == ""


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0, "rows", "0 rows"),
        (1234567, "rows", "1,234,567 rows"),
        (999, "B", "999 B"),
        (1500, "B", "1.5 kB"),
        (51_200, "B", "51.2 kB"),
        (2 * 10**12, "B", "2.0 TB"),
    ],
)
def test_counts_read_well(value, unit, text):
    assert format_count(value, unit) == text
