"""docs/tutorial-plugin.md runs as written, from nothing: its ```sh blocks, in order, in one bash
session in an empty directory, with only a Python interpreter on PATH.

The tutorial makes its own fresh virtual environment (``python3 -m venv``, no system site
packages) and installs Benben into it with ``pip install 'benben[...]'``, which here finds the
wheel built from this checkout (pip's find-links point at it). It then generates a plugin,
installs it, migrates, serves it and calls its API, runs the plugin's own tests on SQLite and
PostgreSQL, changes the plugin (a field, a migration, a test), checks and builds it. This is
also issue #21's first proof: the generated plugin installed into a fresh venv with the built
wheel, migrated, and its tests passing on both databases.

The blocks are read as tests/test_docs_snippets.py reads every page (tests/doc_snippets.py),
which leaves this page to this runner; ``<!-- snippet: skip (why) -->`` marks the one block not
run, the upload to PyPI.

The page's port 6543 becomes a free port, so that a server left on 6543 cannot interfere.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benben.testing_services import require_postgresql, require_redis
from cli.cli_support import clean_environ, free_port
from doc_snippets import snippets
from wheel_support import build_benben_wheel

PAGE = "docs/tutorial-plugin.md"
PORT = "6543"
TIMEOUT = 900  # seconds for the whole tutorial; a new user has ten minutes (issue #21)


def test_only_the_upload_is_left_out() -> None:
    every = snippets(PAGE)
    assert len(every) >= 10
    skipped = [snippet for snippet in every if snippet.skip]
    assert [snippet.code.split()[:3] for snippet in skipped] == [["python", "-m", "twine"]]
    assert "upload" in skipped[0].code
    assert not any(snippet.expect for snippet in every)  # every command must succeed


@pytest.fixture(scope="module")
def benben_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Benben's wheel built from this checkout, as tests/packaging/test_wheel.py builds it."""
    out = tmp_path_factory.mktemp("wheel")
    return build_benben_wheel(out, tmp_path_factory.mktemp("source"))


def tutorial_environ(tmp_path: Path, wheel: Path, services: dict[str, str]) -> dict[str, str]:
    """A new user's shell: a python3 on PATH, none of this project's environment."""
    interpreter = tmp_path / "interpreter"
    interpreter.mkdir()
    # The interpreter this environment was made from: python3 -m venv makes a fresh one.
    (interpreter / "python3").symlink_to(getattr(sys, "_base_executable", sys.executable))
    ours = str(Path(sys.executable).parent)
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != ours]
    environ = {
        key: value
        for key, value in clean_environ().items()
        if not key.startswith(("PYTEST_", "PYTHON", "VIRTUAL_ENV", "COV_"))
    }
    find_links = " ".join([str(wheel.parent), *filter(None, [os.environ.get("PIP_FIND_LINKS")])])
    environ.update(
        PATH=os.pathsep.join([str(interpreter), *path]),
        HOME=str(tmp_path / "home"),  # no ~/.config of the machine's user...
        PIP_CACHE_DIR=os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")),
        PIP_FIND_LINKS=find_links,  # ...but its pip cache: one download per machine
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_PROGRESS_BAR="off",
        **services,
    )
    return environ


@pytest.mark.slow
def test_the_tutorial_runs_from_nothing(benben_wheel: Path, tmp_path: Path) -> None:
    # The tutorial runs the plugin's tests on PostgreSQL too (with Redis as its cache).
    services = {
        "BENBEN_TEST_POSTGRESQL_URL": require_postgresql(),
        "BENBEN_TEST_REDIS_URL": require_redis(),
    }
    runnable = [snippet for snippet in snippets(PAGE) if snippet.skip is None]
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "home").mkdir()
    port = str(free_port())
    progress = tmp_path / "progress"
    parts = ["set -euo pipefail"]
    for number, block in enumerate(runnable):
        parts += [f"echo {number} > {progress}", block.code.replace(PORT, port)]
    parts.append(f"echo done > {progress}")
    started = time.monotonic()
    process = subprocess.Popen(
        ["bash", "-c", "\n".join(parts)],
        cwd=work,
        env=tutorial_environ(tmp_path, benben_wheel, services),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the server it starts in the background goes with it
    )
    try:
        output, _ = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    elapsed = time.monotonic() - started
    # Shown with -s: the "under ten minutes" (pip's downloads come from its cache).
    print(f"{output}\nthe tutorial ran in {elapsed:.0f} s ({len(runnable)} blocks)")
    reached = progress.read_text().strip() if progress.exists() else "0"
    if process.returncode != 0 or reached != "done":
        block = runnable[int(reached)] if reached.isdigit() else None
        where = f"{block}\n{block.code}" if block else reached
        pytest.fail(
            f"the tutorial stopped (status {process.returncode}) at {where}\n--- output\n"
            f"{output[-6000:]}",
            pytrace=False,
        )
    assert elapsed < TIMEOUT
