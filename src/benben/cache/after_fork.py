"""What an object that owns sockets, threads or locks must redo in a child process.

A forked child inherits its parent's sockets (sharing them would interleave both processes'
commands and replies), locks possibly held by a thread that does not exist in the child, and no
threads at all.  Each such object registers a method to run in the child right after ``fork``.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

__all__ = ["reset_in_child"]


def reset_in_child(owner: Any, method: str) -> None:
    """Call ``owner.<method>()`` in every child forked from now on, for as long as ``owner``
    lives.  Hooks cannot be unregistered, so the hook holds ``owner`` weakly: a discarded owner
    is neither kept alive nor reset."""
    reference = weakref.ref(owner)

    def hook() -> None:
        alive = reference()
        if alive is not None:
            getattr(alive, method)()

    os.register_at_fork(after_in_child=hook)
