"""Reading an archive front to back, in constant memory, trusting nothing.

:class:`ArchiveReader` walks the tar as a stream (never its index of members: an archive of a
million attachments would hold a million headers in memory): ``manifest.json`` first, then
every member the manifest announces, in the order it announces them, each checked against its
size and sha256 (a file against its participant's index) while it is read.  The caller gets
:class:`TableEntry` (a table's rows, decoded) and :class:`FileEntry` (a file's bytes, in
chunks); whatever it leaves unread is read and checked all the same before the next member.

A damaged member is reported by its checksum (a flipped byte is "sha256 mismatch", not whatever
gzip or JSON made of it); a short archive by the member it ends in.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import IO, Any

from benben.backup.format import MANIFEST, MEMBER_NAME, ArchiveError, decode_value, file_member
from benben.backup.manifest import FilesSpec, Manifest, MemberDigest, TableSpec, parse_manifest

__all__ = ["ArchiveReader", "FileEntry", "TableEntry"]

CHUNK = 1024 * 1024
MAX_MANIFEST = 64 * 1024 * 1024  # a manifest lists tables, not files: megabytes at most
_GZIP_MAGIC = b"\x1f\x8b"

# What a JSON value of each logical type must be before decode_value reads it (decode_value
# alone would take 1.5 as an integer, or "1" as a boolean).
_JSON = json.JSONDecoder()
# Kinds whose JSON value, once its type is checked, is the value itself.
_AS_PARSED = frozenset({"string", "integer", "boolean", "json"})
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "boolean": (bool,),
    "float": (int, float),
    "decimal": (str,),
    "json": (object,),
    "datetime": (str,),
    "datetime_tz": (str,),
    "date": (str,),
    "bytes": (str,),
    "uuid": (str,),
}


@dataclass
class TableEntry:
    """A table member: its manifest entry and its rows (lists in the manifest's column order,
    values decoded by :func:`benben.backup.format.decode_value`)."""

    spec: TableSpec
    rows: Iterator[list[Any]]


@dataclass
class FileEntry:
    """A participant's file: its name, size, sha256 (as the index says) and its bytes."""

    participant: str
    name: str
    size: int
    sha256: str
    chunks: Iterator[bytes]


class _Member(io.RawIOBase):
    """A member's bytes as read from the tar, hashed and counted on the way; a short archive
    becomes "archive ends inside member <name>"."""

    def __init__(self, tar: tarfile.TarFile, info: tarfile.TarInfo) -> None:
        super().__init__()
        self.name = info.name
        self.size = info.size
        self.read_bytes = 0
        self.digest = hashlib.sha256()
        source = tar.extractfile(info)
        if source is None:
            raise ArchiveError(f"{info.name}: not a regular file")
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._source.read(len(buffer))
        except (tarfile.ReadError, EOFError):
            raise ArchiveError(f"archive ends inside member {self.name}: truncated") from None
        if not data and self.read_bytes < self.size:
            raise ArchiveError(f"archive ends inside member {self.name}: truncated")
        self.digest.update(data)
        self.read_bytes += len(data)
        buffer[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    def check(self, expected: MemberDigest | None, label: str | None = None) -> None:
        """Read what is left, then compare with ``expected`` (size, sha256)."""
        self.drain()
        if expected is None:
            return
        if self.read_bytes != expected.size:
            raise ArchiveError(
                f"{label or self.name}: {self.read_bytes} bytes, the archive says {expected.size}"
            )
        if self.digest.hexdigest() != expected.sha256:
            raise ArchiveError(f"{label or self.name}: sha256 mismatch")


class ArchiveReader:
    """An archive opened for one pass: ``manifest`` at once, then :meth:`entries` in order.

    ``with ArchiveReader(path) as reader: for entry in reader.entries(): ...``
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        try:
            self._file: IO[bytes] = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        except FileNotFoundError:
            raise ArchiveError("no such file") from None
        except IsADirectoryError:
            raise ArchiveError("a directory, not an archive") from None
        try:
            self._tar = self._open_tar()
            self._last = "(start)"
            self.manifest = self._read_manifest()
        except BaseException:
            self._file.close()
            raise

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._tar.close()
        self._file.close()

    def _open_tar(self) -> tarfile.TarFile:
        head = self._file.read(2)
        self._file.seek(0)
        try:
            return tarfile.open(fileobj=self._file, mode="r|")
        except tarfile.ReadError:
            if head == _GZIP_MAGIC:
                raise ArchiveError(
                    "gzip-compressed: a Benben archive is a plain tar (gunzip it first)"
                ) from None
            raise ArchiveError("not a Benben archive (not a tar file)") from None

    def _next(self, expected: str) -> _Member:
        """The next member, which must be ``expected``."""
        try:
            info = self._tar.next()
        except tarfile.ReadError as exc:
            raise ArchiveError(
                f"archive damaged after member {self._last}: {exc} (truncated or corrupt)"
            ) from None
        # Stream mode still keeps every header it read: forgotten, so that memory stays flat.
        self._tar.members.clear()
        if info is None:
            raise ArchiveError(self._why_no_member(expected))
        if info.name != expected:
            raise ArchiveError(f"unexpected member {info.name} where {expected} should be")
        if not info.isreg():
            raise ArchiveError(f"{info.name}: not a regular file")
        self._last = info.name
        return _Member(self._tar, info)

    def _why_no_member(self, expected: str) -> str:
        """Why the stream ended where ``expected`` should be: the archive stops (truncated), or
        the block there is no tar header (damaged; tarfile ends quietly on a bad checksum)."""
        block = os.pread(self._file.fileno(), tarfile.BLOCKSIZE, self._tar.offset)
        if len(block) == tarfile.BLOCKSIZE and block.count(0) != len(block):
            return (
                f"archive damaged after member {self._last}: "
                f"no tar header where {expected} should be"
            )
        return f"archive ends after member {self._last}, before {expected}: truncated"

    def _read_manifest(self) -> Manifest:
        member = self._next(MANIFEST)
        if member.size > MAX_MANIFEST:
            raise ArchiveError(f"{MANIFEST} is {member.size} bytes: not a Benben archive")
        return parse_manifest(member.read())

    def entries(self) -> Iterator[TableEntry | FileEntry]:
        """Every table, then every participant's files, in archive order; ends by checking that
        nothing follows the last member."""
        for table in self.manifest.tables():
            member = self._next(table.member)
            if member.size != self.manifest.members[table.member].size:
                raise ArchiveError(
                    f"{table.member}: {member.size} bytes, the archive says "
                    f"{self.manifest.members[table.member].size}"
                )
            rows = _Rows(table, member, self.manifest.members[table.member])
            yield TableEntry(table, iter(rows))
            rows.finish()
        for participant in self.manifest.participants:
            if participant.files is not None:
                yield from self._files(participant.files)
        self._end()

    def _files(self, spec: FilesSpec) -> Iterator[FileEntry]:
        index = self._next(spec.index)
        # The index is read alongside the files that follow it: kept (compressed) in a
        # temporary file, not in memory.
        with tempfile.SpooledTemporaryFile(max_size=CHUNK) as copy:
            while chunk := index.read(CHUNK):
                copy.write(chunk)
            index.check(self.manifest.members[spec.index])
            copy.seek(0)
            count = total = 0
            previous = ""
            for number, (name, size, sha256) in enumerate(_index_lines(spec, copy), 1):
                if name <= previous:
                    raise ArchiveError(f"{spec.index} line {number}: names not in order")
                previous = name
                member = self._next(file_member(spec.participant, name))
                if member.size != size:
                    raise ArchiveError(f"{member.name}: {member.size} bytes, its index says {size}")
                chunks = _chunks(member)
                yield FileEntry(spec.participant, name, size, sha256, chunks)
                for _ in chunks:  # what the caller left unread
                    pass
                member.check(MemberDigest(size, sha256))
                count += 1
                total += size
        if (count, total) != (spec.count, spec.bytes):
            raise ArchiveError(
                f"{spec.index}: {count} files of {total} bytes, the manifest says "
                f"{spec.count} of {spec.bytes}"
            )

    def _end(self) -> None:
        try:
            info = self._tar.next()
        except tarfile.ReadError as exc:
            raise ArchiveError(f"archive damaged after member {self._last}: {exc}") from None
        if info is not None:
            raise ArchiveError(f"unexpected member {info.name} after the last one")


def _chunks(member: _Member) -> Iterator[bytes]:
    while chunk := member.read(CHUNK):
        yield chunk


def _index_lines(spec: FilesSpec, copy: IO[bytes]) -> Iterator[tuple[str, int, str]]:
    with gzip.GzipFile(fileobj=copy, mode="rb") as lines:
        for number, line in enumerate(lines, 1):
            try:
                name, size, sha256 = json.loads(line)
                valid = (
                    isinstance(name, str)
                    and MEMBER_NAME.fullmatch(name) is not None
                    and isinstance(size, int)
                    and not isinstance(size, bool)
                    and size >= 0
                    and isinstance(sha256, str)
                    and len(sha256) == 64
                )
            except ValueError:
                valid = False
            if not valid:
                raise ArchiveError(f"{spec.index} line {number}: not [name, size, sha256]")
            yield name, size, sha256


class _Rows:
    """A table member's rows, decoded and checked line by line; :meth:`finish` reads what the
    caller left and checks the row count and the member's digest."""

    def __init__(self, spec: TableSpec, member: _Member, digest: MemberDigest) -> None:
        self.spec = spec
        self.member = member
        self.digest = digest
        self.count = 0
        self._iterator = self._rows()

    def __iter__(self) -> Iterator[list[Any]]:
        return self._iterator

    def finish(self) -> None:
        for _ in self._iterator:
            pass
        self.member.check(self.digest)
        if self.count != self.spec.rows:
            raise ArchiveError(
                f"{self.spec.member}: {self.count} rows, the manifest says {self.spec.rows}"
            )

    def _rows(self) -> Iterator[list[Any]]:
        columns = self.spec.columns
        width = len(columns)
        checks = [
            (
                c.type,
                _JSON_TYPES[c.type],
                c.nullable,
                c.name,
                c.type in ("integer", "float"),
                None if c.type in _AS_PARSED else partial(decode_value, c.type),
            )
            for c in columns
        ]
        lines = gzip.GzipFile(fileobj=self.member, mode="rb")
        number = 0
        reading = True  # a failure while reading line number + 1, else while checking it
        try:
            for line in lines:
                number += 1
                reading = False
                # raw_decode of the decoded text: json.loads would guess the bytes' encoding
                # and skip whitespace on every line (the writer puts none).
                text = line.decode()
                row, end = _JSON.raw_decode(text)
                if text[end:].strip():
                    raise json.JSONDecodeError("Extra data", text, end)
                if not isinstance(row, list) or len(row) != width:
                    raise ValueError(f"not a JSON array of {width} values")
                for position, (kind, json_types, nullable, name, number_, decode) in enumerate(
                    checks
                ):
                    value = row[position]
                    if value is None:
                        if not nullable:
                            raise ValueError(f"column {name}: null in a column that is not")
                        continue
                    if not isinstance(value, json_types) or (number_ and isinstance(value, bool)):
                        raise ValueError(f"column {name}: {value!r} is not of type {kind}")
                    if decode is None:
                        continue
                    try:
                        row[position] = decode(value)
                    except (ValueError, TypeError, ArithmeticError) as exc:
                        raise ValueError(f"column {name}: not a {kind} ({exc})") from None
                self.count += 1
                reading = True
                yield row
        except ArchiveError:
            raise
        except (OSError, EOFError, zlib.error, ValueError) as exc:
            # A corrupt member is told by its digest, the cause; only a member whose digest
            # matches is told by what is wrong inside it.
            self.member.check(self.digest)
            where = f"{self.spec.member} line {number + 1 if reading else number}"
            if isinstance(exc, json.JSONDecodeError):
                raise ArchiveError(f"{where}: not JSON ({exc})") from None
            if isinstance(exc, ValueError):
                raise ArchiveError(f"{where}: {exc}") from None
            raise ArchiveError(f"{where}: unreadable ({exc})") from None
