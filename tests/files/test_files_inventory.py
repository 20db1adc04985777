"""The inventory for backups: every attachment and every stored content, in a stable order,
batch after batch, and each content's bytes from storage, checked."""

from __future__ import annotations

import hashlib

import pytest
from files_support import create_record, people, upload_raw
from tasks_support import files_command, store, transaction_of

from benben_files.inventory import iter_attachments, iter_blobs, open_blob


@pytest.mark.parametrize("batch_size", [1, 2, 1000])
def test_what_was_uploaded_is_listed(app, batch_size):
    registry = app.app.registry
    who = people(app)
    for cid, rid in (("films", "alien"), ("books", "emma"), ("books", "dune")):
        create_record(app, who.alice, cid, rid)
    uploads = [
        ("books", "dune", "map.txt", b"a map"),
        ("books", "dune", "cover.txt", b"shared"),
        ("books", "emma", "letter.txt", b"shared"),
        ("films", "alien", "poster.txt", b"a poster"),
    ]
    for cid, rid, name, content in uploads:
        upload_raw(app, who.alice, content, name=name, cid=cid, rid=rid, content_type="text/plain")
    with transaction_of(registry) as session:
        entries = list(iter_attachments(session, batch_size=batch_size))
        blobs = list(iter_blobs(session, batch_size=batch_size))
    assert [(e.collection_id, e.record_id, e.name) for e in entries] == sorted(
        (cid, rid, name) for cid, rid, name, _content in uploads
    )
    contents = {(cid, rid, name): content for cid, rid, name, content in uploads}
    for entry in entries:
        content = contents[entry.collection_id, entry.record_id, entry.name]
        assert entry.sha256 == hashlib.sha256(content).hexdigest()
        assert entry.size == len(content)
        assert entry.content_type == "text/plain"
        assert b"".join(open_blob(registry, entry.sha256, key=entry.key)) == content
    assert [blob.sha256 for blob in blobs] == sorted({e.sha256 for e in entries})  # once each
    assert {blob.key for blob in blobs} == {e.key for e in entries}
    assert b"".join(open_blob(registry, blobs[0].sha256)) in contents.values()  # looked up


def test_a_content_unknown_or_altered_is_an_error(app):
    from benben_files.models import Blob

    registry = app.app.registry
    with pytest.raises(LookupError):
        open_blob(registry, "0" * 64)
    key = store(registry, b"not what it says")
    wrong_sha = hashlib.sha256(b"what it says").hexdigest()
    with transaction_of(registry) as session:
        session.add(Blob(sha256=wrong_sha, key=key, size=16, content_type="text/plain"))
    with pytest.raises(ValueError, match="does not hold"):
        b"".join(open_blob(registry, wrong_sha))
    assert b"".join(open_blob(registry, wrong_sha, verify=False)) == b"not what it says"


def test_the_ls_command_lists_attachments(app, app_settings, monkeypatch, capsys):
    import json

    who = people(app)
    create_record(app, who.alice, "books", "dune")
    create_record(app, who.alice, "films", "alien")
    upload_raw(app, who.alice, b"a map", name="map.txt", content_type="text/plain")
    upload_raw(app, who.alice, b"poster", name="poster.txt", cid="films", rid="alien")
    code, out = files_command(monkeypatch, capsys, app_settings, "ls")
    assert code == 0
    map_sha = hashlib.sha256(b"a map").hexdigest()
    poster_sha = hashlib.sha256(b"poster").hexdigest()
    assert out.splitlines() == [
        f"books\tdune\tmap.txt\t5\ttext/plain\t{map_sha}",
        f"films\talien\tposter.txt\t6\ttext/plain\t{poster_sha}",
    ]
    code, out = files_command(
        monkeypatch, capsys, app_settings, "ls", "--collection", "films", "--json"
    )
    (line,) = out.splitlines()
    assert json.loads(line)["sha256"] == poster_sha
    assert json.loads(line)["record"] == "alien"
