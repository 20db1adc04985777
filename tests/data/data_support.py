"""Helpers of the data API tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benben.testing_auth import add_user, bearer, login

COLLECTIONS = "/api/v1/collections"


@dataclass
class User:
    id: str
    username: str
    headers: dict[str, str]

    @property
    def principal(self) -> str:
        return f"user:{self.id}"


def make_user(app: Any, username: str, **fields: Any) -> User:
    user_id = add_user(app.app.registry, username, **fields)
    return User(user_id, username, bearer(login(app, username)["access_token"]))


def records_url(cid: str) -> str:
    return f"{COLLECTIONS}/{cid}/records"


def record_url(cid: str, rid: str) -> str:
    return f"{COLLECTIONS}/{cid}/records/{rid}"


def pointers(response: Any) -> list[str]:
    assert response.content_type == "application/problem+json", response.text
    return [error.get("pointer", error.get("name")) for error in response.json.get("errors") or []]
