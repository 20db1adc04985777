"""History: every change recorded in its transaction, filtered and paginated; retention."""

from __future__ import annotations

import pytest
import transaction
from data_support import COLLECTIONS, pointers, record_url, records_url

from benben.data.retention import DAY_MS, purge

HISTORY = f"{COLLECTIONS}/notes/history"


@pytest.fixture
def changes(app, alice, bob, notes):
    """alice creates, bob (a writer) updates, alice deletes record r1; alice changes the title."""
    app.patch_json(
        f"{COLLECTIONS}/notes", {"permissions": {"write": [bob.principal]}}, headers=alice.headers
    )
    app.put_json(record_url("notes", "r1"), {"data": {"v": 1}}, headers=alice.headers)
    app.put_json(record_url("notes", "r1"), {"data": {"v": 2}}, headers=bob.headers)
    app.delete(record_url("notes", "r1"), headers=alice.headers)
    app.put_json(record_url("notes", "r2"), {"data": {"v": 9}}, headers=bob.headers)


def test_every_change_is_recorded_with_who_when_and_both_values(app, alice, bob, changes):
    entries = app.get(HISTORY, headers=alice.headers).json["data"]
    summary = [(e["resource"], e["action"], e["record_id"], e["user_id"]) for e in entries]
    assert summary == [
        ("record", "create", "r2", bob.id),
        ("record", "delete", "r1", alice.id),
        ("record", "update", "r1", bob.id),
        ("record", "create", "r1", alice.id),
        ("collection", "update", None, alice.id),
        ("collection", "create", None, alice.id),
    ]
    create, update, delete = entries[3], entries[2], entries[1]
    assert (create["data"], create["previous"]) == ({"data": {"v": 1}, "permissions": {}}, None)
    assert (update["data"]["data"], update["previous"]["data"]) == ({"v": 2}, {"v": 1})
    assert (delete["data"], delete["previous"]["data"]) == (None, {"v": 2})
    assert entries[4]["data"]["permissions"] == {"write": [bob.principal]}
    assert entries[4]["previous"]["permissions"] == {}
    # Timestamps are the changes' last_modified: the deletion's is the tombstone's.
    since = app.get(records_url("notes"), {"_since": "0", "id": "r1"}, headers=alice.headers)
    assert since.json["data"][0]["last_modified"] == delete["timestamp"]
    stamps = [e["timestamp"] for e in entries]
    assert stamps == sorted(stamps, reverse=True)


def test_history_filters_and_pages(app, alice, bob, changes):
    def get(**params):
        return app.get(HISTORY, params, headers=alice.headers).json

    assert [e["action"] for e in get(record_id="r1")["data"]] == ["delete", "update", "create"]
    assert [e["record_id"] for e in get(user_id=bob.id)["data"]] == ["r2", "r1"]
    assert [e["action"] for e in get(resource="collection")["data"]] == ["update", "create"]
    assert len(get(action="create")["data"]) == 3
    entries = get()["data"]
    middle = get(_since=str(entries[4]["timestamp"]), _before=str(entries[0]["timestamp"]))
    assert [e["id"] for e in middle["data"]] == [e["id"] for e in entries[1:4]]

    page = app.get(HISTORY, {"_limit": "3", "resource": "record"}, headers=alice.headers)
    assert [e["id"] for e in page.json["data"]] == [e["id"] for e in entries[:3]]
    assert page.headers["Link"] == f'<{page.json["next"]}>; rel="next"'
    rest = app.get(page.json["next"], headers=alice.headers).json
    assert ([e["id"] for e in rest["data"]], rest["next"]) == ([entries[3]["id"]], None)


BAD_PARAMETERS = [
    ({"action": "rename"}, "action"),
    ({"resource": "group"}, "resource"),
    ({"record_id": "bad id"}, "record_id"),
    ({"user_id": "-"}, "user_id"),
    ({"_since": "-1"}, "_since"),
    ({"_limit": "0"}, "_limit"),
    ({"_cursor": "bm9wZQ"}, "_cursor"),
    ({"_sort": "action"}, "_sort"),
    ({"limit": "5"}, "limit"),
]


def test_bad_history_parameters_are_400(app, alice, notes):
    for params, name in BAD_PARAMETERS:
        response = app.get(HISTORY, params, headers=alice.headers, status=400)
        assert pointers(response) == [name], params


def test_history_is_for_those_who_may_read_every_record(app, alice, bob, carol, notes):
    app.patch_json(
        f"{COLLECTIONS}/notes",
        {"permissions": {"create": [bob.principal], "read": ["group:staff"]}},
        headers=alice.headers,
    )
    app.get(HISTORY, headers=bob.headers, status=403)
    assert app.get(HISTORY, headers=carol.headers).json["data"]
    app.get(HISTORY, status=401)


def test_purge_drops_old_tombstones_and_history_only(app, alice, registry, changes):
    from benben.db import SESSION_FACTORY_KEY, get_tm_session

    settings = registry.settings
    entries = app.get(HISTORY, headers=alice.headers).json["data"]
    deleted_at = entries[1]["timestamp"]
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        session = get_tm_session(registry[SESSION_FACTORY_KEY], manager)
        # Nothing is old enough yet.
        assert purge(session, settings) == {"tombstones": 0, "history": 0}
        later = deleted_at + 31 * DAY_MS
        assert purge(session, settings, now=later) == {"tombstones": 1, "history": 0}
        much_later = entries[0]["timestamp"] + 91 * DAY_MS
        assert purge(session, settings, now=much_later) == {"tombstones": 0, "history": 6}
    since = app.get(records_url("notes"), {"_since": "0"}, headers=alice.headers).json["data"]
    assert [r["id"] for r in since] == ["r2"]  # the tombstone of r1 is gone, r2 lives
    assert app.get(HISTORY, headers=alice.headers).json["data"] == []


def test_retention_zero_keeps_everything(make_app, backends):
    from benben.testing_auth import FAST_PASSWORD_HASHING

    app = make_app(
        {
            **FAST_PASSWORD_HASHING,
            "benben.data.tombstone_retention_days": "0",
            "benben.data.history_retention_days": "0",
        }
    )
    registry = app.app.registry
    from benben.db import SESSION_FACTORY_KEY, get_tm_session

    manager = transaction.TransactionManager(explicit=True)
    with manager:
        session = get_tm_session(registry[SESSION_FACTORY_KEY], manager)
        assert purge(session, registry.settings, now=10**15) == {"tombstones": 0, "history": 0}
