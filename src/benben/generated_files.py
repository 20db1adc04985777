"""Files generated from the code and committed (the configuration reference, the OpenAPI
document): one command line to write them, or to check in CI that they are up to date."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["write_or_check"]


def write_or_check(
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str,
    default_output: Path,
    render: Callable[[], str],
) -> int:
    """Parse ``[--output PATH] [--check]``; write ``render()`` there, or compare it (exit 1 when
    the file is missing or stale, naming the command that refreshes it)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "--output",
        type=Path,
        default=default_output,
        help=f"file to write or check (default: {default_output})",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when the file differs from what would be generated",
    )
    args = parser.parse_args(argv)
    expected = render()
    path: Path = args.output
    if args.check:
        try:
            current = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            print(f"{path} is missing: run {prog}", file=sys.stderr)
            return 1
        except (OSError, UnicodeDecodeError) as exc:
            print(f"cannot read {path}: {exc}", file=sys.stderr)
            return 1
        if current != expected:
            print(f"{path} is stale: run {prog}", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(expected, encoding="utf-8")
    except OSError as exc:
        print(f"cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0
