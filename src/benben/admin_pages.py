"""``config.add_admin_page(...)``: a plugin's page in the admin console's navigation.

A page is an ES module the plugin serves itself (its own static view); the console (the bundled
``console`` plugin) lists it in its navigation and routes ``/admin/plugins/<name>`` to it,
calling the module's ``export async function render(root, ctx)``.  Core owns the directive so
that any plugin may call it whatever the include order, and with the console disabled (the
pages are then listed by nobody).  Two plugins adding one page name conflict at commit
(Pyramid's conflict detection names both), as two routes of one name do.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.registry import Registry

from benben.plugins.installed import including_plugin

__all__ = ["PAGES_KEY", "AdminPage", "add_admin_page", "admin_pages", "includeme"]

PAGES_KEY = "benben.admin_pages"
# Page names are URL segments: /admin/plugins/<name>.
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_ICON = re.compile(r"bi-[a-z0-9-]{1,60}")
# A path on this server: the console's CSP loads scripts from 'self' only, so a module on
# another host (or a scheme-relative //host URL) could never load.
_MODULE = re.compile(r"/(?!/)[A-Za-z0-9._~!$&'()*+,;=:@%/-]*\.m?js")
_MAX_TITLE = 60


@dataclass(frozen=True)
class AdminPage:
    """One plugin page of the console."""

    name: str
    title: str
    module: str
    icon: str = "bi-puzzle"
    order: int = 100
    admin_only: bool = False
    plugin: str = ""

    def as_json(self, script_name: str = "") -> dict[str, Any]:
        """The page as the console's boot data shows it (module under the app's mount point)."""
        data = asdict(self)
        data["module"] = script_name + self.module
        data["path"] = f"/admin/plugins/{self.name}"
        return data


def add_admin_page(
    config: Configurator,
    name: str,
    title: str,
    module: str,
    *,
    icon: str = "bi-puzzle",
    order: int = 100,
    admin_only: bool = False,
) -> None:
    """Directive: list ``module`` (a path on this server, e.g. ``/webhooks-ui/page.js``, of an ES
    module exporting ``render(root, ctx)``) as the console page ``name`` titled ``title``.

    ``icon`` is a bootstrap-icons class (``bi-...``); pages are listed by ``order``, then title;
    ``admin_only`` pages are shown to administrators only (the API still decides what each
    caller may do: hiding a page is no permission).
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigurationError(
            f"add_admin_page: name {name!r} must be 1-40 lowercase letters, digits, '-' or '_',"
            " starting with a letter"
        )
    if not isinstance(title, str) or not title.strip() or len(title) > _MAX_TITLE:
        raise ConfigurationError(
            f"add_admin_page {name!r}: title must be a non-empty string of at most"
            f" {_MAX_TITLE} characters"
        )
    if not isinstance(module, str) or not _MODULE.fullmatch(module) or "/../" in module:
        raise ConfigurationError(
            f"add_admin_page {name!r}: module {module!r} must be a path on this server ending"
            " in .js or .mjs, such as /myplugin/static/page.js"
        )
    if not isinstance(icon, str) or not _ICON.fullmatch(icon):
        raise ConfigurationError(
            f"add_admin_page {name!r}: icon {icon!r} must be a bootstrap-icons class (bi-...)"
        )
    if isinstance(order, bool) or not isinstance(order, int):
        raise ConfigurationError(f"add_admin_page {name!r}: order must be an integer")
    if not isinstance(admin_only, bool):
        raise ConfigurationError(f"add_admin_page {name!r}: admin_only must be True or False")
    plugin = including_plugin(config.registry)
    owner = plugin.name if plugin is not None else ""  # "": a test's or an app's own include
    page = AdminPage(name, title.strip(), module, icon, order, admin_only, owner)

    def register() -> None:
        config.registry.setdefault(PAGES_KEY, {})[name] = page

    intr = config.introspectable("benben admin pages", name, page.title, "benben admin page")
    intr.update(page.as_json())
    config.action(("benben.admin_page", name), register, introspectables=(intr,))


def admin_pages(registry: Registry) -> list[AdminPage]:
    """The plugin pages, in navigation order."""
    pages = registry.get(PAGES_KEY, {}).values()
    return sorted(pages, key=lambda p: (p.order, p.title.lower(), p.name))


def includeme(config: Configurator) -> None:
    config.add_directive("add_admin_page", add_admin_page)
