"""The project's docs build as Backstage's TechDocs builds them: ``mkdocs build --strict`` with
the ``techdocs-core`` plugin, every page in the nav, no broken link."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from backstage_support import ROOT, unavailable

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("mkdocs") is None or (
        importlib.util.find_spec("techdocs_core") is None
    ):
        unavailable("mkdocs-techdocs-core is not installed (pip install -e '.[test]')")
    output = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert result.returncode == 0, "\n".join(warnings) or result.stderr[-3000:]
    return output


def _nav_pages(nav: list) -> list[str]:
    pages: list[str] = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages.extend(_nav_pages(value) if isinstance(value, list) else [value])
    return pages


def test_the_docs_build_strictly_with_techdocs_core(site: Path) -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert "techdocs-core" in config["plugins"]
    for page in _nav_pages(config["nav"]):
        # An index.md is its directory's page (index.md, plugins/index.md).
        path = page.removesuffix(".md")
        built = site / (path.removesuffix("index") if page.split("/")[-1] == "index.md" else path)
        assert (built / "index.html").exists(), page
    html = (site / "backstage" / "index.html").read_text(encoding="utf-8")
    assert "benben backstage register" in html


def test_the_nav_covers_installation_reference_api_plugins_operations_security(
    site: Path,
) -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = set(_nav_pages(config["nav"]))
    assert {
        "installation.md",
        "deployment.md",
        "reference/configuration.md",
        "api/openapi.md",
        "writing-plugins.md",
        "plugin-api.md",
        "plugins/index.md",
        "operations.md",
        "security.md",
        "architecture.md",
        "backstage.md",
    } <= pages
    on_disk = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")}
    assert on_disk <= pages, "add these pages to mkdocs.yml's nav"


def test_links_out_of_docs_lead_to_the_repository(site: Path) -> None:
    html = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="https://github.com/benben/benben/blob/main/README.md"' in html
    assert 'href="../README.md"' not in html
