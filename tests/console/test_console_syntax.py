"""Every ES module of the console parses (``node --check`` as a module: a syntax error in a page
that no browser test opens would otherwise reach users)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import benben_console
from benben.testing_console import javascript_syntax
from benben.testing_services import unavailable

STATIC = Path(benben_console.__file__).parent / "static"
MODULES = sorted(p for p in (STATIC / "js").rglob("*.js"))


def test_there_are_modules() -> None:
    assert len(MODULES) > 20


@pytest.mark.parametrize("module", MODULES, ids=lambda path: str(path.relative_to(STATIC)))
def test_the_module_parses(module: Path) -> None:
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed")
    checked = javascript_syntax(node, module.read_text(encoding="utf-8"))
    assert checked.returncode == 0, checked.stderr


def test_a_syntax_error_is_caught() -> None:
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed")
    assert javascript_syntax(node, "export function f() {\n").returncode != 0
