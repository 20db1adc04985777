"""POST /api/v1/changes/tickets and ?ticket=: a browser's EventSource opens a stream without an
Authorization header, with a credential that works once, within seconds."""

from __future__ import annotations

import logging

from realtime_support import named, next_change, principal, ready
from sqlalchemy import select

from benben.realtime.models import StreamTicket
from benben.testing import feed_settled
from benben.testing_streams import open_sse

TICKETS = "/api/v1/changes/tickets"


def mint(app, headers) -> str:
    response = app.post(TICKETS, headers=headers, status=201)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body["expires_in"] == 30
    assert body["ticket"].startswith("bbs_")
    return body["ticket"]


def test_a_ticket_opens_a_stream_as_its_minter_once(app, served, admin_headers, alice_headers):
    app.put_json("/api/v1/collections/notes", {}, headers=admin_headers, status=201)
    feed_settled(app.app.registry)
    ticket = mint(app, alice_headers)
    with open_sse(f"{served}/api/v1/changes?ticket={ticket}") as client:
        ready(client)
        # The stream is Alice's: a record shared with her arrives, others' do not.
        app.post_json(
            "/api/v1/collections/notes/records", {"data": {"n": 1}}, headers=admin_headers
        )
        body = {"data": {"n": 2}, "permissions": {"read": [principal(app, alice_headers)]}}
        app.post_json("/api/v1/collections/notes/records", body, headers=admin_headers)
        assert next_change(client)["data"]["data"] == {"n": 2}
    again = app.get(f"/api/v1/changes?ticket={ticket}", status=401)
    assert again.content_type == "application/problem+json"
    assert again.json["type"] == "urn:benben:problem:invalid-token"
    assert [error["name"] for error in again.json["errors"]] == ["ticket"]


def test_the_table_keeps_no_ticket_and_no_credential(app, alice_headers, registry):
    from benben.db import session_factory

    ticket = mint(app, alice_headers)
    with session_factory(registry)() as session:
        row = session.scalars(select(StreamTicket)).one()
    token = alice_headers["Authorization"].removeprefix("Bearer ")
    assert ticket not in (row.digest, row.sealed.decode("latin-1"))
    assert token.encode() not in bytes(row.sealed)


def test_unknown_expired_and_doubled_credentials_are_refused(
    app, make_app, admin_headers, alice_headers
):
    app.get("/api/v1/changes?ticket=bbs_nope", status=401)
    app.get("/api/v1/changes?ticket=" + "x" * 500, status=401)
    ticket = mint(app, alice_headers)
    both = app.get(f"/api/v1/changes?ticket={ticket}", headers=admin_headers, status=400)
    assert [error["name"] for error in both.json["errors"]] == ["ticket"]
    expired_app = make_app({"benben.realtime.ticket_seconds": "5"})
    stale = expired_app.post(TICKETS, headers=alice_headers, status=201).json["ticket"]
    from benben.realtime.tickets import redeem_ticket

    registry = expired_app.app.registry
    from benben.db import session_factory

    with session_factory(registry)() as session:
        session.execute(
            StreamTicket.__table__.update().values(expires_at=StreamTicket.expires_at - 10_000)
        )
        session.commit()
        assert redeem_ticket(session, stale) is None


def test_a_ticket_stream_ends_when_its_credential_is_revoked(app, served, alice):
    headers = {"Authorization": f"Bearer {alice['access_token']}"}
    ticket = mint(app, headers)
    with open_sse(f"{served}/api/v1/changes?ticket={ticket}") as client:
        ready(client)
        app.post("/api/v1/auth/logout", headers=headers, status=204)
        assert named(client, "end")["reason"] == "token-revoked"


def test_the_access_log_shows_no_ticket(app, alice_headers, caplog):
    ticket = mint(app, alice_headers)
    with caplog.at_level(logging.INFO):
        app.get(f"/api/v1/changes?ticket={ticket}&colour=red", status=400)
    assert ticket not in caplog.text
    assert "ticket=[REDACTED]" in caplog.text or "ticket=%5BREDACTED%5D" in caplog.text
