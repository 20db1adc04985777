"""Who may subscribe to what, and who sees which endpoints: owners their own, administrators
all; everyone else a 404; anonymous callers a 401; API-token scopes as everywhere."""

from __future__ import annotations

from webhooks_support import create_collection, create_webhook


def test_anonymous_callers_get_401(app, who):
    created = create_webhook(app, who.admin)
    app.get("/api/v1/webhooks", status=401)
    app.post_json("/api/v1/webhooks", {"url": "https://x.org"}, status=401)
    app.get(f"/api/v1/webhooks/{created['id']}", status=401)
    app.get("/api/v1/webhooks/nope", status=401)


def test_a_user_may_not_subscribe_to_everything(app, who):
    problem = create_webhook(app, who.alice, 403)
    assert problem["errors"][0]["pointer"] == "/collections"
    create_collection(app, who.alice, "notes")
    problem = create_webhook(
        app, who.alice, 403, collections=["notes"], event_types=["record.*", "user.created"]
    )
    assert problem["errors"][0]["pointer"] == "/event_types/1"


def test_a_user_may_not_subscribe_to_a_collection_they_cannot_read(app, who):
    create_collection(app, who.bob, "secret-plans")
    create_collection(app, who.alice, "notes")
    hidden = create_webhook(app, who.alice, 403, collections=["notes", "secret-plans"])
    missing = create_webhook(app, who.alice, 403, collections=["no-such-thing"])
    # A collection that exists and one that does not are refused alike.
    assert hidden["errors"][0]["pointer"] == "/collections/1"
    assert missing["errors"][0]["pointer"] == "/collections/0"
    assert hidden["errors"][0]["message"] == missing["errors"][0]["message"]
    assert app.get("/api/v1/webhooks", headers=who.alice).json["data"] == []


def test_a_collection_shared_for_reading_may_be_subscribed_to(app, who):
    create_collection(app, who.bob, "shared")
    app.patch_json(
        "/api/v1/collections/shared",
        {"permissions": {"read": [f"user:{who.ids['alice']}"]}},
        headers=who.bob,
    )
    assert create_webhook(app, who.alice, collections=["shared"])["collections"] == ["shared"]


def test_an_admin_may_subscribe_to_any_collection(app, who):
    create_collection(app, who.bob, "plans")
    body = create_webhook(app, who.admin, collections=["plans", "not-created-yet"])
    assert body["collections"] == ["plans", "not-created-yet"]


def test_owners_see_their_own_and_admins_see_all(app, who):
    create_collection(app, who.alice, "a")
    create_collection(app, who.bob, "b")
    alices = create_webhook(app, who.alice, collections=["a"])
    bobs = create_webhook(app, who.bob, collections=["b"])
    assert [e["id"] for e in app.get("/api/v1/webhooks", headers=who.alice).json["data"]] == [
        alices["id"]
    ]
    everyone = app.get("/api/v1/webhooks", headers=who.admin).json["data"]
    assert {e["id"] for e in everyone} == {alices["id"], bobs["id"]}
    # Someone else's endpoint is as absent as one that does not exist, for every operation.
    for path in ("", "/deliveries", "/deliveries/x"):
        app.get(f"/api/v1/webhooks/{bobs['id']}{path}", headers=who.alice, status=404)
    app.patch_json(f"/api/v1/webhooks/{bobs['id']}", {"enabled": False}, headers=who.alice,
                   status=404)  # fmt: skip
    app.delete(f"/api/v1/webhooks/{bobs['id']}", headers=who.alice, status=404)
    for action in ("secret/rotate", "test"):
        app.post(f"/api/v1/webhooks/{bobs['id']}/{action}", headers=who.alice, status=404)
    app.get("/api/v1/webhooks/does-not-exist", headers=who.alice, status=404)
    # The administrator manages it.
    app.patch_json(f"/api/v1/webhooks/{bobs['id']}", {"enabled": False}, headers=who.admin)
    app.delete(f"/api/v1/webhooks/{bobs['id']}", headers=who.admin, status=204)


def test_changing_collections_is_checked_again(app, who):
    create_collection(app, who.alice, "a")
    create_collection(app, who.bob, "b")
    created = create_webhook(app, who.alice, collections=["a"])
    url = f"/api/v1/webhooks/{created['id']}"
    problem = app.patch_json(url, {"collections": ["a", "b"]}, headers=who.alice, status=403).json
    assert problem["errors"][0]["pointer"] == "/collections/1"
    app.patch_json(url, {"collections": []}, headers=who.alice, status=403)
    app.patch_json(url, {"event_types": ["group.*"]}, headers=who.alice, status=403)
    assert app.get(url, headers=who.alice).json["collections"] == ["a"]


def test_a_read_token_reads_but_does_not_manage(app, who):
    create_collection(app, who.alice, "a")
    created = create_webhook(app, who.alice, collections=["a"])
    token = app.post_json(
        "/api/v1/tokens", {"name": "ro", "scopes": ["read"]}, headers=who.alice, status=201
    ).json["token"]
    read_only = {"Authorization": f"Bearer {token}"}
    app.get(f"/api/v1/webhooks/{created['id']}", headers=read_only)
    app.get("/api/v1/webhooks", headers=read_only)
    app.post_json("/api/v1/webhooks", {"url": "https://x.org", "collections": ["a"]},
                  headers=read_only, status=403)  # fmt: skip
    app.delete(f"/api/v1/webhooks/{created['id']}", headers=read_only, status=403)
