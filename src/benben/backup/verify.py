"""``benben backup verify``: an archive read whole, every check the reader makes, nothing written.

Passes when the manifest is one this Benben reads, every member it announces is there, in
order, with its size and sha256, nothing else is, every table's lines are JSON arrays of its
columns' types and count its rows, and every file matches its participant's index.  The first
problem raises :class:`benben.backup.format.ArchiveError` naming the member (and line).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from typing import Any

from benben.backup.format import ArchiveError
from benben.backup.manifest import Manifest
from benben.backup.progress import format_count
from benben.backup.reader import ArchiveReader, TableEntry

__all__ = ["ArchiveError", "VerifyReport", "verify_archive"]

# Rows counted between two progress updates (an update per row would cost more than the row).
BATCH = 1000


@dataclass(frozen=True)
class VerifyReport:
    """What a verified archive holds."""

    location: str
    size: int
    manifest: Manifest
    tables: int
    rows: int
    files: int
    file_bytes: int
    seconds: float

    def summary(self) -> str:
        """One line for the user: what was checked, from which Benben, in how long."""
        participants = ", ".join(
            f"{p.name} {p.version}".rstrip() for p in self.manifest.participants
        )
        return (
            f"{self.location}: OK ({format_count(self.size, 'B')}; {self.tables} tables, "
            f"{format_count(self.rows, 'rows')}, {format_count(self.files, 'files')} of "
            f"{format_count(self.file_bytes, 'B')}; made {self.manifest.created_at} by Benben "
            f"{self.manifest.benben_version} ({participants}); checked in {self.seconds:.1f} s)"
        )


def verify_archive(location: str | os.PathLike[str], *, progress: Any = None) -> VerifyReport:
    """Read the archive at ``location`` (a local file) whole and check everything; raise
    :class:`ArchiveError` on the first problem.  ``progress``: a
    :class:`benben.backup.progress.Progress` (a task per table, one for the files)."""
    started = time.monotonic()
    path = os.fspath(location)
    rows = files = file_bytes = 0
    with ArchiveReader(path) as reader, contextlib.ExitStack() as stack:
        manifest = reader.manifest
        files_task = None
        for entry in reader.entries():
            if isinstance(entry, TableEntry):
                rows += _count_rows(entry, progress)
                continue
            if files_task is None and progress is not None:  # files come last, together
                files_task = stack.enter_context(
                    progress.task("files", total=manifest.file_bytes, unit="B")
                )
            for chunk in entry.chunks:
                file_bytes += len(chunk)
                if files_task is not None:
                    files_task.update(len(chunk))
            files += 1
    return VerifyReport(
        location=path,
        size=os.path.getsize(path),
        manifest=manifest,
        tables=len(manifest.tables()),
        rows=rows,
        files=files,
        file_bytes=file_bytes,
        seconds=time.monotonic() - started,
    )


def _count_rows(entry: TableEntry, progress: Any) -> int:
    if progress is None:
        return sum(1 for _ in entry.rows)
    count = 0
    with progress.task(entry.spec.name, total=entry.spec.rows) as task:
        pending = 0
        for _ in entry.rows:
            pending += 1
            if pending == BATCH:
                task.update(pending)
                count += pending
                pending = 0
        task.update(pending)
        count += pending
    return count
