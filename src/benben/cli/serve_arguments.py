"""``benben serve``'s command-line values: a port, a thread count, a worker count (checked as
argparse types, so that a bad value is a usage error naming it)."""

from __future__ import annotations

import argparse

from benben.serving import as_workers

__all__ = ["MAX_THREADS", "port_number", "thread_count", "workers_option"]

MAX_THREADS = 1024


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected 0-65535") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected 0-65535")
    return port


def thread_count(text: str) -> int:
    try:
        threads = int(text)
    except ValueError:
        threads = 0
    if not 1 <= threads <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"invalid thread count {text!r}: expected 1-{MAX_THREADS}")
    return threads


def workers_option(text: str) -> int | str:
    try:
        return as_workers(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid worker count {text!r}: {exc}") from None
