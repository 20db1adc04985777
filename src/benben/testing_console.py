"""Test helpers for plugins' admin console pages (``config.add_admin_page``), for Benben's own
plugins and third parties alike::

    from benben.testing_console import console_page, served_modules, module_problems

- :func:`console_page`: the page as the console's boot data lists it;
- :func:`served_modules`: the page's module and every module it imports (``import ... from
  "./x.js"``), each checked to be served as JavaScript and cached a year;
- :func:`module_problems`: what breaks the console's rules in a module file (markup from
  strings, inline styles, ``eval``, the console's private URLs, over 400 lines, invalid
  JavaScript per ``node --check`` when Node is installed).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["JS_TYPES", "console_page", "javascript_syntax", "module_problems", "served_modules"]

JS_TYPES = frozenset({"text/javascript", "application/javascript"})
YEAR = 365 * 24 * 3600
_IMPORT = re.compile(r'^import .* from "\./([a-z0-9_-]+\.m?js)";(?=\n|\Z)', re.MULTILINE)
_BOOT = re.compile(r'id="console-config">(.*?)</script>', re.DOTALL)
# Text goes in as text nodes (ctx.ui.dom.h), never parsed as markup; the CSP forbids inline
# styles and eval; the console's components come through ctx.ui, not its private URLs.
_BANNED = ("innerHTML", "outerHTML", "insertAdjacentHTML", ".style", "style:", "eval(", "../")


def console_page(app: Any, name: str) -> dict[str, Any]:
    """The page ``name`` as ``GET /admin/`` lists it (``module``, ``path``, ``title``...)."""
    found = _BOOT.search(app.get("/admin/").text)
    assert found, "the console's boot data"
    pages = {page["name"]: page for page in json.loads(found.group(1))["pages"]}
    return dict(pages[name])


def served_modules(app: Any, module_url: str) -> set[str]:
    """The file names of ``module_url`` and of every module it imports, transitively, each
    asserted to be served with a JavaScript type and cached a year."""
    base, entry = module_url.rsplit("/", 1)
    seen: set[str] = set()
    todo = [entry]
    while todo:
        name = todo.pop()
        seen.add(name)
        answer = app.get(f"{base}/{name}")
        assert answer.content_type in JS_TYPES, f"{name}: {answer.content_type}"
        assert answer.cache_control.max_age == YEAR, f"{name}: {answer.cache_control}"
        todo.extend(set(_IMPORT.findall(answer.text)) - seen)
    return seen


def javascript_syntax(node: str, source: str) -> subprocess.CompletedProcess[str]:
    """``node --check`` of ``source`` as an ES module.  (``node --check file.js`` of a file
    whose module type Node must guess passes any syntax error in Node 20: read from stdin with
    the type given, it does not.)"""
    return subprocess.run(  # noqa: S603 - Node on a module of the plugin's own
        [node, "--input-type=module", "--check"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )


def module_problems(path: Path) -> list[str]:
    """What in the module file ``path`` breaks the console's rules; empty when nothing does."""
    text = path.read_text(encoding="utf-8")
    problems = [f"uses {banned}" for banned in _BANNED if banned in text]
    if len(text.splitlines()) > 400:
        problems.append("is over 400 lines")
    node = shutil.which("node")
    if node is not None:
        checked = javascript_syntax(node, text)
        if checked.returncode != 0:
            problems.append(f"is not valid JavaScript: {checked.stderr.strip()}")
    return problems
