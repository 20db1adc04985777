"""GET /api/v1/collections/{cid}/changes and /api/v1/changes: changes as they commit, resumed
exactly, filtered by what the subscriber may read at delivery time."""

from __future__ import annotations

from typing import Any

from realtime_support import WAIT, named, next_change, principal, ready, silent

from benben.testing import feed_settled
from benben.testing_streams import open_sse

NOTES = "/api/v1/collections/notes"


def create(app: Any, headers: dict[str, str], cid: str = "notes", **members: Any) -> None:
    app.put_json(f"/api/v1/collections/{cid}", members, headers=headers, status=201)
    # On PostgreSQL a stream opened now starts after this event only once the feed hands it
    # out (every older transaction on the server ended): wait for that.
    feed_settled(app.app.registry)


def post(app: Any, headers: dict[str, str], n: int, cid: str = "notes") -> str:
    body = {"data": {"n": n}}
    return app.post_json(f"/api/v1/collections/{cid}/records", body, headers=headers).json["id"]


def test_a_subscriber_receives_each_change_as_it_commits(app, served, admin_headers):
    create(app, admin_headers)
    with open_sse(f"{served}{NOTES}/changes", admin_headers) as client:
        opened = ready(client)
        assert opened["collections"] == ["notes"]
        record_id = post(app, admin_headers, 1)
        change = next_change(client)
        assert change["type"] == "record.created"
        assert change["data"]["collection"] == "notes"
        assert change["data"]["id"] == record_id
        assert change["data"]["data"] == {"n": 1}
        assert change["id"] > opened["position"]
        app.delete(f"{NOTES}/records/{record_id}", headers=admin_headers)
        assert next_change(client)["type"] == "record.deleted"


def test_a_client_resuming_from_its_last_event_id_misses_nothing_and_repeats_nothing(
    app, served, admin_headers
):
    create(app, admin_headers)
    with open_sse(f"{served}{NOTES}/changes", admin_headers) as client:
        ready(client)
        post(app, admin_headers, 1)
        last_seen = next_change(client)["id"]
    for n in (2, 3, 4):  # while the client is away
        post(app, admin_headers, n)
    headers = {**admin_headers, "Last-Event-ID": last_seen}
    with open_sse(f"{served}{NOTES}/changes", headers) as client:
        assert ready(client)["position"] == last_seen
        assert [next_change(client)["data"]["data"]["n"] for _ in range(3)] == [2, 3, 4]
        post(app, admin_headers, 5)  # and then live, in order
        assert next_change(client)["data"]["data"]["n"] == 5
        silent(client, 0.5)
    # The query parameter does the same (EventSource's first connection cannot set headers).
    url = f"{served}{NOTES}/changes?last_event_id={last_seen}"
    with open_sse(url, admin_headers) as client:
        ready(client)
        assert [next_change(client)["data"]["data"]["n"] for _ in range(4)] == [2, 3, 4, 5]


def test_events_are_filtered_by_what_the_subscriber_may_read_when_delivered(
    app, served, admin_headers, alice_headers, bob_headers
):
    alice_id, bob_id = principal(app, alice_headers), principal(app, bob_headers)
    create(app, admin_headers, permissions={"read": [alice_id, bob_id]})
    alice = open_sse(f"{served}{NOTES}/changes", alice_headers)
    bob = open_sse(f"{served}{NOTES}/changes", bob_headers)
    with alice, bob:
        ready(alice)
        ready(bob)
        post(app, admin_headers, 1)
        assert next_change(alice)["data"]["data"] == {"n": 1}
        assert next_change(bob)["data"]["data"] == {"n": 1}
        # Alice loses her read permission mid-stream: the flow stops for her, not for Bob.
        app.patch_json(NOTES, {"permissions": {"read": [bob_id]}}, headers=admin_headers)
        assert next_change(bob)["type"] == "collection.updated"
        assert next_change(bob)["type"] == "collection.permissions_changed"
        post(app, admin_headers, 2)
        assert next_change(bob)["data"]["data"] == {"n": 2}
        silent(alice, 1.0)


def test_record_grants_count_on_the_stream_of_every_collection(
    app, served, admin_headers, alice_headers
):
    create(app, admin_headers)
    with open_sse(f"{served}/api/v1/changes", alice_headers) as client:
        ready(client)
        post(app, admin_headers, 1)  # not Alice's to read
        body = {"data": {"n": 2}, "permissions": {"read": [principal(app, alice_headers)]}}
        app.post_json(f"{NOTES}/records", body, headers=admin_headers)
        change = next_change(client)
        assert change["data"]["data"] == {"n": 2}


def test_the_stream_of_every_collection_can_name_some_and_some_types(app, served, admin_headers):
    create(app, admin_headers)
    create(app, admin_headers, "tasks")
    url = f"{served}/api/v1/changes?collections=tasks&types=record.deleted"
    with open_sse(url, admin_headers) as client:
        assert ready(client)["collections"] == ["tasks"]
        post(app, admin_headers, 1)
        record_id = post(app, admin_headers, 2, cid="tasks")
        app.delete(f"/api/v1/collections/tasks/records/{record_id}", headers=admin_headers)
        change = next_change(client)
        assert (change["type"], change["data"]["id"]) == ("record.deleted", record_id)


def test_bad_parameters_are_problems_naming_them(app, served, admin_headers, alice_headers):
    create(app, admin_headers)
    for path, headers, name in (
        ("/api/v1/changes?collections=nope", admin_headers, "collections"),
        ("/api/v1/changes?collections=notes", alice_headers, "collections"),  # not hers
        ("/api/v1/changes?collections=", admin_headers, "collections"),
        ("/api/v1/changes?types=Record", admin_headers, "types"),
        (f"{NOTES}/changes?last_event_id=12", admin_headers, "last_event_id"),
        (f"{NOTES}/changes?last_event_id=999999999-1", admin_headers, "last_event_id"),
        (f"{NOTES}/changes?colour=red", admin_headers, "colour"),
        (f"{NOTES}/changes", {**admin_headers, "Last-Event-ID": "x"}, "Last-Event-ID"),
    ):
        response = app.get(path, headers=headers, status=400)
        assert response.content_type == "application/problem+json"
        assert [error["name"] for error in response.json["errors"]] == [name], path


def test_who_may_not_read_a_collection_cannot_stream_it(app, admin_headers, alice_headers):
    create(app, admin_headers)
    assert app.get(f"{NOTES}/changes", headers=alice_headers, status=404)
    assert app.get(f"{NOTES}/changes", status=401)
    assert app.get("/api/v1/changes", status=401)


def test_a_stream_ends_with_an_end_event_at_its_maximum_duration(make_app, admin_headers, app):
    short = make_app({"benben.realtime.max_stream_seconds": "1"})
    from benben.testing_streams import serve_streaming

    with (
        serve_streaming(short.app) as base,
        open_sse(f"{base}/api/v1/changes", admin_headers) as client,
    ):
        assert ready(client)["end_reason"] == "max-duration"
        end = named(client, "end", timeout=WAIT)
        assert end["reason"] == "max-duration"
        assert client.events(timeout=WAIT) == []  # then the server closes it


def test_a_revoked_session_ends_its_streams(app, served, alice):
    headers = {"Authorization": f"Bearer {alice['access_token']}"}
    with open_sse(f"{served}/api/v1/changes", headers) as client:
        ready(client)
        app.post("/api/v1/auth/logout", headers=headers, status=204)
        assert named(client, "end")["reason"] == "token-revoked"


def test_one_user_holds_a_bounded_number_of_streams(make_app, admin_headers, app):
    from benben.testing_streams import serve_streaming

    bounded = make_app({"benben.realtime.max_streams_per_user": "1"})
    with serve_streaming(bounded.app) as base, open_sse(f"{base}/api/v1/changes", admin_headers):
        second = open_sse(f"{base}/api/v1/changes", admin_headers)
        with second:
            assert second.status == 429
            assert second.headers["retry-after"]


def test_a_change_on_one_instance_reaches_the_subscribers_of_another(app, make_app, admin_headers):
    from benben.testing_streams import serve_streaming

    other = make_app()  # another instance: the same database, cache and secret
    create(app, admin_headers)
    with (
        serve_streaming(other.app) as base,
        open_sse(f"{base}{NOTES}/changes", admin_headers) as client,
    ):
        ready(client)
        post(app, admin_headers, 7)  # committed through the first instance
        assert next_change(client)["data"]["data"] == {"n": 7}


def test_a_resume_behind_retention_is_told_to_resync(app, served, admin_headers, registry):
    import transaction

    from benben.db import get_tm_session, session_factory
    from benben.events.feed import prune
    from benben.testing import feed_settled

    create(app, admin_headers)
    with open_sse(f"{served}{NOTES}/changes", admin_headers) as client:
        ready(client)
        post(app, admin_headers, 1)
        old = next_change(client)["id"]
    post(app, admin_headers, 2)
    feed_settled(registry)
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    session = get_tm_session(session_factory(registry), manager)
    prune(session, retention_ms=0, consumer_expiry_ms=1, now=2**62)
    manager.commit()
    session.close()
    headers = {**admin_headers, "Last-Event-ID": old}
    with open_sse(f"{served}{NOTES}/changes", headers) as client:
        ready(client)
        resync = named(client, "resync")
        assert resync["reason"] == "retention"
        assert resync["id"] == resync["resume_at"]
        post(app, admin_headers, 3)
        assert next_change(client)["data"]["data"] == {"n": 3}


def test_streams_are_counted_in_the_metrics(app, served, admin_headers):
    from prometheus_client.parser import text_string_to_metric_families

    from benben.testing import eventually

    def value(name: str, **labels: str) -> float:
        text = app.get("/metrics", extra_environ={"REMOTE_ADDR": "127.0.0.1"}).text
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
        )

    create(app, admin_headers)
    with open_sse(f"{served}{NOTES}/changes", admin_headers) as client:
        ready(client)
        assert value("benben_realtime_subscribers") == 1
        post(app, admin_headers, 1)
        next_change(client)

        def counted() -> None:  # counted once pushed to every stream: right after it arrived
            assert value("benben_realtime_events_sent_total") == 1
            assert value("benben_realtime_delivery_lag_seconds_count") == 1

        eventually(counted, timeout=WAIT)

    def gone() -> None:
        assert value("benben_realtime_subscribers") == 0

    eventually(gone, timeout=WAIT)
    closed = value("benben_realtime_streams_closed_total", reason="client-gone")
    assert closed == 1
