"""The generated project's own tests pass, on SQLite and PostgreSQL, against this core: the
template cannot rot. The project is made importable as if installed (a .dist-info with its
entry point) and its suite run by pytest in a subprocess, with benben's fixtures (pytest11)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from sdk_support import generate, install_metadata

CI = os.environ.get("CI") == "true"


def test_the_generated_plugins_tests_pass_on_both_databases(tmp_path: Path) -> None:
    project = generate(tmp_path, "notes", description="Notes for Benben.")
    environment = install_metadata(project, tmp_path / "site")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--benben-db=all"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    summary = output.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed, summary
    assert "failed" not in summary, summary
    assert "error" not in summary, summary
    # Each test ran on both databases (none skipped: the services are up, or CI=true fails).
    assert "skipped" not in summary or not CI, summary
    ids = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--co", "--benben-db=all"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert ids.count("[sqlite]") == ids.count("[postgresql]") >= 10
