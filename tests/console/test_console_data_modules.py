"""The console's data pages (collections, records, record, history): their modules are served,
never write markup from strings (records are user data) nor styles (the CSP blocks them), import
only names that exist, and their logic (URL state, diffs, CSV, schema forms) holds under Node.
The pages themselves are driven in a browser by tests/browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from benben.testing_services import unavailable

JS = Path(__file__).parents[2] / "plugins" / "benben-console" / "src" / "benben_console" / "static"
JS = JS / "js"
PAGES = JS / "pages"
DATA_MODULES = sorted(
    p.name
    for p in PAGES.glob("*.js")
    if p.name.startswith("data-")
    or p.stem
    in {
        "collections",
        "collection",
        "schema-editor",
        "records",
        "record",
        "record-form",
        "history",
        "permissions",
        "filters",
        "export",
    }
)
ROUTED = {"collections.js", "collection.js", "records.js", "record.js", "history.js"}
# Ways of turning a string into markup or code, or of setting a style the CSP would refuse.
FORBIDDEN = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|"
    r"\.style\.|setAttribute\(\s*[\"']style|[\"']style[\"']\s*:|javascript:"
)
IMPORT = re.compile(r"import\s*\{([^}]*)\}\s*from\s*\"(\.[^\"]+)\"")
EXPORTED = re.compile(r"export\s+(?:async\s+)?(?:function\*?|const|let|class)\s+([A-Za-z_$][\w$]*)")


def test_the_data_modules_are_all_there() -> None:
    assert set(DATA_MODULES) >= ROUTED
    assert len(DATA_MODULES) >= 18


def test_the_data_modules_are_served_with_the_shell(app) -> None:
    html = app.get("/admin/collections/books/records?price__ge=10").text
    config = json.loads(re.search(r'id="console-config">(.*?)</script>', html).group(1))
    for name in DATA_MODULES:
        response = app.get(f"{config['static']}/js/pages/{name}")
        assert "javascript" in response.content_type, name
        assert response.body == (PAGES / name).read_bytes()


@pytest.mark.parametrize("name", DATA_MODULES)
def test_no_markup_from_strings_and_no_inline_style(name: str) -> None:
    source = (PAGES / name).read_text(encoding="utf-8")
    found = [m.group(0) for m in FORBIDDEN.finditer(source)]
    assert not found, f"{name}: {found}"


@pytest.mark.parametrize("name", DATA_MODULES)
def test_imports_name_what_their_modules_export(name: str) -> None:
    source = (PAGES / name).read_text(encoding="utf-8")
    for names, target in IMPORT.findall(source):
        module = (PAGES / target).resolve()
        assert module.is_file(), f"{name} imports {target}, which does not exist"
        exported = set(EXPORTED.findall(module.read_text(encoding="utf-8")))
        for imported in (n.split(" as ")[0].strip() for n in names.split(",")):
            if imported:
                assert imported in exported, f"{name} imports {imported} from {target}"


def test_routes_lead_to_pages_exporting_render() -> None:
    routes = (JS / "routes.js").read_text(encoding="utf-8")
    modules = set(re.findall(r'module: "\./pages/([^"]+)"', routes))
    assert modules >= ROUTED
    assert '"collections/:cid/new"' in routes  # the new-record page
    for name in ROUTED:
        assert "export async function render(root, ctx)" in (PAGES / name).read_text()


CHECKS = Path(__file__).with_name("console_data_checks.mjs")


def test_data_logic_under_node() -> None:
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed")
    result = subprocess.run(
        [node, str(CHECKS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.strip() == "ok"
