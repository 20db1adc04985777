"""The workers' metrics directory on the master's side: fresh and private, named in the
environment, emptied, removed; a worker's live gauges removed when it ends, its counters kept."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from benben.observability.metrics_directory import (
    MULTIPROCESS_ENVIRON_KEY,
    empty_metrics_directory,
    multiprocess_directory,
    shared_metrics_directory,
    worker_exited,
)


@pytest.fixture(autouse=True)
def private_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.delenv(MULTIPROCESS_ENVIRON_KEY, raising=False)
    # tempfile caches the directory it chose: forget it, so that TMPDIR counts.
    monkeypatch.setattr("tempfile.tempdir", None)
    return tmp_path


def test_a_fresh_private_directory_is_named_for_the_workers_then_removed(private_temp):
    with shared_metrics_directory() as directory:
        assert directory is not None
        assert Path(directory).parent == private_temp
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
        assert multiprocess_directory() == directory == os.environ[MULTIPROCESS_ENVIRON_KEY]
        (Path(directory) / "counter_1.db").write_bytes(b"")
        with shared_metrics_directory() as second:
            assert second != directory  # a new one at each start, never one left over
        assert multiprocess_directory() == directory  # restored
    assert not Path(directory).exists()
    assert multiprocess_directory() is None


def test_without_metrics_there_is_no_directory(private_temp):
    with shared_metrics_directory(enabled=False) as directory:
        assert directory is None
        assert multiprocess_directory() is None
    assert list(private_temp.iterdir()) == []


def test_emptied_of_what_the_master_wrote(private_temp):
    with shared_metrics_directory() as directory:
        assert directory is not None
        for name in ("counter_7.db", "gauge_livesum_7.db"):
            (Path(directory) / name).write_bytes(b"")
        empty_metrics_directory(directory)
        assert list(Path(directory).iterdir()) == []


def test_a_gone_workers_live_gauges_are_removed_and_its_counters_kept(private_temp):
    worker_exited(12)  # one process: nothing to do, and nothing imported for it
    with shared_metrics_directory() as directory:
        assert directory is not None
        names = ["counter_12.db", "histogram_12.db", "gauge_livesum_12.db",
                 "gauge_liveall_12.db", "gauge_livesum_13.db"]  # fmt: skip
        for name in names:
            (Path(directory) / name).write_bytes(b"")
        worker_exited(12)
        assert sorted(p.name for p in Path(directory).iterdir()) == [
            "counter_12.db", "gauge_livesum_13.db", "histogram_12.db",
        ]  # fmt: skip
