"""Helpers of the backup writer's tests: the same rows on any backend, an archive's members,
a participant with files of its own, a second backend in the same test."""

from __future__ import annotations

import datetime
import gzip
import hashlib
import json
import tarfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from benben.backup.participants import BackupFile, BackupParticipant
from benben.testing import committed_session

UTC = datetime.UTC
# One moment for every timestamp: archives of the same rows are the same bytes.
WHEN = datetime.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def seed(registry: Any) -> None:
    """Users, a group, collections, records (unicode JSON), grants, history, events, a feed
    consumer: fixed ids and times, so that every backend holds exactly the same rows."""
    from benben.accounts.models import Group, GroupMember, User
    from benben.data.models import Collection, CollectionGrant, HistoryEntry, Record
    from benben.events.models import EventRow, FeedConsumer

    with committed_session(registry) as session:
        for number, name in enumerate(["zoé", "Bob", "alice", "_x"]):
            session.add(
                User(
                    id=f"00000000-0000-0000-0000-00000000000{number}",
                    username=name,
                    email=f"{number}@example.org" if number % 2 else None,
                    display_name=f"Ünïcode {name} ✓",
                    password_hash="$argon2id$fixed",
                    is_active=number != 3,
                    is_admin=number == 0,
                    sessions_valid_after=WHEN if number == 1 else None,
                    last_login_at=None,
                    created_at=WHEN,
                    updated_at=WHEN,
                )
            )
        session.add(Group(id="g1", name="staff", description="", created_at=WHEN, updated_at=WHEN))
        session.flush()
        session.add(GroupMember(group_id="g1", user_id="00000000-0000-0000-0000-000000000002"))
        for cid in ["b", "B", "a", "é"]:  # byte order: B < a < b < é
            session.add(
                Collection(
                    id=cid,
                    title=f"T {cid}",
                    schema={"type": "object", "properties": {"n": {"type": "number"}}},
                    permissions={"read": ["system.Everyone"]},
                    created_at=WHEN,
                    updated_at=WHEN,
                    last_modified=10,
                    record_count=2,
                )
            )
        session.flush()
        session.add(CollectionGrant(collection_id="a", permission="read", principal="user:x"))
        for cid in ["a", "b"]:
            for rid in ["r10", "r2", "R1"]:
                session.add(
                    Record(
                        collection_id=cid,
                        id=rid,
                        data={
                            "n": 1.5,
                            "z": "日本語 \u2028",
                            "a": [1, None, True],
                            "nested": {"y": 1, "b": 2},
                        },
                        permissions={},
                        last_modified=11,
                        deleted=False,
                    )
                )
        for number in range(1, 4):
            session.add(
                HistoryEntry(
                    id=number,
                    collection_id="a",
                    resource="record",
                    record_id="r2",
                    action="update",
                    user_id=None,
                    timestamp=100 + number,
                    data={"n": number},
                    previous=None,
                )
            )
            session.add(
                EventRow(
                    id=number,
                    type="record.updated",
                    occurred_at=1000 + number,
                    collection_id="a",
                    record_id="r2",
                    last_modified=11,
                    data={"k": "v"},
                )
            )
        session.flush()
        # A real cursor: event 2's position ((xid, 2) on PostgreSQL, (0, 2) on SQLite).
        tx = session.scalar(select(EventRow.tx).where(EventRow.id == 2))
        session.add(FeedConsumer(name="hooks", tx=tx, event_id=2, updated_at=WHEN))


@dataclass
class Member:
    info: tarfile.TarInfo
    data: bytes

    def lines(self) -> list[Any]:
        """A gzip JSON Lines member's values."""
        return [json.loads(line) for line in gzip.decompress(self.data).splitlines()]


def read_archive(path: str | Path) -> dict[str, Member]:
    """Every member, in archive order (dicts keep it)."""
    members = {}
    with tarfile.open(path) as tar:
        for info in tar.getmembers():
            extracted = tar.extractfile(info)
            assert extracted is not None
            members[info.name] = Member(info, extracted.read())
    return members


def manifest(path: str | Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(read_archive(path)["manifest.json"].data)
    return data


def file_of(name: str, data: bytes, *, size: int | None = None, sha256: str | None = None) -> Any:
    """A participant's file; ``size``/``sha256`` other than the data's: one that changed."""

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(data), 3):  # small chunks: tarfile reads across them
            yield data[start : start + 3]

    return BackupFile(
        name,
        len(data) if size is None else size,
        hashlib.sha256(data).hexdigest() if sha256 is None else sha256,
        chunks,
    )


@dataclass
class FakeFiles:
    """A participant's files kept in memory; ``listed_with``: the connections it was given."""

    files: Sequence[BackupFile]
    listed_with: list[Any] = field(default_factory=list)

    def list(self, registry: Any, connection: Any) -> Iterator[BackupFile]:
        self.listed_with.append(connection)
        return iter(self.files)

    def restore(self, registry: Any, name: str, chunks: Iterator[bytes]) -> None:
        raise NotImplementedError

    def discard(self, registry: Any, names: Sequence[str]) -> None:
        raise NotImplementedError


def with_participant(
    monkeypatch: Any, participant: BackupParticipant
) -> Callable[[Any], list[BackupParticipant]]:
    """The app's participants plus ``participant`` (a plugin registered in a test)."""
    from benben.backup import dump

    original = dump.backup_participants

    def participants(registry: Any) -> list[BackupParticipant]:
        return [*original(registry), participant]

    monkeypatch.setattr(dump, "backup_participants", participants)
    return participants
