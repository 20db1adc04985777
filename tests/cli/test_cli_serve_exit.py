"""``exit_fast`` relies on CPython's private ``atexit._run_exitfuncs``: this contract test fails if
a Python release drops it or stops running the registered handlers through it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import atexit, pathlib, sys
from benben.cli.serve import exit_fast
target = pathlib.Path(sys.argv[1])
atexit.register(target.write_text, "handlers ran")
print("buffered output is flushed", end="")
exit_fast(3)
"""


def test_exit_fast_runs_the_exit_handlers_flushes_and_keeps_the_code(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(marker)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert marker.read_text() == "handlers ran"
    assert result.stdout == "buffered output is flushed"
