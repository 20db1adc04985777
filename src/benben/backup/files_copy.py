"""Participants' files in an archive: listed in the snapshot's transaction, then copied into
the tar with their size and sha256 checked on the way (a file that changed or vanished since it
was listed fails the backup, naming it, rather than archiving bytes its index contradicts)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection

from benben.backup.format import MEMBER_NAME
from benben.backup.participants import BackupFile, BackupParticipant
from benben.backup.targets import BackupError

__all__ = ["CheckedFile", "list_files"]


def list_files(
    registry: Any, connection: Connection, participant: BackupParticipant
) -> list[BackupFile]:
    """The participant's files, by name (the index's order), names checked."""
    assert participant.files is not None
    listed = sorted(participant.files.list(registry, connection), key=lambda item: item.name)
    previous = None
    for item in listed:
        if not MEMBER_NAME.fullmatch(item.name):
            raise BackupError(
                f"{participant.name}: file name {item.name!r} cannot be an archive member's"
            )
        if item.name == previous:
            raise BackupError(f"{participant.name}: file {item.name} is listed twice")
        previous = item.name
    return listed


class CheckedFile:
    """A file's bytes as tarfile reads them (exactly ``size``), hashed on the way: a size or
    sha256 other than the listed one raises :class:`BackupError` naming the file."""

    def __init__(self, participant: str, file: BackupFile) -> None:
        self.participant = participant
        self.file = file
        self._chunks: Iterator[bytes] | None = None
        self._buffer = b""
        self._delivered = 0
        self._hash = hashlib.sha256()

    def _fail(self, reason: str) -> BackupError:
        return BackupError(
            f"{self.participant} file {self.file.name}: {reason} (it changed since it was "
            "listed, or its store is damaged)"
        )

    def _next_chunk(self) -> bytes | None:
        if self._chunks is None:
            try:
                self._chunks = iter(self.file.open())
            except Exception as exc:
                raise BackupError(
                    f"{self.participant} file {self.file.name}: cannot be read ({exc})"
                ) from exc
        try:
            return next(self._chunks)
        except StopIteration:
            return None
        except Exception as exc:
            raise BackupError(
                f"{self.participant} file {self.file.name}: cannot be read ({exc})"
            ) from exc

    def read(self, size: int = -1) -> bytes:
        expected = self.file.size
        wanted = expected - self._delivered if size < 0 else min(size, expected - self._delivered)
        while len(self._buffer) < wanted:
            chunk = self._next_chunk()
            if chunk is None:
                got = self._delivered + len(self._buffer)
                raise self._fail(f"{got:,} bytes where {expected:,} were listed")
            self._buffer += chunk
        data, self._buffer = self._buffer[:wanted], self._buffer[wanted:]
        self._hash.update(data)
        self._delivered += len(data)
        if self._delivered == expected:
            self._finish()
        return data

    def _finish(self) -> None:
        extra = len(self._buffer)
        while (chunk := self._next_chunk()) is not None:
            extra += len(chunk)
        if extra:
            total = self.file.size + extra
            raise self._fail(f"{total:,} bytes where {self.file.size:,} were listed")
        if self._hash.hexdigest() != self.file.sha256:
            raise self._fail("its sha256 is not the one listed")
