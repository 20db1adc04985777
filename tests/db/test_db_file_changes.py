"""FileChanges: writes in a directory reported by the kernel, asked without a blocking call."""

from __future__ import annotations

import gc
import os
import sqlite3
import subprocess
import sys

import pytest

from benben.db.file_changes import FileChanges

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify")


def test_nothing_pending_until_a_file_is_written_then_drained_once(tmp_path):
    changes = FileChanges.open(str(tmp_path))
    assert changes is not None
    assert not changes.pending()
    (tmp_path / "x").write_text("a")
    # Peeking does not take the report: it stays until drained.
    assert changes.pending()
    assert changes.pending()
    assert changes.drain() is True
    assert not changes.pending()


def test_a_commit_by_another_process_is_pending_when_it_returns(tmp_path):
    path = tmp_path / "db.sqlite"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (x)")
    changes = FileChanges.open(str(tmp_path))
    assert changes is not None
    connection.execute("SELECT * FROM t").fetchall()  # reading reports nothing
    assert not changes.pending()
    insert = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
        "c.execute('INSERT INTO t VALUES (1)'); c.commit()"
    )
    subprocess.run([sys.executable, "-c", insert, str(path)], check=True, timeout=30)
    assert changes.pending()
    connection.close()


def test_a_removed_directory_is_reported_as_a_lost_watch(tmp_path):
    directory = tmp_path / "var"
    directory.mkdir()
    changes = FileChanges.open(str(directory))
    directory.rmdir()
    assert changes.pending()
    assert changes.drain() is False  # the caller then asks SQLite instead


def test_a_missing_directory_gives_none(tmp_path):
    assert FileChanges.open(str(tmp_path / "missing")) is None


def _inotify_descriptors():
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:inotify":
                found.add(fd)
        except OSError:  # closed meanwhile (os.listdir's own descriptor, another thread's)
            pass
    return found


def test_the_descriptor_is_closed_when_dropped(tmp_path):
    # Only this watcher's descriptor is followed: other threads of the test process (servers,
    # subscriptions) open and close descriptors of their own meanwhile.
    before = _inotify_descriptors()
    changes = FileChanges.open(str(tmp_path))
    (mine,) = _inotify_descriptors() - before
    del changes
    gc.collect()
    assert mine not in _inotify_descriptors()


# Run in a fresh, single-threaded interpreter: forking the threaded test process is unsafe.
_FORK_SCRIPT = """
import os, sys
from pathlib import Path
from benben.db.file_changes import FileChanges

directory = Path(sys.argv[1])
changes = FileChanges.open(str(directory))
(directory / "x").write_text("a")
pid = os.fork()
if pid == 0:
    # The child shares the descriptor: it must neither take the report nor trust the watch.
    os._exit(0 if changes.pending() and changes.drain() is False else 1)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, "the child used the inherited watch"
assert changes.pending(), "the parent's report was taken by the child"
assert changes.drain() is True and not changes.pending()
"""


def test_a_forked_child_neither_takes_the_parents_reports_nor_trusts_the_watch(tmp_path):
    subprocess.run([sys.executable, "-c", _FORK_SCRIPT, str(tmp_path)], check=True, timeout=60)
