"""An import's progress on disk, so that a rerun continues after the last committed chunk.

The state file (``FILE.import-state`` next to the input unless ``--state``) is JSON, rewritten
whole (a temporary file renamed over it) after each chunk committed: the input's sha256, the
collection, the last line whose fate is settled, the counts so far, and the size the report
file had then (a rerun cuts off what a chunk in flight had reported, then appends).  It is
removed when the import ends.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from benben.transfer.client import TransferError

__all__ = ["STATE_SUFFIX", "ImportState", "default_state_path", "load_state", "remove_state"]

STATE_SUFFIX = ".import-state"
VERSION = 1


@dataclass
class ImportState:
    digest: str
    collection: str
    line: int = 0  # every line up to this one is imported, skipped or reported
    imported: int = 0
    skipped: int = 0
    rejected_lines: int = 0
    rejections: int = 0
    report: str | None = None
    report_size: int = 0

    def save(self, path: Path) -> None:
        """Replace the state file with this state, whole or not at all."""
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(json.dumps({"version": VERSION, **asdict(self)}) + "\n", "utf-8")
        os.replace(temporary, path)


def default_state_path(input_path: str) -> Path:
    return Path(f"{os.path.abspath(input_path)}{STATE_SUFFIX}")


def load_state(path: Path) -> ImportState | None:
    """The state an interrupted import left, or None; an unreadable one is refused by name."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise TransferError(f"cannot read the import state {path}: {exc}", 2) from None
    try:
        values = json.loads(text)
        if values.pop("version") != VERSION:
            raise ValueError("unknown version")
        names = {field.name for field in fields(ImportState)}
        return ImportState(**{k: v for k, v in values.items() if k in names})
    except (ValueError, TypeError, KeyError, AttributeError):
        raise TransferError(
            f"{path} is not an import state this version of benben wrote: remove it to start "
            "the import over",
            2,
        ) from None


def remove_state(path: Path) -> None:
    path.unlink(missing_ok=True)
