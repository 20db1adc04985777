"""Helpers of the plugin template's tests: generating a project, and making it importable as an
installed distribution (a .dist-info with its entry point) without pip."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from benben.sdk.scaffold import new_plugin

RUFF = Path(sys.executable).parent / "ruff"


def generate(tmp_path: Path, name: str = "notes", **answers: str) -> Path:
    """``benben plugin new NAME`` into ``tmp_path/benben-NAME``; the project's directory."""
    project, _ = new_plugin(name, tmp_path / f"benben-{name}", **answers)
    return project


def install_metadata(project: Path, site: Path) -> dict[str, str]:
    """What ``pip install -e`` would make visible, without pip: a .dist-info in ``site`` naming
    the project's entry points; the environment (PYTHONPATH) that finds it and the sources."""
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    info = site / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    info.mkdir(parents=True)
    summary = meta["description"]
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n"
        f"Summary: {summary}\n"
    )
    lines = []
    for group, entries in meta["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{key} = {value}" for key, value in entries.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    paths = [str(site), str(project / "src"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def ruff(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """ruff run in the project, with the project's own configuration (its pyproject.toml)."""
    return subprocess.run(
        [str(RUFF), *args, "--no-cache", "."],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
