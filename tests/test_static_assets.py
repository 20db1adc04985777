"""``config.add_static_assets``: fixed files under a URL carrying their digest."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyramid.exceptions import ConfigurationError

import benben
from benben.static_assets import assets_version

TEMPLATES = Path(benben.__file__).parent / "templates"


def test_served_under_their_digest_cached_a_year_never_limited(make_app):
    served = {}

    def include(config):
        served["base"] = config.add_static_assets("demo", "benben:templates")

    app = make_app({"benben.ratelimit.default": "1/minute"}, include=include)
    assert served["base"] == f"/demo/{assets_version(TEMPLATES)}"
    for _ in range(3):  # above the limit: never counted
        answer = app.get(f"{served['base']}/landing.html")
        assert answer.body == (TEMPLATES / "landing.html").read_bytes()
        assert "max-age=31536000" in answer.headers["Cache-Control"]
        assert "RateLimit-Limit" not in answer.headers
    app.get("/demo/0000000000000000/landing.html", status=404)  # another version's URL


def test_under_a_plugins_route_prefix_the_path_returned_is_the_one_served(make_app):
    served = {}

    def include(config):
        with config.route_prefix_context("/stock"):  # as a plugin's includeme runs
            served["base"] = config.add_static_assets("ui", "benben:templates")

    app = make_app({"benben.ratelimit.default": "1/minute"}, include=include)
    assert served["base"] == f"/stock/ui/{assets_version(TEMPLATES)}"
    for _ in range(3):  # the exemption covers the prefixed path
        answer = app.get(f"{served['base']}/landing.html")
        assert answer.body == (TEMPLATES / "landing.html").read_bytes()
        assert "RateLimit-Limit" not in answer.headers


def test_the_digest_follows_the_content(tmp_path):
    (tmp_path / "a.js").write_text("one")
    before = assets_version(tmp_path)
    (tmp_path / "a.js").write_text("two")
    assert assets_version(tmp_path) != before


@pytest.mark.parametrize(
    ("name", "spec", "message"),
    [("Bad Name", "benben:templates", "lowercase"), ("ok", "benben:nothing-here", "directory")],
)
def test_bad_assets_stop_start_up(make_app, name, spec, message):
    with pytest.raises(ConfigurationError, match=message):
        make_app(include=lambda config: config.add_static_assets(name, spec))
