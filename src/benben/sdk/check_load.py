"""``benben plugin check``'s load step: the plugin imported from its built wheel, judged by the
loader's own discovery (``benben.plugins.discover_plugins``) so that the rules are the ones
``benben serve`` applies.

It runs in a subprocess (``python -m benben.sdk.check_load UNPACKED RESULT``) with the unpacked
wheel first on ``sys.path``: importing the plugin must neither modify nor be shadowed by the
environment running the check (an editable install of the same project included).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LoadedPlugin", "load_plugins"]

LOAD_TIMEOUT = 120  # seconds to import the plugin


@dataclass(frozen=True)
class LoadedPlugin:
    """One ``benben.plugins`` entry point of the wheel, as discovery saw it."""

    entry_point: str  # name = value
    name: str
    status: str  # "error" or "discovered"
    reason: str
    api: Any
    core: str | None
    location: str | None
    from_wheel: bool  # imported from the unpacked wheel, not from elsewhere on sys.path


def load_plugins(unpacked: Path) -> list[LoadedPlugin]:
    """Discover the plugins of the wheel unpacked in ``unpacked``, in a subprocess.

    Raises ``RuntimeError`` (with the subprocess' output) when discovery itself could not run.
    """
    with tempfile.TemporaryDirectory(prefix="benben-check-") as scratch:
        result_file = Path(scratch) / "plugins.json"
        try:
            completed = subprocess.run(  # noqa: S603 (this interpreter, this module)
                [sys.executable, "-m", "benben.sdk.check_load", str(unpacked), str(result_file)],
                cwd=unpacked,
                env={**os.environ, "PYTHONPATH": _prepend(unpacked, os.environ.get("PYTHONPATH"))},
                capture_output=True,
                text=True,
                timeout=LOAD_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"importing the plugin took longer than {LOAD_TIMEOUT} s") from None
        if completed.returncode != 0 or not result_file.exists():
            output = (completed.stderr or completed.stdout).strip().splitlines()
            raise RuntimeError(output[-1] if output else f"exit status {completed.returncode}")
        found = json.loads(result_file.read_text(encoding="utf-8"))
    return [LoadedPlugin(**item) for item in found]


def _prepend(path: Path, existing: str | None) -> str:
    return os.pathsep.join([str(path), *([existing] if existing else [])])


def _discover(unpacked: Path) -> list[dict[str, Any]]:
    """In the subprocess: discovery over the wheel's own entry points only."""
    from benben.plugins.loader import ENTRY_POINT_GROUP, discover_plugins

    sys.path.insert(0, str(unpacked))
    entry_points = [
        entry_point
        for distribution in importlib.metadata.distributions(path=[str(unpacked)])
        for entry_point in distribution.entry_points
        if entry_point.group == ENTRY_POINT_GROUP
    ]
    with warnings.catch_warnings():
        # A plugin declaring no API level warns; the check reports it as a failure instead.
        warnings.simplefilter("ignore")
        plugins = discover_plugins(entry_points)
    root = os.path.realpath(unpacked)
    by_value = {ep.value: ep.name for ep in entry_points}
    return [
        {
            "entry_point": f"{by_value.get(plugin.entry_point, plugin.name)} = "
            f"{plugin.entry_point}",
            "name": plugin.name,
            "status": plugin.status,
            "reason": plugin.reason,
            "api": api if _json_safe(api := plugin.metadata.api) else repr(api),
            "core": plugin.metadata.core if isinstance(plugin.metadata.core, str) else None,
            "location": plugin.location,
            "from_wheel": bool(plugin.location)
            and os.path.realpath(plugin.location).startswith(root + os.sep),
        }
        for plugin in plugins
    ]


def _json_safe(value: Any) -> bool:
    return value is None or isinstance(value, int | str | float)


def main(argv: list[str]) -> int:
    unpacked, result_file = Path(argv[0]), Path(argv[1])
    result_file.write_text(json.dumps(_discover(unpacked)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
