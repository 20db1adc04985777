"""Archives altered for the tests of what must be refused: bytes flipped, cut short, a
manifest rewritten (the members' digests kept right, so that only the change is wrong)."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def member_offset(path: Path, name: str) -> tuple[int, int]:
    """Where member ``name``'s data starts in the file, and its size."""
    with tarfile.open(path) as tar:
        info = tar.getmember(name)
        return info.offset_data, info.size


def flip_byte(path: Path, name: str, at: int = 0) -> Path:
    start, size = member_offset(path, name)
    data = bytearray(path.read_bytes())
    data[start + min(at, size - 1)] ^= 0x55
    changed = path.with_name(f"flipped-{path.name}")
    changed.write_bytes(bytes(data))
    return changed


def truncate_inside(path: Path, name: str) -> Path:
    start, size = member_offset(path, name)
    changed = path.with_name(f"truncated-{path.name}")
    changed.write_bytes(path.read_bytes()[: start + size // 2])
    return changed


def edit_manifest(path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of the archive whose manifest ``edit`` changed (members copied as they are)."""
    changed = path.with_name(f"edited-{path.name}")
    with tarfile.open(path) as source, tarfile.open(changed, "w", format=tarfile.PAX_FORMAT) as out:
        for info in source.getmembers():
            data = source.extractfile(info).read()  # type: ignore[union-attr]
            if info.name == "manifest.json":
                manifest = json.loads(data)
                edit(manifest)
                data = json.dumps(manifest, sort_keys=True, indent=1).encode()
                info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return changed
