"""The plugin catalogue (docs/plugins/) covers every first-party plugin, and each page names
what its plugin adds: every setting its metadata declares, and every route, task, console page
and command found by configuring the app with the plugin (compared with core alone).

First-party plugins are the ``benben.plugins`` entry points of the ``benben`` distribution.
A page may say more than this checks; what it checks is what a reader must find there.
"""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyramid.interfaces import IRoutesMapper

from benben.config import configure
from benben.plugin import PluginMetadata, admin_pages
from benben.worker.tasks import registered_tasks

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "docs" / "plugins"
_LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)\s]*)?\)")


def first_party() -> list[importlib.metadata.EntryPoint]:
    return sorted(
        (
            ep
            for ep in importlib.metadata.entry_points(group="benben.plugins")
            if ep.dist is not None and ep.dist.name == "benben"
        ),
        key=lambda ep: ep.name,
    )


FIRST_PARTY = first_party()


@dataclass(frozen=True)
class Registered:
    """What configuring the app registered: route names, task names, console pages by plugin."""

    routes: frozenset[str]
    tasks: frozenset[str]
    pages: dict[str, list[str]]


def registered(tmp: Path, entry_points: list[importlib.metadata.EntryPoint]) -> Registered:
    config = configure({"benben.data_dir": str(tmp)}, environ={}, entry_points=entry_points)
    try:
        registry = config.registry
        routes = frozenset(r.name for r in registry.getUtility(IRoutesMapper).get_routes())
        pages: dict[str, list[str]] = {}
        for page in admin_pages(registry):
            pages.setdefault(page.plugin, []).append(page.name)
        return Registered(routes, frozenset(registered_tasks(registry)), pages)
    finally:
        registry["benben.db.engine"].dispose()


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Registered:
    return registered(tmp_path_factory.mktemp("core"), [])


@pytest.fixture
def plugin_registered(
    request: pytest.FixtureRequest, core: Registered, tmp_path: Path
) -> tuple[importlib.metadata.EntryPoint, Registered]:
    entry_point: importlib.metadata.EntryPoint = request.param
    found = registered(tmp_path, [entry_point])
    # Static asset views (``__<path>/``) are named by a digest of the files: not a route to
    # document by name.
    routes = frozenset(r for r in found.routes - core.routes if not r.startswith("__"))
    return entry_point, Registered(routes, found.tasks - core.tasks, found.pages)


def page_of(name: str) -> str:
    path = CATALOGUE / f"{name}.md"
    assert path.exists(), f"first-party plugin {name!r} has no page: add docs/plugins/{name}.md"
    return path.read_text(encoding="utf-8")


def missing(text: str, names: set[str] | frozenset[str]) -> list[str]:
    """Those of ``names`` the page does not show as code (`name`, or inside a code span)."""
    spans = " ".join(re.findall(r"`([^`]+)`", text))
    return sorted(n for n in names if not re.search(rf"(?<![\w.]){re.escape(n)}(?![\w.])", spans))


def test_the_first_party_plugins_are_found() -> None:
    assert {"backstage", "console", "files", "webhooks"} <= {ep.name for ep in FIRST_PARTY}


@pytest.mark.parametrize("entry_point", FIRST_PARTY, ids=[ep.name for ep in FIRST_PARTY])
def test_each_first_party_plugin_is_in_the_catalogue_table(
    entry_point: importlib.metadata.EntryPoint,
) -> None:
    index = (CATALOGUE / "index.md").read_text(encoding="utf-8")
    assert f"| [{entry_point.name}]({entry_point.name}.md) |" in index
    page = page_of(entry_point.name)
    assert page.startswith(f"# {entry_point.name}\n")


@pytest.mark.parametrize("entry_point", FIRST_PARTY, ids=[ep.name for ep in FIRST_PARTY])
def test_each_page_names_every_declared_setting(
    entry_point: importlib.metadata.EntryPoint,
) -> None:
    metadata = entry_point.load().benben_plugin
    assert isinstance(metadata, PluginMetadata)
    settings = {setting.name for setting in metadata.settings}
    assert settings, f"{entry_point.name} declares no setting: is this still its metadata?"
    assert missing(page_of(entry_point.name), settings) == []


@pytest.mark.parametrize(
    "plugin_registered", FIRST_PARTY, ids=[ep.name for ep in FIRST_PARTY], indirect=True
)
def test_each_page_names_what_the_plugin_registers(
    plugin_registered: tuple[importlib.metadata.EntryPoint, Registered],
) -> None:
    entry_point, found = plugin_registered
    page = page_of(entry_point.name)
    assert found.routes, f"{entry_point.name} registered no route: is the comparison broken?"
    assert missing(page, found.routes) == [], "routes missing from the page"
    assert missing(page, found.tasks) == [], "tasks missing from the page"
    console = {f"/admin/plugins/{name}" for name in found.pages.get(entry_point.name, [])}
    assert missing(page, console) == [], "console pages missing from the page"


@pytest.mark.parametrize("entry_point", FIRST_PARTY, ids=[ep.name for ep in FIRST_PARTY])
def test_each_page_names_the_plugins_commands(entry_point: importlib.metadata.EntryPoint) -> None:
    package = entry_point.value.split(":")[0].split(".")[0]
    commands = {
        f"benben {command.name}"
        for command in importlib.metadata.entry_points(group="benben.commands")
        if command.dist is not None
        and command.dist.name == "benben"
        and command.value.split(".")[0] == package
    }
    assert missing(page_of(entry_point.name), commands) == []


@pytest.mark.parametrize("entry_point", FIRST_PARTY, ids=[ep.name for ep in FIRST_PARTY])
def test_each_page_links_to_the_plugins_full_documentation(
    entry_point: importlib.metadata.EntryPoint,
) -> None:
    links = {CATALOGUE / target for target in _LINK.findall(page_of(entry_point.name))}
    full = CATALOGUE.parent / f"{entry_point.name}.md"
    assert full.exists(), f"docs/{entry_point.name}.md is gone: link the plugin's own page"
    assert full in {link.resolve() for link in links}


def test_the_checker_finds_names_only_in_code() -> None:
    text = "Settings: `benben.files.storage`, `GET /x` and files.sweep in prose."
    assert missing(text, {"benben.files.storage", "files.sweep"}) == ["files.sweep"]
    assert missing("`benben.files.storage_x`", {"benben.files.storage"}) == ["benben.files.storage"]
    assert missing("`webhooks.endpoint.test`", {"webhooks.endpoint"}) == ["webhooks.endpoint"]
