"""``config.add_admin_page``: validated, listed in the console's boot data in order, and two
registrations of one name conflict."""

from __future__ import annotations

import json
import re

import pytest
from pyramid.exceptions import ConfigurationConflictError, ConfigurationError


def pages(app) -> list[dict]:
    html = app.get("/admin/").text
    found = re.search(r'id="console-config">(.*?)</script>', html)
    return json.loads(found.group(1))["pages"]


def test_pages_are_listed_in_order_with_their_route(make_app):
    def include(config):
        config.add_admin_page("zeta", "Zeta", "/z/page.js", order=5)
        config.add_admin_page("alpha", "Alpha", "/a/page.mjs", icon="bi-star", admin_only=True)

    listed = [p for p in pages(make_app(include=include)) if p["name"] in ("zeta", "alpha")]
    assert [p["name"] for p in listed] == ["zeta", "alpha"]
    assert listed[1] == {
        "name": "alpha",
        "title": "Alpha",
        "module": "/a/page.mjs",
        "icon": "bi-star",
        "order": 100,
        "admin_only": True,
        "plugin": "",
        "path": "/admin/plugins/alpha",
    }


def test_a_plugin_page_path_answers_the_shell(make_app):
    app = make_app(include=lambda config: config.add_admin_page("x", "X", "/x.js"))
    assert app.get("/admin/plugins/x").content_type == "text/html"


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("Bad Name", "T", "/p.js"), {}, "name"),
        (("", "T", "/p.js"), {}, "name"),
        (("ok", "", "/p.js"), {}, "title"),
        (("ok", "x" * 61, "/p.js"), {}, "title"),
        (("ok", "T", "https://cdn.example/p.js"), {}, "module"),
        (("ok", "T", "//cdn.example/p.js"), {}, "module"),
        (("ok", "T", "/p.css"), {}, "module"),
        (("ok", "T", "/a/../p.js"), {}, "module"),
        (("ok", "T", "/p.js"), {"icon": "fa-star"}, "icon"),
        (("ok", "T", "/p.js"), {"order": "1"}, "order"),
        (("ok", "T", "/p.js"), {"admin_only": "yes"}, "admin_only"),
    ],
)
def test_bad_arguments_are_refused_at_configuration(make_app, args, kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        make_app(include=lambda config: config.add_admin_page(*args, **kwargs))


def test_two_pages_of_one_name_conflict(make_app):
    # Two includes (Pyramid tells includes apart by their function's name), as two plugins.
    def one(config):
        config.add_admin_page("dup", "One", "/one.js")

    def two(config):
        config.add_admin_page("dup", "Two", "/two.js")

    def include(config):
        config.include(one)
        config.include(two)

    with pytest.raises(ConfigurationConflictError):
        make_app(include=include)
