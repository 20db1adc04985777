"""The files page of the admin console (the collections' attachment policies): listed in the
console's boot data, its ES modules served with a JavaScript type under a versioned, year-cached
URL, valid JavaScript (``node --check``), and keeping the console's rules (no markup from
strings, no inline styles).  The flows themselves run in a browser:
tests/browser/test_browser_plugin_pages.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import webtest

import benben_files
from benben.static_assets import assets_version
from benben.testing_services import unavailable

JS_TYPES = {"text/javascript", "application/javascript"}
# The page needs no storage: one run (on the local disk) is enough.
LOCAL_ONLY = pytest.mark.parametrize("storage_kind", ["local"], indirect=True)
STATIC_DIR = Path(benben_files.__file__).parent / "static"
MODULES = sorted(STATIC_DIR.glob("*.js"))
IMPORT = re.compile(r'^import .* from "\./([a-z-]+\.js)";$', re.MULTILINE)


def boot_page(app: webtest.TestApp, name: str) -> dict:
    html = app.get("/admin/").text
    found = re.search(r'id="console-config">(.*?)</script>', html)
    assert found, "the console's boot data"
    pages = {page["name"]: page for page in json.loads(found.group(1))["pages"]}
    return pages[name]


@LOCAL_ONLY
def test_the_page_is_listed_in_the_console(app: webtest.TestApp) -> None:
    page = boot_page(app, "files")
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
    module = boot_page(app, "files")["module"]
    base = module.rsplit("/", 1)[0]
    seen = set()
    todo = ["page.js"]
    while todo:  # the entry module and every module it imports, transitively
        name = todo.pop()
        seen.add(name)
        answer = app.get(f"{base}/{name}")
        assert answer.content_type in JS_TYPES
        assert answer.cache_control.max_age == 365 * 24 * 3600
        todo.extend(set(IMPORT.findall(answer.text)) - seen)
    assert seen == {path.name for path in MODULES}
    # An old version's URL is no module.
    app.get("/files-ui/0000000000000000/page.js", status=404)


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_modules_are_valid_javascript(module: Path) -> None:
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed")
    checked = subprocess.run(
        [node, "--check", str(module)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_modules_keep_the_consoles_rules(module: Path) -> None:
    text = module.read_text(encoding="utf-8")
    # Text goes in as text nodes (ctx.ui.dom.h), never parsed as markup; the CSP forbids inline
    # styles and eval; the console's components come through ctx.ui, not its private URLs.
    for banned in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        ".style",
        "style:",
        "eval(",
        "../",
    ):
        assert banned not in text, f"{module.name} uses {banned}"
    assert len(text.splitlines()) <= 400
