"""Presigned downloads: with S3 and ``benben.files.presigned_downloads``, a 307 to the bucket
after the permission check; off by default, and never with the local disk."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
import webtest
from downloads_support import ANONYMOUS, People, attach, create_record, metric, people

ON = {"benben.files.presigned_downloads": "on", "benben.files.presigned_expiry": "60"}


def fetch(url: str) -> tuple[int, Any, bytes]:
    """GET ``url`` straight from the S3 server (no proxy from the environment)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as answer:
        return answer.status, answer.headers, answer.read()  # names case-insensitive


@pytest.fixture
def presigning(make_app: Any, storage_settings: dict[str, Any]) -> webtest.TestApp:
    return make_app({**storage_settings, **ON})


@pytest.mark.parametrize("storage_kind", ["s3"], indirect=True)
def test_a_download_redirects_to_the_bucket(presigning: webtest.TestApp, s3_endpoint: str) -> None:
    app = presigning
    who = people(app)
    create_record(app, who.alice)
    registry = app.app.registry
    stored = attach(registry, b"%PDF-1.7 the bytes", name="résumé final.pdf",
                    content_type="application/pdf")  # fmt: skip
    downloads = metric(registry, "benben_files_downloads_total")
    response = app.get(stored.url(), headers=who.alice, status=307)
    location = response.headers["Location"]
    assert location.startswith(s3_endpoint + "/")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.body == b""
    assert metric(registry, "benben_files_downloads_total") == downloads + 1
    status, headers, body = fetch(location)
    assert status == 200
    assert body == stored.data
    assert headers["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%20final.pdf" in headers["Content-Disposition"]
    head = app.head(stored.url(), headers=who.alice, status=307)
    assert head.headers["Location"].startswith(s3_endpoint + "/")


@pytest.mark.parametrize("storage_kind", ["s3"], indirect=True)
def test_the_permission_check_comes_first(presigning: webtest.TestApp) -> None:
    app = presigning
    who: People = people(app)
    create_record(app, who.alice)
    stored = attach(app.app.registry, b"secret", name="s.txt", content_type="text/plain")
    assert "Location" not in app.get(stored.url(), headers=who.carol, status=404).headers
    assert "Location" not in app.get(stored.url(), headers=ANONYMOUS, status=401).headers
    app.get(stored.url().replace("s.txt", "other.txt"), headers=who.alice, status=404)
    app.get(stored.url() + "?nope=1", headers=who.alice, status=400)


@pytest.mark.parametrize("storage_kind", ["s3"], indirect=True)
def test_off_by_default(app: webtest.TestApp) -> None:
    who = people(app)
    create_record(app, who.alice)
    stored = attach(app.app.registry, b"streamed", name="s.bin")
    response = app.get(stored.url(), headers=who.alice, status=200)
    assert response.body == b"streamed"
    assert "Location" not in response.headers


@pytest.mark.parametrize("storage_kind", ["local"], indirect=True)
def test_the_local_disk_streams_even_when_on(presigning: webtest.TestApp) -> None:
    app = presigning
    who = people(app)
    create_record(app, who.alice)
    stored = attach(app.app.registry, b"local bytes", name="l.bin")
    assert app.get(stored.url(), headers=who.alice, status=200).body == b"local bytes"
