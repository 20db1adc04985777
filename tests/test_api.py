"""GET /version: Benben's and the API's version for anyone; the Python version and the platform
only for administrators."""

from __future__ import annotations

import platform

from benben.testing_auth import FAST_PASSWORD_HASHING, add_user, bearer, login
from benben.version import __version__

PLATFORM = {"python", "platform"}


def test_the_platform_is_shown_only_to_those_allowed_to_see_details(make_app):
    app = make_app(FAST_PASSWORD_HASHING)
    anonymous = app.get("/version")
    assert anonymous.json["version"] == __version__
    assert anonymous.json["api"] == "v1"
    assert isinstance(anonymous.json["plugins"], dict)
    assert not PLATFORM & anonymous.json.keys()
    assert "Authorization" in anonymous.headers["Vary"]  # no shared cache mixes the answers

    registry = app.app.registry
    add_user(registry, "root", is_admin=True)
    add_user(registry, "alice")
    user = app.get("/version", headers=bearer(login(app, "alice")["access_token"])).json
    assert not PLATFORM & user.keys()
    admin = bearer(login(app, "root")["access_token"])
    read_only = app.post_json(
        "/api/v1/tokens", {"name": "probe", "scopes": ["read"]}, headers=admin
    ).json["token"]
    assert not PLATFORM & app.get("/version", headers=bearer(read_only)).json.keys()

    detailed = app.get("/version", headers=admin).json
    assert detailed["python"] == platform.python_version()
    assert detailed["platform"] == platform.platform(terse=True)
    assert detailed.items() >= anonymous.json.items()
