"""Benben's wheel built from this checkout, offline: for the tests that install or inspect what
users get from pip (tests/packaging/test_wheel.py, tests/sdk/test_tutorial.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT = 300  # seconds
# Copied into the wheel's source tree: what setuptools writes and environments are left out.
_NOT_SOURCES = (".git", ".venv", "venv", "build", "dist", "var", "*.egg-info", "__pycache__",
                ".pytest_cache", ".ruff_cache", "node_modules")  # fmt: skip


def build_benben_wheel(out: Path, scratch: Path) -> Path:
    """Build the wheel into ``out`` from a copy of the checkout under ``scratch`` (setuptools
    writes build/ and *.egg-info next to the sources it builds); the wheel's path."""
    source = scratch / "benben"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*_NOT_SOURCES))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(out), str(source)],
        check=True,
        timeout=BUILD_TIMEOUT,
    )  # fmt: skip
    (wheel,) = out.glob("benben-*.whl")
    return wheel
