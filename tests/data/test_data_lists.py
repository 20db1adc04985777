"""GET .../records: the list view over the query language (filters, pages, sync, visibility)."""

from __future__ import annotations

import pytest
from data_support import COLLECTIONS, pointers, record_url, records_url


@pytest.fixture
def shop(app, alice):
    app.post_json(COLLECTIONS, {"id": "shop", "indexed_fields": ["price"]}, headers=alice.headers)
    for rid, price, name in (
        ("a", 5, "apple"),
        ("b", 12, "bread"),
        ("c", 8, "cheese"),
        ("d", 20, "dates"),
    ):
        app.put_json(
            record_url("shop", rid), {"data": {"price": price, "name": name}}, headers=alice.headers
        )


def ids(response):
    return [record["id"] for record in response.json["data"]]


def test_filters_sort_fields_and_count(app, alice, shop):
    url = records_url("shop")
    assert ids(app.get(url, headers=alice.headers)) == ["d", "c", "b", "a"]  # newest first
    cheap = app.get(url, {"price__lt": "10", "_sort": "price"}, headers=alice.headers)
    assert ids(cheap) == ["a", "c"]
    projected = app.get(
        url, {"_fields": "name", "_sort": "-price", "_count": "true"}, headers=alice.headers
    ).json
    assert projected["total"] == 4
    assert projected["data"][0]["data"] == {"name": "dates"}
    assert set(projected["data"][0]) == {"id", "data", "last_modified", "created_by", "permissions"}
    assert "total" not in app.get(url, headers=alice.headers).json


def test_pages_follow_next_links_and_link_headers(app, alice, shop):
    first = app.get(records_url("shop"), {"_sort": "price", "_limit": "3"}, headers=alice.headers)
    assert ids(first) == ["a", "c", "b"]
    assert first.headers["Link"] == f'<{first.json["next"]}>; rel="next"'
    assert first.json["next"].startswith("http://localhost/api/v1/collections/shop/records?")
    second = app.get(first.json["next"], headers=alice.headers)
    assert ids(second) == ["d"]
    assert second.json["next"] is None
    assert "Link" not in second.headers


BAD_PARAMETERS = [
    ({"price__near": "1"}, "price__near"),
    ({"_sort": "a..b"}, "_sort"),
    ({"_limit": "1001"}, "_limit"),
    ({"_cursor": "forged"}, "_cursor"),
    ({"_unknown": "1"}, "_unknown"),
    ({"_since": "yesterday"}, "_since"),
]


def test_bad_query_parameters_are_400_naming_them(app, alice, shop):
    for params, name in BAD_PARAMETERS:
        response = app.get(records_url("shop"), params, headers=alice.headers, status=400)
        assert pointers(response) == [name], params
        assert response.json["errors"][0]["location"] == "querystring"


def test_since_returns_changes_with_tombstones(app, alice, shop):
    start = app.get(f"{COLLECTIONS}/shop", headers=alice.headers).json["last_modified"]
    app.delete(record_url("shop", "b"), headers=alice.headers)
    changed = app.put_json(
        record_url("shop", "a"), {"data": {"price": 6, "name": "apple"}}, headers=alice.headers
    ).json
    since = app.get(
        records_url("shop"), {"_since": str(start), "_sort": "last_modified"}, headers=alice.headers
    ).json["data"]
    assert since[0] == {"id": "b", "last_modified": since[0]["last_modified"], "deleted": True}
    assert since[1]["id"] == "a"
    assert since[1]["last_modified"] == changed["last_modified"]
    assert ids(app.get(records_url("shop"), headers=alice.headers)) == ["a", "d", "c"]


def test_lists_hold_only_what_the_caller_may_read(app, alice, bob, shop):
    app.patch_json(
        f"{COLLECTIONS}/shop", {"permissions": {"create": [bob.principal]}}, headers=alice.headers
    )
    app.put_json(
        record_url("shop", "b"),
        {"data": {"price": 12, "name": "bread"}, "permissions": {"read": [bob.principal]}},
        headers=alice.headers,
    )
    app.put_json(
        record_url("shop", "z"), {"data": {"price": 1, "name": "zest"}}, headers=bob.headers
    )
    listed = app.get(
        records_url("shop"), {"_sort": "price", "_count": "true"}, headers=bob.headers
    ).json
    assert [r["id"] for r in listed["data"]] == ["z", "b"]
    assert listed["total"] == 2
    assert "permissions" in listed["data"][0]  # his own: he may write it
    assert "permissions" not in listed["data"][1]  # alice's: read only
    page = app.get(records_url("shop"), {"_sort": "price", "_limit": "1"}, headers=bob.headers)
    assert ids(page) == ["z"]
    assert ids(app.get(page.json["next"], headers=bob.headers)) == ["b"]


def test_304_for_an_unchanged_page(app, alice, shop):
    page = app.get(records_url("shop"), {"_sort": "price"}, headers=alice.headers)
    app.get(
        records_url("shop"),
        {"_sort": "price"},
        headers={**alice.headers, "If-None-Match": page.headers["ETag"]},
        status=304,
    )
    cursor_page = app.get(
        records_url("shop"), {"_sort": "price", "_limit": "2"}, headers=alice.headers
    )
    next_page = app.get(cursor_page.json["next"], headers=alice.headers)
    assert next_page.headers["ETag"] != cursor_page.headers["ETag"]


def test_a_sync_from_before_the_tombstone_retention_is_gone(app, alice, shop):
    import time

    month_ago = int(time.time() * 1000) - 31 * 86_400_000
    response = app.get(records_url("shop"), {"_since": str(month_ago)}, headers=alice.headers,
                       status=410)  # fmt: skip
    assert response.json["type"] == "urn:benben:problem:changes-purged"
    assert [e["name"] for e in response.json["errors"]] == ["_since"]
    # Within the retention, and a first sync (0), are answered.
    week_ago = month_ago + 24 * 86_400_000
    app.get(records_url("shop"), {"_since": str(week_ago)}, headers=alice.headers, status=200)
    app.get(records_url("shop"), {"_since": "0"}, headers=alice.headers, status=200)


def test_collection_creators_are_checked_at_start_up(make_app, app_settings):
    from pyramid.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"collection_creators: staff \("):
        make_app({**app_settings, "benben.data.collection_creators": "group:staff staff"})
