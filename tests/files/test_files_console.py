"""The files page of the admin console (the collections' attachment policies): listed in the
console's boot data, its ES modules served with a JavaScript type under a versioned, year-cached
URL, valid JavaScript (``node --check``), and keeping the console's rules (no markup from
strings, no inline styles).  The flows themselves run in a browser:
tests/browser/test_browser_plugin_pages.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import webtest

import benben_files
from benben.static_assets import assets_version
from benben.testing_console import console_page, module_problems, served_modules
from benben.testing_services import unavailable

# The page needs no storage: one run (on the local disk) is enough.
LOCAL_ONLY = pytest.mark.parametrize("storage_kind", ["local"], indirect=True)
STATIC_DIR = Path(benben_files.__file__).parent / "static"
MODULES = sorted(STATIC_DIR.glob("*.js"))


@LOCAL_ONLY
def test_the_page_is_listed_in_the_console(app: webtest.TestApp) -> None:
    page = console_page(app, "files")
    assert page == {
        "name": "files",
        "title": "Files",
        "module": f"/files-ui/{assets_version(STATIC_DIR)}/page.js",
        "icon": "bi-paperclip",
        "order": 30,
        "admin_only": False,
        "plugin": "files",
        "path": "/admin/plugins/files",
    }
    assert app.get(page["path"]).content_type == "text/html"


@LOCAL_ONLY
def test_the_modules_are_served_as_javascript_for_a_year(app: webtest.TestApp) -> None:
    module = console_page(app, "files")["module"]
    assert served_modules(app, module) == {path.name for path in MODULES}
    # An old version's URL is no module.
    app.get("/files-ui/0000000000000000/page.js", status=404)


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_modules_keep_the_consoles_rules(module: Path) -> None:
    if shutil.which("node") is None:
        unavailable("node is not installed")  # module_problems checks the syntax with it
    assert module_problems(module) == []
