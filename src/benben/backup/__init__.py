"""Backups: portable archives of everything Benben owns (see docs/backups.md).

- participants.py   who takes part: the add_backup_participant directive, core's tables
- format.py         the archive format: members, logical column types, canonical values
"""

from __future__ import annotations

from pyramid.config import Configurator

from benben.backup.participants import add_backup_participant
from benben.data.restore_rebuild import rebuild_after_restore

__all__ = ["includeme"]


def includeme(config: Configurator) -> None:
    from benben.accounts.models import Group, GroupMember, User
    from benben.data.models import (
        Collection,
        CollectionGrant,
        HistoryEntry,
        Record,
        RecordGrant,
    )
    from benben.events.models import EventRow, FeedConsumer
    from benben.security.models import (
        ApiToken,
        AuthEpoch,
        RefreshToken,
        RevokedAccessToken,
    )

    config.add_directive("add_backup_participant", add_backup_participant)
    # Restore order: a table after those its foreign keys name.  Stream tickets (single-use,
    # 30 seconds) and PostgreSQL's search bookkeeping (rebuilt after a restore) stay out.
    config.add_backup_participant(
        [
            User,
            Group,
            GroupMember,
            RefreshToken,
            ApiToken,
            RevokedAccessToken,
            AuthEpoch,
            Collection,
            CollectionGrant,
            Record,
            RecordGrant,
            HistoryEntry,
            EventRow,
            FeedConsumer,
        ],
        after_restore=rebuild_after_restore,
    )
    config.include("benben.backup.schedule")  # the worker's scheduled backups
