"""The wheel carries everything a pip-installed Benben needs at run time."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from wheel_support import build_benben_wheel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    return zipfile.ZipFile(build_benben_wheel(out, tmp_path_factory.mktemp("source")))


@pytest.mark.slow
def test_wheel_contains_package_migrations_and_typing_marker(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert "benben/__init__.py" in names
    assert "benben/db/versions/__init__.py" in names
    assert "benben/py.typed" in names
    assert not any(name.startswith(("tests/", "src/")) for name in names)


@pytest.mark.slow
def test_wheel_metadata_declares_entry_points_and_extras(wheel: zipfile.ZipFile) -> None:
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    text = wheel.read(metadata).decode()
    for extra in ("postgresql", "redis", "test"):
        assert f"Provides-Extra: {extra}" in text
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    entries = wheel.read(entry_points).decode()
    assert "benben = benben.cli:main" in entries
    assert "[paste.app_factory]" in entries
    assert "main = benben:main" in entries


@pytest.mark.slow
def test_wheel_ships_the_api_docs_assets(wheel: zipfile.ZipFile) -> None:
    """GET /api/v1/docs loads nothing from another site: its files are in the package."""
    from benben.openapi.views import ASSETS

    names = set(wheel.namelist())
    missing = {name for name in ASSETS if f"benben/openapi/static/{name}" not in names}
    assert missing == set()


@pytest.mark.slow
def test_wheel_ships_the_landing_page(wheel: zipfile.ZipFile) -> None:
    """GET / renders benben/templates/landing.html: a pip-installed Benben has it too."""
    assert "benben/templates/landing.html" in set(wheel.namelist())
