"""Helpers of the accounts tests: users made through the accounts services, then logged in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyramid.scripting import prepare

# Cheap argon2 parameters: the tests exercise accounts, not the hashing cost.
FAST_HASHING = {
    "benben.auth.argon2_time_cost": "1",
    "benben.auth.argon2_memory_cost": "64",
    "benben.auth.argon2_parallelism": "1",
}
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase 42"


@dataclass
class Account:
    id: str
    username: str
    password: str
    tokens: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.tokens["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def in_transaction(registry: Any, work: Any) -> Any:
    """Run ``work(request)`` on a scripted request, committed (as the CLI does)."""
    environment = prepare(registry=registry)
    request = environment["request"]
    request.tm.begin()
    try:
        result = work(request)
        request.tm.commit()
        return result
    except BaseException:
        request.tm.abort()
        raise
    finally:
        environment["closer"]()


def add_user(app: Any, username: str, password: str = PASSWORD, **fields: Any) -> str:
    from benben.accounts.services import create_user

    return in_transaction(
        app.app.registry,
        lambda request: create_user(request, username=username, password=password, **fields).id,
    )


def login(app: Any, username: str, password: str = PASSWORD, **kwargs: Any) -> Any:
    return app.post_json(
        "/api/v1/auth/login", {"username": username, "password": password}, **kwargs
    )


def make_account(app: Any, username: str, password: str = PASSWORD, **fields: Any) -> Account:
    user_id = add_user(app, username, password, **fields)
    return Account(user_id, username, password, login(app, username, password).json)


def problem_pointers(response: Any) -> list[str]:
    assert response.content_type == "application/problem+json", response.text
    return [error["pointer"] for error in response.json.get("errors") or []]
