"""The public-API rule (benben.sdk.public_api): plugins import only benben.plugin from Benben."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from benben.sdk.public_api import ALLOWED, TEST_ALLOWED, PrivateImport, scan_files, scan_source
from benben.sdk.scaffold import new_plugin

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = sorted(ROOT.glob("plugins/*/src"))


def modules(source: str, *, allowed: frozenset[str] = ALLOWED) -> list[str]:
    return [found.module for found in scan_source(textwrap.dedent(source), allowed=allowed)]


def test_first_party_plugins_import_only_the_public_api() -> None:
    assert len(FIRST_PARTY) >= 4  # backstage, webhooks, files, console
    scanned = [file for src in FIRST_PARTY for file in src.rglob("*.py")]
    assert len(scanned) > 20
    assert scan_files(FIRST_PARTY, relative_to=ROOT) == []


def test_the_generated_plugin_imports_only_the_public_api(tmp_path: Path) -> None:
    project, _ = new_plugin("notes", tmp_path / "benben-notes")
    package = project / "src" / "benben_notes"
    assert len(list(package.rglob("*.py"))) >= 5
    assert scan_files([project / "src"], relative_to=project) == []
    assert scan_files([project / "tests"], allowed=TEST_ALLOWED, relative_to=project) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from benben.db import x", ["benben.db"]),
        ("import benben.data.records", ["benben.data.records"]),
        ("import benben.data.records as records", ["benben.data.records"]),
        ("from benben import db, plugin", ["benben.db"]),
        ("import benben", ["benben"]),
        ("from benben import *", ["benben.*"]),
        ('import importlib\nimportlib.import_module("benben.x")', ["benben.x"]),
        ('from importlib import import_module\nimport_module("benben.cache")', ["benben.cache"]),
        ('__import__("benben.settings")', ["benben.settings"]),
    ],
)
def test_private_imports_are_caught(source: str, expected: list[str]) -> None:
    assert modules(source) == expected


def test_imports_anywhere_in_the_code_are_caught() -> None:
    source = """
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from benben.router import Router


        def view(request):
            from benben.errors import problem_response
            return problem_response(request, 400)


        class Thing:
            def method(self):
                import benben.listing

                return benben.listing
        """
    found = scan_source(textwrap.dedent(source), "notes/views.py")
    assert [str(item) for item in found] == [
        "notes/views.py:5 imports benben.router",
        "notes/views.py:9 imports benben.errors",
        "notes/views.py:15 imports benben.listing",
    ]


def test_the_public_api_and_other_packages_pass() -> None:
    source = """
        import importlib

        import pyramid.config
        from benben.plugin import PluginMetadata, Service
        from benben import plugin
        import benben.plugin
        from benben_webhooks import models
        from . import views
        from .models import Note
        import benbenish

        importlib.import_module(name_from_somewhere)  # not a literal: nothing to judge
        importlib.import_module("json")
        """
    assert modules(source) == []


def test_tests_may_use_the_fixtures_and_testing_helpers() -> None:
    source = """
        from benben.pytest_plugin import BenbenTestUser
        from benben.testing import make_app
        from benben.db import meta
        """
    assert modules(source, allowed=TEST_ALLOWED) == ["benben.db"]
    assert modules(source) == ["benben.pytest_plugin", "benben.testing", "benben.db"]


def test_scan_files_walks_directories_and_skips_environments(tmp_path: Path) -> None:
    package = tmp_path / "src" / "benben_notes"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from benben.plugin import Base\n")
    (package / "views.py").write_text("x = 1\n\n\ndef f():\n    from benben.db import meta\n")
    venv = tmp_path / ".venv" / "lib"
    venv.mkdir(parents=True)
    (venv / "benben_copy.py").write_text("import benben.config\n")
    assert scan_files([tmp_path], relative_to=tmp_path) == [
        PrivateImport("src/benben_notes/views.py", 5, "benben.db")
    ]


def test_unreadable_source_is_an_error_not_a_pass() -> None:
    with pytest.raises(SyntaxError):
        scan_source("def broken(:\n", "broken.py")
