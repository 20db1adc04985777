"""No validation by ``re.match`` or by a pattern ending in ``$`` in Benben's Python source.

``re.match`` checks a prefix only, and ``$`` also matches before a final newline: ``abc\\n``
passed as a collection id that way, and broke every later read of it.  Python code matches whole
strings with ``fullmatch`` (prefix tests use ``search`` with ``\\A``).  JSON Schema ``pattern``
strings are not Python patterns and are not concerned: they are never given to ``re`` here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "src", *sorted((ROOT / "plugins").glob("*/src"))]
_RE_FUNCTIONS = {"compile", "match", "fullmatch", "search", "sub", "subn", "split", "findall",
                 "finditer"}  # fmt: skip


def _python_files() -> list[Path]:
    return sorted(path for source in SOURCES for path in source.rglob("*.py"))


def _trees() -> Iterator[tuple[Path, ast.Module]]:
    for path in _python_files():
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _is_re_call(node: ast.AST, names: set[str]) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "re"
        and node.func.attr in names
    )


def _compiled_names(trees: list[tuple[Path, ast.Module]]) -> set[str]:
    """Every name anywhere in the source bound to ``re.compile(...)`` (they are imported
    under the same names: PLUGIN_NAME, RECORD_ID_RE...)."""
    names = set()
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and _is_re_call(node.value, {"compile"}):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _receiver(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _dollar_at_end(pattern: str) -> bool:
    """An anchoring ``$`` at the very end (an escaped ``\\$`` is a literal dollar)."""
    stripped = pattern.rstrip("$")
    dollars = len(pattern) - len(stripped)
    backslashes = len(stripped) - len(stripped.rstrip("\\"))
    return dollars > 0 and not (dollars == 1 and backslashes % 2 == 1)


def test_sources_are_found() -> None:
    files = {path.relative_to(ROOT).as_posix() for path in _python_files()}
    assert "src/benben/data/validation.py" in files
    assert "plugins/benben-backstage/src/benben_backstage/names.py" in files


def test_no_prefix_matching_of_patterns() -> None:
    trees = list(_trees())
    compiled = _compiled_names(trees)
    assert {"RECORD_ID_RE", "PLUGIN_NAME", "NAME_PATTERN"} <= compiled  # the scan sees them
    found = []
    for path, tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            if node.func.attr != "match":
                continue
            target = node.func.value
            if (
                _receiver(target) == "re"
                or _receiver(target) in compiled
                or _is_re_call(target, {"compile"})
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, f"use fullmatch (or search with \\A for a prefix): {found}"


def test_no_pattern_ends_with_a_dollar() -> None:
    found = []
    for path, tree in _trees():
        for node in ast.walk(tree):
            if not _is_re_call(node, _RE_FUNCTIONS) or not node.args:  # type: ignore[union-attr]
                continue
            first = node.args[0]  # type: ignore[attr-defined]
            if isinstance(first, ast.Constant) and isinstance(first.value, str | bytes):
                text = first.value if isinstance(first.value, str) else first.value.decode()
                if _dollar_at_end(text):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, f"'$' matches before a final newline; use fullmatch or \\Z: {found}"


@pytest.mark.parametrize(
    ("pattern", "trap"),
    [("^a$", True), ("a$$", True), (r"a\$", False), (r"a\\$", True), ("a", False), (r"a\Z", False)],
)
def test_the_dollar_rule_itself(pattern: str, trap: bool) -> None:
    assert _dollar_at_end(pattern) is trap
    if trap and "\\" not in pattern:  # what the rule is about: the final newline gets through
        assert re.match(pattern, "a\n") is not None


def test_names_with_a_final_newline_are_refused_by_every_validator() -> None:
    from benben.cli.extensions import COMMAND_NAME
    from benben.data.validation import collection_id_valid, record_id_valid
    from benben.plugins.metadata import PLUGIN_NAME
    from benben.ratelimit.rules import GROUP_NAME
    from benben_backstage.names import as_entity_ref, is_valid_name, is_valid_tag

    checks = [
        collection_id_valid,
        record_id_valid,
        lambda text: PLUGIN_NAME.fullmatch(text) is not None,
        lambda text: COMMAND_NAME.fullmatch(text) is not None,
        lambda text: GROUP_NAME.fullmatch(text) is not None,
        is_valid_name,
        is_valid_tag,
    ]
    for check in checks:
        assert check("abc")
        assert not check("abc\n")
    with pytest.raises(ValueError, match="entity reference"):
        as_entity_ref("component\n:default/abc")  # the kind ends in a newline
