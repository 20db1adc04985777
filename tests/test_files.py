"""benben.files: what Benben creates in its data directory is its user's alone (0700/0600)
whatever the umask; what an earlier version left open is tightened when it is Benben's."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from benben.files import create_private_file, private_directory, tighten_file


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(params=[0o022, 0o000, 0o277], ids=["umask022", "umask000", "umask277"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


@pytest.fixture
def umask022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_new_directories_are_0700_and_new_files_0600_whatever_the_umask(tmp_path, umask):
    data_dir = tmp_path / "deep" / "var"  # a missing parent too
    private_directory(str(data_dir))
    assert mode(data_dir) == 0o700
    assert create_private_file(str(data_dir / "benben.sqlite")) is True
    assert mode(data_dir / "benben.sqlite") == 0o600
    assert (data_dir / "benben.sqlite").read_bytes() == b""
    # The parent was not ours to lock down: it keeps the umask's mode.
    assert mode(tmp_path / "deep") == 0o777 & ~umask


def test_an_open_data_directory_of_benbens_is_tightened(tmp_path, umask022, caplog):
    data_dir = tmp_path / "var"
    data_dir.mkdir(mode=0o755)
    (data_dir / "secret.key").write_text("x")
    private_directory(str(data_dir), owned_names=("secret.key",))
    assert mode(data_dir) == 0o700
    assert f"the data directory {data_dir} was open to other users (mode 0755)" in caplog.text

    empty = tmp_path / "empty"
    empty.mkdir(mode=0o750)
    private_directory(str(empty))
    assert mode(empty) == 0o700


@pytest.mark.parametrize("kind", ["someone else's", "not benben's", "sticky"])
def test_a_directory_that_may_not_be_benbens_is_left_alone_with_a_warning(
    tmp_path, umask022, caplog, monkeypatch, kind
):
    shared = tmp_path / "srv"
    shared.mkdir(mode=0o755)
    (shared / "other-service").mkdir()
    owned = ("benben.sqlite",)
    if kind == "someone else's":
        (shared / "benben.sqlite").write_text("")
        monkeypatch.setattr(os, "geteuid", lambda: os.stat(shared).st_uid + 1)
    elif kind == "sticky":
        (shared / "benben.sqlite").write_text("")
        os.chmod(shared, 0o1777)  # noqa: S103 - a shared directory like /tmp, on purpose
    expected = mode(shared)
    private_directory(str(shared), owned_names=owned)
    assert mode(shared) == expected
    assert f"run chmod 700 {shared}" in caplog.text


def test_an_open_file_is_tightened_if_ours_else_a_warning(tmp_path, umask022, caplog, monkeypatch):
    database = tmp_path / "benben.sqlite"
    database.write_text("data")
    os.chmod(database, 0o644)
    assert create_private_file(str(database)) is False  # existing: kept, tightened
    assert database.read_text() == "data"
    assert mode(database) == 0o600
    assert "was open to other users (mode 0644): made 0600" in caplog.text

    foreign = tmp_path / "foreign.sqlite"
    foreign.write_text("")
    os.chmod(foreign, 0o640)
    monkeypatch.setattr(os, "geteuid", lambda: os.stat(foreign).st_uid + 1)
    with caplog.at_level(logging.WARNING):
        tighten_file(str(foreign))
    assert mode(foreign) == 0o640
    assert f"run chmod 600 {foreign}" in caplog.text
    tighten_file(str(tmp_path / "missing"))  # nothing to do, no error
