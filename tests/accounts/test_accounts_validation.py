"""The input rules themselves (the API and the CLI tests cover how they are reported)."""

from __future__ import annotations

import pytest

from benben.accounts.validation import (
    FieldErrors,
    InvalidInputError,
    clean_display_name,
    clean_email,
    clean_name,
    password_problems,
)

SETTINGS = {"benben.auth.password_min_length": 12}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Alice", "alice"),
        ("a1", "a1"),
        ("0x", "0x"),
        ("j.doe_2-x", "j.doe_2-x"),
        ("A" * 64, "a" * 64),
    ],
)
def test_names_are_lowercased(given, expected):
    errors = FieldErrors()
    assert clean_name(given, "username", errors) == expected
    assert not errors


@pytest.mark.parametrize(
    "given", ["a", "", "_a", ".a", "-a", "a b", "a/b", "a@b", "a" * 65, "ünï", "a\n", None, 3]
)
def test_bad_names_are_refused(given):
    errors = FieldErrors()
    assert clean_name(given, "username", errors) is None
    assert [e["pointer"] for e in errors.errors] == ["/username"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Ann@Example.ORG", "ann@example.org"),
        ("  first.last+tag@sub.example.co.uk ", "first.last+tag@sub.example.co.uk"),
        ("o'neil@example.ie", "o'neil@example.ie"),
        ("", None),
        (None, None),
    ],
)
def test_emails_are_lowercased_and_empty_means_none(given, expected):
    errors = FieldErrors()
    assert clean_email(given, errors) == expected
    assert not errors


@pytest.mark.parametrize(
    "given",
    [
        "plain",
        "a@b",
        "@example.org",
        "a@",
        "a@@example.org",
        "a b@example.org",
        "a..b@example.org",
        ".a@example.org",
        "a@-example.org",
        "a@example.org.",
        "a@example.1",
        "x" * 65 + "@example.org",
        "a@" + "b" * 250 + ".org",
        ["a@example.org"],
    ],
)
def test_bad_emails_are_refused(given):
    errors = FieldErrors()
    assert clean_email(given, errors) is None
    assert [e["pointer"] for e in errors.errors] == ["/email"]


def test_display_names_are_trimmed_and_bounded():
    errors = FieldErrors()
    assert clean_display_name("  Ada Lovelace ", errors) == "Ada Lovelace"
    assert clean_display_name(None, errors) == ""
    assert clean_display_name("x" * 200, errors) == "x" * 200
    assert not errors
    for bad in ("x" * 201, "tab\there", "bell\x07", 5):
        assert clean_display_name(bad, errors) is None
    assert len(errors.errors) == 4


def test_password_must_not_be_the_username_or_email():
    problems = password_problems("Alice.Example1", SETTINGS, username="alice.example1", email=None)
    assert problems == ["must not be the account's username or email address"]
    assert password_problems("ALICE@EXAMPLE.ORG", SETTINGS, username="x", email="alice@example.org")
    assert password_problems("a fine passphrase", SETTINGS, username="alice", email=None) == []
    assert password_problems("short", SETTINGS, username="alice", email=None)


def test_all_problems_are_reported_at_once():
    errors = FieldErrors()
    clean_name("x", "username", errors)
    clean_email("nope", errors)
    with pytest.raises(InvalidInputError) as raised:
        errors.raise_if_any()
    assert [e["pointer"] for e in raised.value.errors] == ["/username", "/email"]
    assert raised.value.detail.startswith("username: ")
    assert "; email: " in raised.value.detail
