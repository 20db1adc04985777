"""``python -m benben.client``: regenerate the client's data types from the OpenAPI document
(``clients/js/benben-types.d.ts``) and copy the client into the package (``src/benben/client/``),
which serves it at ``/client/``. ``--check`` writes nothing and exits 1 when any of those files
is stale (CI runs it). Run from the repository's root.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benben.generated_files import write_or_check

__all__ = ["COMMAND", "SERVED", "SOURCE", "bundled_document", "main"]

COMMAND = "python -m benben.client"
SOURCE = Path("clients") / "js"
SERVED = Path("src") / "benben" / "client"
TYPES = "benben-types.d.ts"


def bundled_document() -> dict[str, Any]:
    """The OpenAPI document of core with every plugin Benben's own distribution installs, on
    default settings: the same wherever it is generated (other installed plugins left out)."""
    with warnings.catch_warnings():  # Pyramid's pkg_resources warning (see benben.docs)
        warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
        warnings.filterwarnings("ignore", "Deprecated call to `pkg_resources.declare_namespace")
        from importlib.metadata import PackageNotFoundError, distribution

        from benben.config import configure
        from benben.db import get_engine
        from benben.openapi.generator import build_document

    try:
        bundled = [ep for ep in distribution("benben").entry_points if ep.group == "benben.plugins"]
    except PackageNotFoundError:  # pragma: no cover - a tree that was never installed
        bundled = []
    with tempfile.TemporaryDirectory(prefix="benben-client-") as data_dir:
        config = configure({"benben.data_dir": data_dir}, environ={}, entry_points=bundled)
        try:
            # Through JSON, as served: the document holds tuples and other Python-only shapes.
            return json.loads(json.dumps(build_document(config.registry)))
        finally:
            get_engine(config.registry).dispose()


def main(argv: Sequence[str] | None = None) -> int:
    from benben.client import FILES
    from benben.client.types import render_types

    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when stale")
    args = parser.parse_args(argv)
    check = ["--check"] if args.check else []
    types = render_types(bundled_document())
    status = 0
    for name in sorted(FILES):
        source = SOURCE / name
        if name == TYPES:
            status |= _one(check, source, lambda: types)
        elif not source.is_file():
            print(f"{source} is missing", file=sys.stderr)
            return 1
        # The served copy is what the source is, or would be once regenerated.
        text = types if name == TYPES else source.read_text(encoding="utf-8")
        status |= _one(check, SERVED / name, lambda text=text: text)
    return status


def _one(check: list[str], output: Path, render: Any) -> int:
    return write_or_check(
        [*check, "--output", str(output)],
        prog=COMMAND,
        description=__doc__ or "",
        default_output=output,
        render=render,
    )


if __name__ == "__main__":
    sys.exit(main())
