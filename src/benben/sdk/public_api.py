"""The public-API rule: a plugin imports only ``benben.plugin`` from Benben.

Everything else in ``benben`` may change without notice (docs/plugin-api.md), so a plugin that
imports it breaks silently with the next core. The scanner reads sources with ``ast``: every
import statement wherever it is (module level, inside functions, under ``TYPE_CHECKING``), and
``importlib.import_module("benben.x")`` / ``__import__("benben.x")`` with a literal name. Tests
may also use Benben's test helpers (``TEST_ALLOWED``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ALLOWED",
    "TEST_ALLOWED",
    "PrivateImport",
    "scan_files",
    "scan_source",
]

ALLOWED: frozenset[str] = frozenset({"benben.plugin"})
# The pytest fixtures (benben.pytest_plugin) and the helpers they stand on.
TEST_ALLOWED: frozenset[str] = ALLOWED | {"benben.pytest_plugin", "benben.testing"}
# Functions importing the module named by their first argument.
_DYNAMIC_IMPORTS = frozenset({"import_module", "__import__", "importorskip"})
# Directories never scanned: virtual environments, build output, caches.
_SKIPPED_DIRS = frozenset(
    {".git", ".venv", "venv", "build", "dist", "__pycache__", ".tox", ".nox", "node_modules"}
)


@dataclass(frozen=True)
class PrivateImport:
    """An import of a Benben module outside the public API."""

    path: str
    line: int
    module: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.module}"


def scan_source(
    source: str, path: str = "<source>", *, allowed: Iterable[str] = ALLOWED
) -> list[PrivateImport]:
    """The imports of Benben modules outside ``allowed`` in ``source``, in line order.

    A file that does not parse is reported as a ``SyntaxError``: a plugin check must not pass
    over code it could not read.
    """
    permitted = frozenset(allowed)
    tree = ast.parse(source, filename=path)
    found = [
        PrivateImport(path, line, module)
        for line, module in _imported_modules(tree)
        if _is_benben(module) and module not in permitted
    ]
    return sorted(found, key=lambda item: (item.line, item.module))


def scan_files(
    paths: Iterable[Path], *, allowed: Iterable[str] = ALLOWED, relative_to: Path | None = None
) -> list[PrivateImport]:
    """``scan_source`` over Python files and directories (searched recursively)."""
    permitted = frozenset(allowed)
    found: list[PrivateImport] = []
    for file in _python_files(paths):
        shown = str(file.relative_to(relative_to)) if relative_to else str(file)
        found += scan_source(file.read_text(encoding="utf-8"), shown, allowed=permitted)
    return found


def _python_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_file():
            if path.suffix == ".py":
                yield path
            continue
        for file in sorted(path.rglob("*.py")):
            parts = file.relative_to(path).parts[:-1]
            if not any(part in _SKIPPED_DIRS or part.endswith(".egg-info") for part in parts):
                yield file


def _imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``(line, module)`` for every module the code imports by name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level or not node.module:
                continue  # relative: the plugin's own modules
            if node.module == "benben":
                # `from benben import plugin` is benben.plugin; `from benben import db`, benben.db
                for alias in node.names:
                    yield node.lineno, f"benben.{alias.name}"
            else:
                yield node.lineno, node.module
        elif isinstance(node, ast.Call) and _calls_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, first.value


def _calls_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in _DYNAMIC_IMPORTS
    return isinstance(func, ast.Attribute) and func.attr in _DYNAMIC_IMPORTS


def _is_benben(module: str) -> bool:
    return module == "benben" or module.startswith("benben.")
