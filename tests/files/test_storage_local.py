"""The storage contract, run on every backend (``backend_storage``: the local disk, then S3),
and the local disk's own promises: atomic writes, safe keys, file modes, disk failures."""

from __future__ import annotations

import datetime
import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benben.testing_services import unavailable
from benben_files.storage import new_key
from benben_files.storage.base import StorageError, iter_file
from benben_files.storage.local import CHUNK_SIZE, LocalStorage

KiB = 1024
MiB = 1024 * KiB


class ClientWentAwayError(Exception):
    pass


def pattern(size: int) -> bytes:
    """``size`` bytes that differ from one offset to the next (a shifted range would show)."""
    block = bytes(range(251))  # a prime length: no period aligned with any chunk size
    return (block * (size // len(block) + 1))[:size]


def in_chunks(data: bytes, size: int = 64 * KiB) -> Iterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


def failing_after(data: bytes, sent: int) -> Iterator[bytes]:
    """The chunks of ``data`` until ``sent`` bytes went, then the client goes away."""
    for offset in range(0, sent, 64 * KiB):
        yield data[offset : min(offset + 64 * KiB, sent)]
    raise ClientWentAwayError


def open_files() -> set[str]:
    """The paths this process has open (Linux)."""
    if not os.path.isdir("/proc/self/fd"):
        unavailable("/proc/self/fd (Linux), to list the files this process has open")
    paths = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            paths.add(os.readlink(f"/proc/self/fd/{name}"))
        except OSError:
            continue  # closed meanwhile
    return paths


def read_all(storage: Any, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(storage.read(key, start, end))


def keys_under(storage: Any, prefix: str = "") -> dict[str, int]:
    return {item.key: item.size for item in storage.iter_objects(prefix)}


# -- the contract, on each backend -----------------------------------------------------------


def test_round_trip_keeps_every_byte(backend_storage: Any) -> None:
    data = os.urandom(3 * MiB + 123)
    key = new_key("blobs")
    size = backend_storage.write(key, in_chunks(data), content_type="application/octet-stream")
    assert size == len(data)
    chunks = list(backend_storage.read(key))
    assert all(len(chunk) <= CHUNK_SIZE for chunk in chunks)
    assert hashlib.sha256(b"".join(chunks)).hexdigest() == hashlib.sha256(data).hexdigest()


def test_empty_object(backend_storage: Any) -> None:
    key = new_key("blobs")
    assert backend_storage.write(key, iter(()), content_type="text/plain") == 0
    assert read_all(backend_storage, key) == b""
    assert keys_under(backend_storage, "blobs/") == {key: 0}


def test_a_failing_stream_leaves_nothing(backend_storage: Any) -> None:
    data = pattern(2 * MiB)
    key = new_key("blobs")
    with pytest.raises(ClientWentAwayError):
        backend_storage.write(key, failing_after(data, MiB), content_type="text/plain")
    assert keys_under(backend_storage) == {}
    with pytest.raises(FileNotFoundError):
        read_all(backend_storage, key)


def test_ranges(backend_storage: Any) -> None:
    data = pattern(600 * KiB)
    key = new_key("blobs")
    backend_storage.write(key, in_chunks(data), content_type="application/octet-stream")
    assert read_all(backend_storage, key, 0, 10) == data[:10]
    assert read_all(backend_storage, key, 1000, 2000) == data[1000:2000]
    # Across several chunks, from an odd offset.
    assert read_all(backend_storage, key, 7, 300 * KiB + 5) == data[7 : 300 * KiB + 5]
    assert read_all(backend_storage, key, 500 * KiB) == data[500 * KiB :]
    assert read_all(backend_storage, key, len(data) - 1) == data[-1:]
    # An end past the object's end stops at its end; a start past it reads nothing.
    assert read_all(backend_storage, key, len(data) - 3, len(data) + 100) == data[-3:]
    assert read_all(backend_storage, key, len(data) + 10) == b""
    assert read_all(backend_storage, key, 5, 5) == b""


def test_a_missing_object_is_file_not_found(backend_storage: Any) -> None:
    with pytest.raises(FileNotFoundError):
        # Raised by read() itself, before any chunk: a download answers 404, not a broken 200.
        backend_storage.read(new_key("blobs"))
    with pytest.raises(FileNotFoundError):
        backend_storage.read(new_key("blobs"), 10, 20)


def test_delete_is_idempotent(backend_storage: Any) -> None:
    kept, deleted = new_key("blobs"), new_key("blobs")
    backend_storage.write(kept, [b"kept"], content_type="text/plain")
    backend_storage.write(deleted, [b"deleted"], content_type="text/plain")
    backend_storage.delete(deleted)
    backend_storage.delete(deleted)
    backend_storage.delete(new_key("blobs"))  # never existed
    with pytest.raises(FileNotFoundError):
        backend_storage.read(deleted)
    assert keys_under(backend_storage) == {kept: 4}


def test_iter_objects_lists_what_was_written(backend_storage: Any) -> None:
    before = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=2)
    blobs = {new_key("blobs"): size for size in (0, 1, 5000, 300 * KiB)}
    for key, size in blobs.items():
        backend_storage.write(key, in_chunks(pattern(size)), content_type="text/plain")
    thumbnail = new_key("thumbnails")
    backend_storage.write(thumbnail, [b"png"], content_type="image/png")

    listed = list(backend_storage.iter_objects("blobs/"))
    assert {item.key: item.size for item in listed} == blobs
    after = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=2)
    for item in listed:
        assert item.modified_at.tzinfo is not None
        assert before <= item.modified_at <= after
    assert keys_under(backend_storage, "thumbnails/") == {thumbnail: 3}
    assert keys_under(backend_storage) == {**blobs, thumbnail: 3}
    shard = next(iter(blobs))[: len("blobs/ab/")]
    assert keys_under(backend_storage, shard) == {
        key: size for key, size in blobs.items() if key.startswith(shard)
    }
    assert keys_under(backend_storage, "nothing/") == {}


def test_check_passes_on_a_usable_storage(backend_storage: Any) -> None:
    backend_storage.check()


def test_reading_a_file_like_stream(backend_storage: Any, tmp_path: Path) -> None:
    source = tmp_path / "upload.bin"
    source.write_bytes(pattern(700 * KiB))
    key = new_key("blobs")
    with source.open("rb") as stream:
        backend_storage.write(key, iter_file(stream), content_type="application/octet-stream")
    assert read_all(backend_storage, key) == source.read_bytes()


def test_new_keys_are_random_and_sharded() -> None:
    key = new_key("thumbnails")
    kind, shard, name = key.split("/")
    assert kind == "thumbnails"
    assert len(name) == 32
    assert shard == name[:2]
    assert new_key("blobs") != new_key("blobs")
    with pytest.raises(ValueError, match="unknown object kind"):
        new_key("../etc")


# -- the local disk ----------------------------------------------------------------------------


@pytest.fixture
def local(tmp_path: Path) -> LocalStorage:
    root = tmp_path / "files"
    root.mkdir()
    return LocalStorage(root)


@pytest.mark.parametrize(
    "key",
    [
        "../outside",
        "blobs/../../outside",
        "/etc/passwd",
        "blobs\\ab\\c",
        "blobs//double",
        "blobs/./here",
        "blobs/",
        "",
        "blobs/a\x00b",
    ],
)
def test_unsafe_keys_are_refused(local: LocalStorage, tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="invalid storage key"):
        local.write(key, [b"x"], content_type="text/plain")
    with pytest.raises(ValueError, match="invalid storage key"):
        local.read(key)
    with pytest.raises(ValueError, match="invalid storage key"):
        local.delete(key)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["files"]
    assert list(local.root.iterdir()) == []


def test_files_are_private_to_the_group(local: LocalStorage) -> None:
    old = os.umask(0o077)  # a umask stricter than the promised mode
    try:
        key = new_key("blobs")
        local.write(key, [b"data"], content_type="text/plain")
    finally:
        os.umask(old)
    assert stat.S_IMODE(local.path(key).stat().st_mode) == 0o640
    assert local.path(key).read_bytes() == b"data"


def test_a_failed_write_leaves_no_temporary_file(local: LocalStorage) -> None:
    key = new_key("blobs")
    with pytest.raises(ClientWentAwayError):
        local.write(key, failing_after(pattern(MiB), 300 * KiB), content_type="text/plain")
    leftovers = [path for path in local.root.rglob("*") if path.is_file()]
    assert leftovers == []


def test_a_write_in_progress_is_invisible_under_its_key(local: LocalStorage) -> None:
    key = new_key("blobs")
    seen: list[bool] = []

    def chunks() -> Iterator[bytes]:
        yield b"half"
        seen.append(local.path(key).exists())
        files = [path.name for path in local.path(key).parent.iterdir()]
        assert len(files) == 1
        assert files[0].startswith(".part-")
        yield b"done"

    local.write(key, chunks(), content_type="text/plain")
    assert seen == [False]
    assert local.path(key).read_bytes() == b"halfdone"


def test_stale_temporary_files_are_listed_for_the_sweep(local: LocalStorage) -> None:
    # What a process killed mid-write leaves: the sweep finds it and removes it once old.
    shard = local.root / "blobs" / "ab"
    shard.mkdir(parents=True)
    (shard / ".part-0123").write_bytes(b"partial")
    listed = keys_under(local, "blobs/")
    assert listed == {"blobs/ab/.part-0123": 7}
    local.delete("blobs/ab/.part-0123")
    assert keys_under(local) == {}


def test_a_full_disk_is_a_storage_error(
    local: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    key = new_key("blobs")
    with pytest.raises(StorageError, match="No space left"):
        local.write(key, [b"data"], content_type="text/plain")
    monkeypatch.undo()
    assert [path for path in local.root.rglob("*") if path.is_file()] == []


def test_an_unreadable_object_is_a_storage_error(local: LocalStorage) -> None:
    key = new_key("blobs")
    local.path(key).mkdir(parents=True)  # a directory where the file should be
    with pytest.raises(StorageError):
        local.read(key)


def test_check_fails_when_the_root_is_gone(local: LocalStorage) -> None:
    local.root.rmdir()
    with pytest.raises(StorageError, match="cannot write"):
        local.check()


def test_a_response_closed_early_releases_its_file(local: LocalStorage) -> None:
    key = new_key("blobs")
    local.write(key, [pattern(600 * KiB)], content_type="application/octet-stream")
    chunks = local.read(key)
    assert len(next(chunks)) == CHUNK_SIZE
    assert str(local.path(key)) in open_files()
    chunks.close()  # what a WSGI server does when the client goes away
    assert str(local.path(key)) not in open_files()
    assert list(chunks) == []
    assert local.presigned_url(key, filename="a.bin", content_type="x/y", expires_in=60) is None
