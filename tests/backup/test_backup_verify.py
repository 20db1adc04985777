"""benben.backup.verify: a good archive passes with its counts; each kind of damage is one clear
error naming the member (and line)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from archive_edits import edit_manifest, flip_byte, truncate_inside

from benben.backup.dump import create_backup
from benben.backup.format import ArchiveError
from benben.backup.verify import verify_archive


@pytest.fixture
def archive(app, tmp_path):
    from benben.testing_auth import add_user

    for number in range(5):
        add_user(app.app.registry, f"user{number}")
    return Path(create_backup(app.app.registry, str(tmp_path / "a.tar")).location)


def test_a_good_archive_passes_with_its_counts(archive):
    report = verify_archive(archive)
    assert report.rows == report.manifest.rows
    assert report.rows >= 5
    assert report.tables == len(report.manifest.tables())
    assert "OK" in report.summary()
    assert f"{report.tables} tables" in report.summary()


def test_a_flipped_byte_is_a_sha256_mismatch_of_its_member(archive):
    damaged = flip_byte(archive, "tables/benben_users.jsonl.gz", at=40)
    with pytest.raises(ArchiveError, match=r"^tables/benben_users.jsonl.gz: sha256 mismatch$"):
        verify_archive(damaged)


def test_a_truncated_archive_names_the_member_it_ends_in(archive):
    cut = truncate_inside(archive, "tables/benben_users.jsonl.gz")
    with pytest.raises(
        ArchiveError,
        match=r"^archive ends inside member tables/benben_users.jsonl.gz: truncated$",
    ):
        verify_archive(cut)


def test_an_archive_cut_between_members(archive, tmp_path):
    with tarfile.open(archive) as tar:
        end = tar.getmember("tables/benben_groups.jsonl.gz").offset
    cut = tmp_path / "cut.tar"
    cut.write_bytes(archive.read_bytes()[:end])
    with pytest.raises(ArchiveError, match=r"before tables/benben_groups.jsonl.gz: truncated"):
        verify_archive(cut)


def test_a_future_format_version_is_refused(archive):
    newer = edit_manifest(archive, lambda manifest: manifest.update(format_version=2))
    with pytest.raises(ArchiveError, match=r"archive format 2 is newer than this Benben reads"):
        verify_archive(newer)


def test_not_a_tar_and_a_gzipped_tar(tmp_path, archive):
    text = tmp_path / "notes.txt"
    text.write_text("hello\n" * 200)
    with pytest.raises(ArchiveError, match=r"not a Benben archive \(not a tar file\)"):
        verify_archive(text)
    gzipped = tmp_path / "a.tar.gz"
    gzipped.write_bytes(gzip.compress(archive.read_bytes()))
    with pytest.raises(ArchiveError, match=r"gzip-compressed"):
        verify_archive(gzipped)


def test_a_row_of_the_wrong_type_names_its_line(archive, tmp_path):
    # A member rewritten with a bad second line, and its digest with it: only the row is wrong.
    name = "tables/benben_users.jsonl.gz"
    with tarfile.open(archive) as tar:
        lines = gzip.decompress(tar.extractfile(name).read()).splitlines()  # type: ignore[union-attr]
    row = json.loads(lines[1])
    row[5] = "yes"  # is_active: a boolean
    lines[1] = json.dumps(row).encode()
    member = gzip.compress(b"\n".join(lines) + b"\n")
    changed = tmp_path / "typed.tar"

    def digest(manifest):
        manifest["members"][name] = {
            "size": len(member),
            "sha256": hashlib.sha256(member).hexdigest(),
        }

    edited = edit_manifest(archive, digest)
    with (
        tarfile.open(edited) as source,
        tarfile.open(changed, "w", format=tarfile.PAX_FORMAT) as out,
    ):
        for info in source.getmembers():
            data = source.extractfile(info).read()  # type: ignore[union-attr]
            if info.name == name:
                data = member
                info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    with pytest.raises(
        ArchiveError, match=r"^tables/benben_users.jsonl.gz line 2: column is_active"
    ):
        verify_archive(changed)


def test_a_member_the_manifest_does_not_announce(archive, tmp_path):
    extra = tmp_path / "extra.tar"
    extra.write_bytes(archive.read_bytes())
    with tarfile.open(extra, "a", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("tables/intruder.jsonl.gz")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    with pytest.raises(ArchiveError, match=r"unexpected member tables/intruder.jsonl.gz"):
        verify_archive(extra)
