"""Helpers of the export and import tests: the test app's backends as an ini the command reads,
collections and records arranged through the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benben.testing_auth import add_user, bearer, login

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "price": {"type": "number"},
        "count": {"type": "integer"},
        "open": {"type": "boolean"},
        "note": {"type": ["string", "null"]},
        "tags": {"type": "array"},
        "author": {"type": "object", "properties": {"name": {"type": "string"}}},
    },
}


def write_ini(directory: Path, settings: dict[str, Any], **overrides: Any) -> str:
    """An ini naming the test's database and cache (``app_settings``), plus ``overrides``."""
    values = {**settings, **overrides}
    # Values are interpolated (%(here)s): a URL's percent-escapes are doubled.
    entries = (f"{k} = {str(v).replace('%', '%%')}" for k, v in values.items())
    lines = ["[app:main]", "use = egg:benben", *entries]
    path = directory / "transfer.ini"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


class World:
    """An administrator (the commands' default caller), a collection, the test app."""

    def __init__(self, app: Any) -> None:
        self.app = app
        registry = app.app.registry
        self.admin_id = add_user(registry, "admin", is_admin=True)
        self.admin = bearer(login(app, "admin")["access_token"])

    def user(self, name: str, **fields: Any) -> tuple[str, dict[str, str] | None]:
        """The user's id and, when active, bearer headers."""
        user_id = add_user(self.app.app.registry, name, **fields)
        if not fields.get("is_active", True):
            return user_id, None
        return user_id, bearer(login(self.app, name)["access_token"])

    def collection(self, cid: str, schema: Any = SCHEMA, **fields: Any) -> None:
        body = {"schema": schema, **fields}
        self.app.put_json(f"/api/v1/collections/{cid}", body, headers=self.admin)

    def put(self, cid: str, rid: str, data: dict[str, Any], **body: Any) -> None:
        path = f"/api/v1/collections/{cid}/records/{rid}"
        self.app.put_json(path, {"data": data, **body}, headers=self.admin)

    def records(self, cid: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """id -> data of every record."""
        page = self.app.get(
            f"/api/v1/collections/{cid}/records",
            {"_limit": "1000", "_sort": "id"},
            headers=headers or self.admin,
        ).json
        assert page["next"] is None
        return {record["id"]: record["data"] for record in page["data"]}

    def events(self, cid: str) -> list[dict[str, Any]]:
        page = self.app.get(
            "/api/v1/events", {"collection": cid, "_limit": "1000"}, headers=self.admin
        ).json
        return page["data"]

    def history(self, cid: str) -> list[dict[str, Any]]:
        page = self.app.get(
            f"/api/v1/collections/{cid}/history", {"_limit": "1000"}, headers=self.admin
        ).json
        return page["data"]


def write_lines(path: Path, *values: Any) -> str:
    """JSON Lines (a str value is written as it is: a malformed line)."""
    text = "".join((v if isinstance(v, str) else json.dumps(v)) + "\n" for v in values)
    path.write_text(text)
    return str(path)
