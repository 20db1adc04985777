"""argon2id hashing and the password policy."""

from __future__ import annotations

import pytest
from pyramid.exceptions import ConfigurationError

from benben.security import check_password_policy, get_password_hasher
from benben.security.passwords import PasswordHasher

FAST = {"time_cost": 1, "memory_cost": 64, "parallelism": 1}


def test_hash_is_argon2id_and_verifies_only_the_right_password():
    hasher = PasswordHasher(**FAST)
    stored = hasher.hash("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert hasher.verify(stored, "correct horse battery staple")
    assert not hasher.verify(stored, "correct horse battery stapl")
    assert not hasher.verify("not-a-hash", "anything")
    assert hasher.hash("same") != hasher.hash("same")  # salted


def test_needs_rehash_when_parameters_change():
    old = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    new = PasswordHasher(time_cost=2, memory_cost=64, parallelism=1)
    stored = old.hash("pw")
    assert not old.needs_rehash(stored)
    assert new.needs_rehash(stored)
    assert new.verify(stored, "pw")  # still verifies: the hash names its parameters
    assert new.needs_rehash("garbage")


def test_verify_dummy_really_verifies(monkeypatch):
    hasher = PasswordHasher(**FAST)
    seen = []
    original = PasswordHasher.verify
    monkeypatch.setattr(
        PasswordHasher, "verify", lambda self, h, p: seen.append(h) or original(self, h, p)
    )
    hasher.verify_dummy("whatever")
    assert len(seen) == 1
    assert seen[0].startswith("$argon2id$v=19$m=64,t=1,p=1$")  # same cost as a real account


def test_impossible_argon2_parameters_name_the_setting():
    with pytest.raises(ConfigurationError, match=r"benben\.auth\.argon2_memory_cost"):
        PasswordHasher(time_cost=1, memory_cost=8, parallelism=4)


def test_password_policy():
    settings = {"benben.auth.password_min_length": 12}
    assert check_password_policy("a" * 12, settings) == []
    assert check_password_policy("a" * 11, settings) == ["must be at least 12 characters long"]
    assert check_password_policy("a" * 1025, settings) == ["must be at most 1024 characters long"]
    assert check_password_policy(" " * 12, settings) == ["must not be only whitespace"]
    assert check_password_policy("a" * 12 + "\x00", settings) == ["must not contain NUL characters"]
    assert check_password_policy(None, settings) == ["must be a string"]
    assert check_password_policy("a" * 16, {"benben.auth.password_min_length": 20})


def test_the_app_hasher_follows_the_settings(make_app):
    app = make_app({"benben.auth.argon2_time_cost": "1", "benben.auth.argon2_memory_cost": "64",
                    "benben.auth.argon2_parallelism": "1"})  # fmt: skip
    hasher = get_password_hasher(app.app.registry)
    assert "$m=64,t=1,p=1$" in hasher.hash("x")
    assert get_password_hasher(app.app.registry) is hasher
