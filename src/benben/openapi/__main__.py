"""``python -m benben.openapi``: write core's OpenAPI document to ``docs/api/openapi.json``.

``--check`` writes nothing and exits 1 when the committed file differs from what the code
generates (CI runs it).  The document is core's alone (no plugin, default settings, no
environment), so it is the same wherever it is generated.
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benben.generated_files import write_or_check

__all__ = ["DEFAULT_OUTPUT", "core_document", "main", "render_committed"]

DEFAULT_OUTPUT = Path("docs") / "api" / "openapi.json"
COMMAND = "python -m benben.openapi"


def core_document() -> dict[str, Any]:
    """The document of core with default settings and no plugin."""
    # Pyramid 2.1 imports pkg_resources, which warns on import (see benben.docs).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
        warnings.filterwarnings("ignore", "Deprecated call to `pkg_resources.declare_namespace")
        from benben.config import configure
        from benben.db import get_engine
        from benben.openapi.generator import build_document

    with tempfile.TemporaryDirectory(prefix="benben-openapi-") as data_dir:
        config = configure({"benben.data_dir": data_dir}, environ={}, entry_points=[])
        try:
            return build_document(config.registry)
        finally:
            get_engine(config.registry).dispose()


def render_committed(document: dict[str, Any] | None = None) -> str:
    """The committed file's text: indented, one trailing newline."""
    document = core_document() if document is None else document
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    return write_or_check(
        argv,
        prog=COMMAND,
        description="Write (or check) core's generated OpenAPI document.",
        default_output=DEFAULT_OUTPUT,
        render=render_committed,
    )


if __name__ == "__main__":
    sys.exit(main())
