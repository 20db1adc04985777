"""The server secret: generated once in development, strict in production."""

from __future__ import annotations

import os
import secrets
import stat

import pytest
from pyramid.exceptions import ConfigurationError

from benben.security.secret import MIN_SECRET_BYTES, SECRET_FILE, ensure_secret


def development(tmp_path, secret=""):
    return {"benben.environment": "development", "benben.secret": secret,
            "benben.data_dir": str(tmp_path / "var")}  # fmt: skip


def test_development_generates_a_private_secret_once(tmp_path):
    values, sources = development(tmp_path), {}
    ensure_secret(values, sources)
    path = tmp_path / "var" / SECRET_FILE
    generated = values["benben.secret"]
    assert len(generated.encode()) >= MIN_SECRET_BYTES
    assert sources["benben.secret"] == f"generated ({path})"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_text().strip() == generated
    assert [p.name for p in path.parent.iterdir()] == [SECRET_FILE]  # no temporary left over

    restarted = development(tmp_path)
    ensure_secret(restarted, {})
    assert restarted["benben.secret"] == generated


def test_a_configured_secret_is_used_and_nothing_written(tmp_path):
    secret = secrets.token_urlsafe(64)
    values, sources = development(tmp_path, secret), {"benben.secret": "env"}
    ensure_secret(values, sources)
    assert values["benben.secret"] == secret
    assert sources["benben.secret"] == "env"
    assert not (tmp_path / "var").exists()


def test_short_configured_secret_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match=r"benben\.secret: at least 64 bytes"):
        ensure_secret(development(tmp_path, "short"), {})


def test_a_damaged_secret_file_is_refused_not_replaced(tmp_path):
    path = tmp_path / "var" / SECRET_FILE
    path.parent.mkdir()
    path.write_text("truncated\n")
    with pytest.raises(ConfigurationError, match="fewer than 64 bytes: delete it"):
        ensure_secret(development(tmp_path), {})
    assert path.read_text() == "truncated\n"


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("", "benben.secret is required in production"),
        (secrets.token_urlsafe(20), "at least 64 bytes needed in production"),
        ("change-me-" + secrets.token_urlsafe(64), "looks like a development or example value"),
        ("example" + secrets.token_urlsafe(64), "looks like a development or example value"),
        ("x" * 80, "is not random"),
        ("0123456789" * 8, "is not random"),
    ],
    ids=["empty", "short", "change-me", "example", "repeated", "sequence"],  # stable for xdist
)
def test_production_refuses_weak_secrets(tmp_path, secret, message):
    values = {**development(tmp_path, secret), "benben.environment": "production"}
    with pytest.raises(ConfigurationError, match=message):
        ensure_secret(values, {})
    assert not (tmp_path / "var").exists()


def test_production_accepts_a_random_secret(tmp_path):
    secret = secrets.token_urlsafe(64)
    values = {**development(tmp_path, secret), "benben.environment": "production"}
    ensure_secret(values, {})
    assert values["benben.secret"] == secret


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_the_secret_and_its_directory_are_private_whatever_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        ensure_secret(development(tmp_path), {})
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "var").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "var" / SECRET_FILE).st_mode) == 0o600


def test_an_existing_secret_left_readable_is_tightened_and_kept(tmp_path, caplog):
    path = tmp_path / "var" / SECRET_FILE
    path.parent.mkdir(mode=0o755)
    kept = secrets.token_urlsafe(64)
    path.write_text(kept + "\n")
    os.chmod(path, 0o644)
    os.chmod(path.parent, 0o755)  # noqa: S103 - as an older version left it
    values = development(tmp_path)
    ensure_secret(values, {})
    assert values["benben.secret"] == kept
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert f"{path} was open to other users (mode 0644): made 0600" in caplog.text
