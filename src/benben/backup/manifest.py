"""An archive's ``manifest.json`` read and checked: what the reader then expects, member by member.

Everything a later step relies on is checked here, once: names that become member names or SQL
identifiers, column types the archive knows, sizes and digests of the right shape.  A manifest
that passes describes an archive the reader can walk without further guessing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from benben.backup.format import (
    FORMAT,
    FORMAT_VERSION,
    LOGICAL_TYPES,
    MANIFEST,
    MEMBER_NAME,
    ArchiveError,
    files_index_member,
    table_member,
)

__all__ = [
    "ColumnSpec",
    "FilesSpec",
    "Manifest",
    "MemberDigest",
    "ParticipantSpec",
    "TableSpec",
    "parse_manifest",
]

# Column names become SQL identifiers (quoted all the same).
_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    nullable: bool


@dataclass(frozen=True)
class TableSpec:
    participant: str
    name: str
    member: str
    columns: tuple[ColumnSpec, ...]
    primary_key: tuple[str, ...]
    rows: int
    sequence: tuple[str, int] | None  # (column, highest value handed out)


@dataclass(frozen=True)
class FilesSpec:
    participant: str
    index: str
    count: int
    bytes: int


@dataclass(frozen=True)
class ParticipantSpec:
    name: str
    version: str
    tables: tuple[TableSpec, ...]
    files: FilesSpec | None


@dataclass(frozen=True)
class MemberDigest:
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    created_at: str
    benben_version: str
    migrations: dict[str, tuple[str, ...]]
    participants: tuple[ParticipantSpec, ...]
    not_backed_up: tuple[str, ...]
    members: dict[str, MemberDigest]
    raw: dict[str, Any]

    def tables(self) -> list[TableSpec]:
        return [table for participant in self.participants for table in participant.tables]

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables())

    @property
    def files(self) -> int:
        return sum(p.files.count for p in self.participants if p.files is not None)

    @property
    def file_bytes(self) -> int:
        return sum(p.files.bytes for p in self.participants if p.files is not None)


def parse_manifest(data: bytes) -> Manifest:
    """``manifest.json``'s bytes as a :class:`Manifest`, or :class:`ArchiveError` saying what is
    wrong; the format version first, so that a newer archive is told as such."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ArchiveError(f"{MANIFEST} is not valid JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ArchiveError(f"{MANIFEST} is not a Benben archive's manifest (format {FORMAT!r})")
    version = raw.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ArchiveError(f"{MANIFEST}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ArchiveError(
            f"archive format {version} is newer than this Benben reads ({FORMAT_VERSION}): "
            "upgrade Benben"
        )
    participants = tuple(_participant(p) for p in _list(raw, "participants"))
    names = [p.name for p in participants]
    if len(set(names)) != len(names):
        raise ArchiveError(f"{MANIFEST}: a participant is listed twice")
    tables = [table.name for p in participants for table in p.tables]
    if len(set(tables)) != len(tables):
        raise ArchiveError(f"{MANIFEST}: a table is listed twice")
    manifest = Manifest(
        created_at=_str(raw, "created_at"),
        benben_version=_str(raw, "benben_version"),
        migrations=_migrations(raw.get("migrations")),
        participants=participants,
        not_backed_up=tuple(str(name) for name in raw.get("not_backed_up") or ()),
        members=_members(raw.get("members")),
        raw=raw,
    )
    expected = {t.member for t in manifest.tables()} | {
        p.files.index for p in participants if p.files is not None
    }
    if set(manifest.members) != expected:
        extra = sorted(set(manifest.members) - expected)
        missing = sorted(expected - set(manifest.members))
        detail = f"unknown member {extra[0]}" if extra else f"no digest of {missing[0]}"
        raise ArchiveError(f"{MANIFEST}: members: {detail}")
    return manifest


def _fail(where: str, what: str) -> ArchiveError:
    return ArchiveError(f"{MANIFEST}: {where}: {what}")


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list):
        raise _fail(key, "not a list")
    return value


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise _fail(key, "not a string")
    return value


def _count(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _fail(where, f"{value!r} is not a count")
    return value


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not MEMBER_NAME.fullmatch(value):
        raise _fail(where, f"invalid name {value!r}")
    return value


def _migrations(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise _fail("migrations", "not an object")
    found = {}
    for source, heads in value.items():
        if not isinstance(heads, list) or not all(isinstance(h, str) and h for h in heads):
            raise _fail(f"migrations of {source}", "not a list of revisions")
        found[str(source)] = tuple(heads)
    return found


def _members(value: Any) -> dict[str, MemberDigest]:
    if not isinstance(value, dict):
        raise _fail("members", "not an object")
    found = {}
    for name, digest in value.items():
        if not isinstance(digest, dict) or not _SHA256.fullmatch(str(digest.get("sha256"))):
            raise _fail(f"members: {name}", "no size and sha256")
        found[name] = MemberDigest(_count(digest.get("size"), f"members: {name}"), digest["sha256"])
    return found


def _participant(value: Any) -> ParticipantSpec:
    if not isinstance(value, dict):
        raise _fail("participants", "not an object")
    name = _name(value.get("name"), "participant")
    where = f"participant {name}"
    version = value.get("version") or ""
    tables = tuple(_table(name, table) for table in _list(value, "tables"))
    files = value.get("files")
    if files is not None:
        if not isinstance(files, dict) or files.get("index") != files_index_member(name):
            raise _fail(where, f"files: index is not {files_index_member(name)}")
        files = FilesSpec(
            name,
            files["index"],
            _count(files.get("count"), f"{where}: files"),
            _count(files.get("bytes"), f"{where}: files"),
        )
    return ParticipantSpec(name, str(version), tables, files)


def _table(participant: str, value: Any) -> TableSpec:
    if not isinstance(value, dict):
        raise _fail(f"participant {participant}", "a table is not an object")
    name = _name(value.get("name"), f"participant {participant}: table")
    where = f"table {name}"
    if value.get("member") != table_member(name):
        raise _fail(where, f"member is not {table_member(name)}")
    columns = []
    for column in _list(value, "columns"):
        if not isinstance(column, dict) or not isinstance(column.get("name"), str):
            raise _fail(where, "a column without a name")
        if not _COLUMN_NAME.fullmatch(column["name"]):
            raise _fail(where, f"invalid column name {column['name']!r}")
        if column.get("type") not in LOGICAL_TYPES:
            raise _fail(f"{where}: column {column['name']}", f"unknown type {column.get('type')!r}")
        columns.append(ColumnSpec(column["name"], column["type"], bool(column.get("nullable"))))
    names = [column.name for column in columns]
    if not names or len(set(names)) != len(names):
        raise _fail(where, "no columns, or a column listed twice")
    key = value.get("primary_key") or []
    if not isinstance(key, list) or not all(column in names for column in key):
        raise _fail(where, "its primary key names an unknown column")
    sequence = value.get("sequence")
    if sequence is not None:
        if not isinstance(sequence, dict) or sequence.get("column") not in names:
            raise _fail(where, "its sequence names an unknown column")
        sequence = (sequence["column"], _count(sequence.get("value"), f"{where}: sequence"))
    return TableSpec(
        participant,
        name,
        table_member(name),
        tuple(columns),
        tuple(key),
        _count(value.get("rows"), f"{where}: rows"),
        sequence,
    )
