"""docs/plugin-api.md lists the stable plugin API exactly: every name of ``benben.plugin.__all__``,
every Configurator directive Benben registers (``add_directive`` in src/) and every ``benben_*``
fixture of ``benben.pytest_plugin``, and nothing that does not exist.

The page's lists are bullets whose first code span names the item (``- `name`: ...``,
``- `config.add_x(...)`: ...``); the sections are found by their headings.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import benben.plugin
from benben.plugins.compat import PLUGIN_API_LEVEL

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "plugin-api.md"
SRC = ROOT / "src" / "benben"
_HEADING = re.compile(r"^(#{1,6}) (.+?)\s*$")
_BULLET = re.compile(r"^- `([^`]+)`")
_DIRECTIVE = re.compile(r"""\.add_directive\(\s*["'](\w+)["']""")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def section(markdown: str, heading: str) -> str:
    """The text under ``heading`` (its whole line, ``### Fixtures``), down to the next heading of
    the same or a higher level."""
    lines = markdown.splitlines()
    for start, line in enumerate(lines):
        if line.strip() == heading:
            level = len(heading) - len(heading.lstrip("#"))
            body: list[str] = []
            for following in lines[start + 1 :]:
                match = _HEADING.match(following)
                if match and len(match.group(1)) <= level:
                    break
                body.append(following)
            return "\n".join(body)
    raise AssertionError(f"docs/plugin-api.md has no heading {heading!r}")


def listed(markdown: str) -> list[str]:
    """The first code span of each top-level bullet."""
    return [m.group(1) for line in markdown.splitlines() if (m := _BULLET.match(line))]


def names(spans: list[str]) -> set[str]:
    """``as_int(min, max)`` -> ``as_int``; ``config.add_task(...)`` -> ``add_task``."""
    found = set()
    for span in spans:
        match = _IDENTIFIER.match(span.removeprefix("config."))
        assert match, f"a bullet of docs/plugin-api.md names nothing: `{span}`"
        found.add(match.group(0))
    return found


def registered_directives() -> set[str]:
    return {
        name
        for path in SRC.rglob("*.py")
        for name in _DIRECTIVE.findall(path.read_text(encoding="utf-8"))
    }


def defined_fixtures(source: str) -> set[str]:
    """The ``benben_*`` pytest fixtures a module defines (``@pytest.fixture``, with or without
    arguments; ``name=`` renames), read from its source, not by importing it."""
    fixtures = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call else decorator
            if not (isinstance(target, ast.Attribute) and target.attr == "fixture") and not (
                isinstance(target, ast.Name) and target.id == "fixture"
            ):
                continue
            name = node.name
            for keyword in call.keywords if call else []:
                if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                    name = str(keyword.value.value)
            if name.startswith("benben_"):
                fixtures.add(name)
    return fixtures


@pytest.fixture(scope="module")
def page() -> str:
    return PAGE.read_text(encoding="utf-8")


def test_every_name_of_benben_plugin_is_listed_and_no_other(page: str) -> None:
    documented = names(listed(section(page, "### `benben.plugin`")))
    exported = set(benben.plugin.__all__)
    assert sorted(exported - documented) == [], "add these names to docs/plugin-api.md"
    assert sorted(documented - exported) == [], "docs/plugin-api.md lists names not exported"


def test_every_directive_benben_adds_is_listed_and_no_other(page: str) -> None:
    spans = listed(section(page, "### Configurator directives"))
    assert all(span.startswith("config.") for span in spans), spans
    documented = names(spans)
    registered = registered_directives()
    assert {"add_migrations", "add_health_check", "add_task"} <= registered  # the scan works
    assert sorted(registered - documented) == [], "add these directives to docs/plugin-api.md"
    assert sorted(documented - registered) == [], "docs/plugin-api.md lists unknown directives"


def test_every_fixture_of_the_pytest_plugin_is_listed_and_no_other(page: str) -> None:
    documented = names(listed(section(page, "#### Fixtures")))
    assert all(name.startswith("benben_") for name in documented), documented
    defined = defined_fixtures((SRC / "pytest_plugin.py").read_text(encoding="utf-8"))
    assert {"benben_testapp", "benben_admin", "benben_db"} <= defined  # the scan works
    assert sorted(defined - documented) == [], "add these fixtures to docs/plugin-api.md"
    assert sorted(documented - defined) == [], "docs/plugin-api.md lists fixtures not defined"


def test_fixture_scan_reads_decorators_with_and_without_arguments() -> None:
    source = (
        "import pytest\n"
        "from pytest import fixture\n"
        "@pytest.fixture\ndef benben_a(): ...\n"
        "@pytest.fixture(scope='session')\ndef benben_b(): ...\n"
        "@fixture(name='benben_c')\ndef _c(): ...\n"
        "@pytest.fixture\ndef other(): ...\n"
        "def benben_helper(): ...\n"
    )
    assert defined_fixtures(source) == {"benben_a", "benben_b", "benben_c"}


def test_the_page_states_the_current_level_and_the_deprecation_filter(page: str) -> None:
    level = section(page, "## The plugin API level")
    assert re.search(rf"current level is\s+\*\*{PLUGIN_API_LEVEL}\*\*", level)
    assert f"PluginMetadata(api={PLUGIN_API_LEVEL})" in level
    assert "-W error::benben.plugin.BenbenDeprecationWarning" in section(page, "## Deprecations")
    # The category the page tells plugin authors to filter on is the one the API exports.
    assert benben.plugin.BenbenDeprecationWarning.__module__.startswith("benben.")
    assert issubclass(benben.plugin.BenbenDeprecationWarning, DeprecationWarning)


def test_the_section_reader_stops_at_the_next_heading_of_its_level() -> None:
    markdown = "# A\n## B\n- `x`: one\n### C\n- `y`: two\n## D\n- `z`: three\n"
    assert listed(section(markdown, "## B")) == ["x", "y"]
    assert listed(section(markdown, "### C")) == ["y"]
    with pytest.raises(AssertionError):
        section(markdown, "## E")
