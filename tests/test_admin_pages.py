"""``config.add_admin_page``: core's directive, callable by any plugin whatever the include order
and whether or not the console is enabled."""

from __future__ import annotations

import pytest
from pyramid.exceptions import ConfigurationError

from benben.plugin import admin_pages


def test_pages_are_recorded_with_the_console_disabled(make_app):
    def include(config):
        config.add_admin_page("stock", "Stock", "/stock/static/page.js", icon="bi-box", order=5)

    registry = make_app({"benben.plugins.disabled": "console"}, include=include).app.registry
    (page,) = [p for p in admin_pages(registry) if p.name == "stock"]
    assert (page.title, page.module, page.icon, page.order) == (
        "Stock",
        "/stock/static/page.js",
        "bi-box",
        5,
    )
    # Nobody serves the console then.
    make_app({"benben.plugins.disabled": "console"}).get("/admin/", status=404)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("Bad Name", "T", "/x.js"), "name"),
        (("ok", "", "/x.js"), "title"),
        (("ok", "T", "https://cdn.example.org/x.js"), "module"),
        (("ok", "T", "/x.css"), "module"),
    ],
)
def test_bad_pages_stop_start_up(make_app, arguments, message):
    with pytest.raises(ConfigurationError, match=message):
        make_app(include=lambda config: config.add_admin_page(*arguments))
