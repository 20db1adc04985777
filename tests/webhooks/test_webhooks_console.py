"""The webhooks page of the admin console: listed in the console's boot data, its ES modules
served with a JavaScript type under a versioned, year-cached URL, valid JavaScript (``node
--check``), and keeping the console's rules (no markup from strings, no inline styles).  The
flows themselves run in a browser: tests/browser/test_browser_plugin_pages.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import webtest

import benben_webhooks
from benben.static_assets import assets_version
from benben.testing_console import console_page, module_problems, served_modules
from benben.testing_services import unavailable

STATIC_DIR = Path(benben_webhooks.__file__).parent / "static"
MODULES = sorted(STATIC_DIR.glob("*.js"))


def test_the_page_is_listed_in_the_console(app: webtest.TestApp) -> None:
    page = console_page(app, "webhooks")
    assert page == {
        "name": "webhooks",
        "title": "Webhooks",
        "module": f"/webhooks-ui/{assets_version(STATIC_DIR)}/page.js",
        "icon": "bi-broadcast",
        "order": 20,
        "admin_only": False,
        "plugin": "webhooks",
        "path": "/admin/plugins/webhooks",
    }
    assert app.get(page["path"]).content_type == "text/html"


def test_the_modules_are_served_as_javascript_for_a_year(app: webtest.TestApp) -> None:
    module = console_page(app, "webhooks")["module"]
    assert served_modules(app, module) == {path.name for path in MODULES}
    # An old version's URL is no module.
    app.get("/webhooks-ui/0000000000000000/page.js", status=404)


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_modules_keep_the_consoles_rules(module: Path) -> None:
    if shutil.which("node") is None:
        unavailable("node is not installed")  # module_problems checks the syntax with it
    assert module_problems(module) == []
