"""The files plugin's metrics on /metrics: uploads by outcome and their bytes, downloads,
failures; with metrics off, counting still works (unregistered)."""

from __future__ import annotations

import re
from typing import Any

from files_support import attachments_url, create_record, people, upload_raw

LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}


def metric(app: Any, name: str, labels: str = "") -> float:
    text = app.get("/metrics", extra_environ=LOOPBACK).text
    line = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    assert line is not None, f"{name}{labels} not in /metrics"
    return float(line[1])


def test_uploads_and_downloads_are_counted(app):
    who = people(app)
    create_record(app, who.alice, "books", "dune")
    create_record(app, who.alice, "books", "emma")
    upload_raw(app, who.alice, b"a" * 1000, name="a.bin")
    upload_raw(app, who.alice, b"a" * 1000, name="a.bin", rid="emma")  # the same content
    assert metric(app, "benben_files_uploads_total", '{outcome="stored"}') == 1
    assert metric(app, "benben_files_uploads_total", '{outcome="deduplicated"}') == 1
    assert metric(app, "benben_files_uploaded_bytes_total") == 2000
    body = app.get(attachments_url(name="a.bin"), headers=who.alice).body
    assert len(body) == 1000
    assert metric(app, "benben_files_downloads_total") == 1
    assert metric(app, "benben_files_downloaded_bytes_total") == 1000


def test_refusals_are_counted_by_outcome(app):
    who = people(app)
    create_record(app, who.alice, "books", "dune")
    url = "/api/v1/collections/books/attachment-policy"
    app.put_json(url, {"max_file_size": 10}, headers=who.alice)
    upload_raw(app, who.alice, b"x" * 100, name="big.bin", status=413)
    assert metric(app, "benben_files_uploads_total", '{outcome="refused_size"}') == 1


def test_with_metrics_off_counting_still_works(make_app):
    from benben_files.metrics import get_metrics

    app = make_app({"benben.metrics.enabled": "off"})
    metrics = get_metrics(app.app.registry)
    metrics.upload("stored", 10)
    metrics.download(5)
    metrics.failure("storage")
    metrics.thumbnail("generated")
    metrics.orphans_removed(1, 10)
    metrics.stored(123)
    app.get("/metrics", extra_environ=LOOPBACK, status=404)
