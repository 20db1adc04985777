"""Database sessions of an app for tests, outside of any request: one that commits on exit, one
that is rolled back. Shared by benben.testing (Benben's own suite) and benben.pytest_plugin."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import transaction

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["committed_session", "rolled_back_session"]


@contextmanager
def committed_session(registry: Any) -> Iterator[Session]:
    """A session of the app whose transaction commits on exit (aborts on an exception): for
    arranging rows behind the API's back, or reading them, in a test."""
    from benben.db import get_tm_session, session_factory

    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    session = get_tm_session(session_factory(registry), manager)
    try:
        yield session
        manager.commit()
    except BaseException:
        manager.abort()
        raise
    finally:
        session.close()


@contextmanager
def rolled_back_session(registry: Any) -> Iterator[Session]:
    """A session like a request's ``dbsession``, joined to a transaction aborted on exit."""
    from benben.db import get_tm_session, session_factory

    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    session = get_tm_session(session_factory(registry), manager)
    try:
        yield session
    finally:
        manager.abort()
        session.close()
