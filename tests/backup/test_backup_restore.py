"""benben.backup.restore: round trips on each backend and across them (table by table, then the
restored app at work), refusals and failures that leave the target as it was."""

from __future__ import annotations

import pytest
from restore_support import PASSWORD, empty_target, fill, tables

from benben.backup.dump import create_backup
from benben.backup.restore import restore_archive
from benben.testing_auth import bearer, login

DATABASES = ["sqlite", "postgresql"]


@pytest.fixture
def source(app):
    """The test's app (on its backend pair) filled with data, and what fill() made."""
    return app, fill(app)


@pytest.mark.parametrize("into", DATABASES)
def test_round_trip_then_the_restored_app_works(source, into, session_backends, tmp_path):
    app, made = source
    registry = app.app.registry
    archive = create_backup(registry, str(tmp_path / "a.tar")).location
    with empty_target(session_backends, tmp_path, into) as target:
        result = restore_archive(target.registry, archive)

        assert tables(target.registry) == tables(registry)
        assert result.rows == sum(len(rows) for rows in tables(registry).values())
        assert result.tables == len(result.manifest.tables())
        restored = target.app()
        # Login with the old password; the API token made before the backup still works.
        alice = bearer(login(restored, "alice", PASSWORD)["access_token"])
        assert restored.get("/api/v1/auth/me", headers=bearer(made["token"])).json["user"][
            "username"
        ] == ("alice")
        # A record with its ETag, the same on both sides.
        path = f"/api/v1/collections/books/records/{made['records'][1]}"
        before = app.get(path, headers=bearer(login(app, "alice", PASSWORD)["access_token"]))
        after = restored.get(path, headers=alice)
        assert after.json == before.json
        assert after.headers["ETag"] == before.headers["ETag"]
        restored.get(path, headers={**alice, "If-None-Match": before.headers["ETag"]}, status=304)
        # Record grants and group membership: bob reads the records granted to him alone.
        bob = bearer(login(restored, "bob", PASSWORD)["access_token"])
        granted = f"/api/v1/collections/books/records/{made['records'][10]}"
        assert restored.get(granted, headers=bob).json["data"]["n"] == 10
        # Sequences: a new record's history entry and event get ids above the restored ones.
        old = _highest(target.registry)
        restored.post_json("/api/v1/collections/books/records", {"data": {"n": 7}}, headers=alice)
        new = _highest(target.registry)
        assert new["history"] > old["history"]
        assert new["event"] > old["event"]
        # The feed goes on after the old events: the durable consumer reads what followed it.
        assert _unread(target.registry, "hooks")[-1] == new["event"]
        assert _unread(target.registry, "hooks")[0] == 6


def _highest(registry):
    from sqlalchemy import func, select

    from benben.data.models import HistoryEntry
    from benben.events.models import EventRow
    from benben.testing import committed_session

    with committed_session(registry) as session:
        return {
            "history": session.execute(select(func.max(HistoryEntry.id))).scalar_one(),
            "event": session.execute(select(func.max(EventRow.id))).scalar_one(),
        }


def _unread(registry, name):
    from benben.events.feed import consumer_position, read_events
    from benben.testing import committed_session, feed_settled

    feed_settled(registry)
    with committed_session(registry) as session:
        position = consumer_position(session, name, lock=False)
        return [event.position.id for event in read_events(session, position, limit=1000)]
