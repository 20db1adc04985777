"""Random UUIDs drawn a batch at a time: well-formed, unique, and never shared with a fork."""

from __future__ import annotations

import os
import uuid
import warnings

import pytest

from benben.uuids import RandomUUIDs, random_uuid


def test_ids_are_version_4_uuids_in_canonical_form():
    for _ in range(300):  # across a refill
        value = random_uuid()
        parsed = uuid.UUID(value)
        assert str(parsed) == value
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_ids_do_not_repeat_across_batches():
    source = RandomUUIDs(batch=4)
    ids = [source() for _ in range(1000)]
    assert len(set(ids)) == len(ids)


def test_one_system_call_serves_a_whole_batch(monkeypatch):
    calls = []
    real = os.urandom

    def counting(n: int) -> bytes:
        calls.append(n)
        return real(n)

    monkeypatch.setattr(os, "urandom", counting)
    source = RandomUUIDs(batch=8)
    for _ in range(17):
        source()
    assert calls == [128, 128, 128]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_does_not_reuse_its_parents_ids():
    source = RandomUUIDs(batch=64)
    source()  # the parent now holds 63 ids drawn
    read, write = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process with threads; the child only writes a pipe.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.write(write, source().encode())
        os._exit(0)
    os.close(write)
    child_id = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child_id != source()
