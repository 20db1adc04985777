"""docs/tutorial-plugin.md runs as written, from nothing: its ```sh blocks, in order, in one bash
session in an empty directory, with only a Python interpreter on PATH.

The tutorial makes its own fresh virtual environment (``python3 -m venv``, no system site
packages) and installs Benben into it with ``pip install 'benben[...]'``, which here finds the
wheel built from this checkout (pip's find-links point at it). It then generates a plugin,
installs it, migrates, serves it and calls its API, runs the plugin's own tests on SQLite and
PostgreSQL, changes the plugin (a field, a migration, a test), checks and builds it. This is
also issue #21's first proof: the generated plugin installed into a fresh venv with the built
wheel, migrated, and its tests passing on both databases.

Markers, HTML comments on the lines just above a fence (not shown by the rendered page):

- ``<!-- tutorial: skip (why) -->``: not run (the upload to PyPI only);
- ``<!-- snippet: skip (...) -->`` on every block: tests/test_docs_snippets.py, which runs the
  other pages against a shared server in the project's own environment, leaves this page to
  this runner.

The page's port 6543 becomes a free port, so that a server left on 6543 cannot interfere.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from benben.testing_services import require_postgresql, require_redis
from cli.cli_support import clean_environ, free_port

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "tutorial-plugin.md"
PORT = "6543"
TIMEOUT = 900  # seconds for the whole tutorial; a new user has ten minutes (issue #21)
BUILD_TIMEOUT = 300

_FENCE = re.compile(r"^```(?P<lang>[\w+-]*)[ \t]*$")
_COMMENT = re.compile(r"^<!--\s*(?P<who>[\w-]+):\s*(?P<what>.*?)\s*-->$")
_SKIP = re.compile(r"^skip \((?P<reason>[^)]+)\)$")
# Copied into the wheel's source tree: what setuptools writes and environments are left out.
_NOT_SOURCES = (".git", ".venv", "venv", "build", "dist", "var", "*.egg-info", "__pycache__",
                ".pytest_cache", ".ruff_cache", "node_modules")  # fmt: skip


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    code: str
    markers: dict[str, str]  # who -> what, e.g. {"tutorial": "skip (uploads)"}

    @property
    def skip(self) -> str | None:
        found = _SKIP.match(self.markers.get("tutorial", ""))
        return found["reason"] if found else None


def blocks(text: str) -> list[Block]:
    """The page's top-level ```sh blocks with the markers above each."""
    lines = text.splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if not fence or not fence["lang"]:
            index += 1
            continue
        start = index
        index += 1
        while index < len(lines) and lines[index].strip() != "```":
            index += 1
        if fence["lang"] == "sh":
            markers: dict[str, str] = {}
            above = start - 1
            while above >= 0 and (comment := _COMMENT.match(lines[above].strip())):
                markers[comment["who"]] = comment["what"]
                above -= 1
            found.append(Block(start + 1, "\n".join(lines[start + 1 : index]) + "\n", markers))
        index += 1
    return found


def test_every_block_is_left_to_this_runner_and_only_the_upload_is_skipped() -> None:
    every = blocks(PAGE.read_text(encoding="utf-8"))
    assert len(every) >= 10
    unmarked = [b.line for b in every if not b.markers.get("snippet", "").startswith("skip (")]
    assert unmarked == [], "mark these blocks <!-- snippet: skip (...) --> (see module doc)"
    skipped = [b for b in every if "tutorial" in b.markers]
    assert all(b.skip for b in skipped), "a tutorial marker is `skip (why)`"
    assert [b.code.split()[:3] for b in skipped] == [["python", "-m", "twine"]]
    assert all("upload" in b.code for b in skipped)


def test_marker_parsing() -> None:
    text = (
        "<!-- tutorial: skip (uploads) -->\n<!-- snippet: skip (own runner) -->\n```sh\nls\n```\n"
        "```python\nx = 1\n```\n```sh\npwd\n```\n"
    )
    first, second = blocks(text)
    assert (first.line, first.code, first.skip) == (3, "ls\n", "uploads")
    assert first.markers["snippet"] == "skip (own runner)"
    assert (second.line, second.code, second.skip, second.markers) == (9, "pwd\n", None, {})


@pytest.fixture(scope="module")
def benben_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Benben's wheel built from this checkout, as tests/packaging/test_wheel.py builds it."""
    out = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("source") / "benben"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*_NOT_SOURCES))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(out), str(source)],
        check=True,
        timeout=BUILD_TIMEOUT,
    )  # fmt: skip
    (wheel,) = out.glob("benben-*.whl")
    return wheel


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
    runnable = [b for b in blocks(PAGE.read_text(encoding="utf-8")) if b.skip is None]
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
        where = f"{PAGE.name}:{block.line}\n{block.code}" if block else reached
        pytest.fail(
            f"the tutorial stopped (status {process.returncode}) at {where}\n--- output\n"
            f"{output[-6000:]}",
            pytrace=False,
        )
    assert elapsed < TIMEOUT
