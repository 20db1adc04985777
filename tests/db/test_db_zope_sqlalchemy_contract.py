"""Contract: what benben.db uses of zope.sqlalchemy and transaction beyond their documented API
(``ZopeStatus``), and the guard against committing a managed session directly (a real check,
also under -O)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import version

import pytest
import transaction
import zope.sqlalchemy.datamanager
from packaging.version import Version
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from benben.db import DirectCommitError, get_tm_session, refuse_direct_commits


def test_installed_releases_are_within_the_bounds_the_contract_was_written_for():
    # pyproject.toml: zope.sqlalchemy<5, transaction<6.  A new major needs this file re-checked.
    assert Version(version("zope.sqlalchemy")).major < 5
    assert Version(version("transaction")).major < 6


def test_a_committing_transaction_reports_the_committing_status():
    manager = transaction.TransactionManager(explicit=True)
    seen = []

    class Recorder:
        def abort(self, _txn):
            pass

        tpc_begin = commit = tpc_finish = tpc_abort = abort

        def tpc_vote(self, txn):
            seen.append(txn.status)

        def sortKey(self):  # noqa: N802 - transaction's interface
            return "recorder"

    with manager:
        manager.get().join(Recorder())
    assert seen == [zope.sqlalchemy.datamanager.ZopeStatus.COMMITTING]


@pytest.fixture
def factory():
    engine = create_engine("sqlite://")
    made = sessionmaker(bind=engine)
    refuse_direct_commits(made)
    yield made
    engine.dispose()


def test_a_joined_session_commits_and_aborts_with_its_transaction(factory):
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        session = get_tm_session(factory, manager)
        session.execute(text("CREATE TABLE t (n INTEGER)"))
        session.execute(text("INSERT INTO t VALUES (1)"))
    manager.begin()
    session = get_tm_session(factory, manager)
    session.execute(text("INSERT INTO t VALUES (2)"))
    manager.abort()
    with manager:
        session = get_tm_session(factory, manager)
        assert session.execute(text("SELECT n FROM t")).scalars().all() == [1]


def test_committing_a_joined_session_directly_is_refused(factory):
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    session = get_tm_session(factory, manager)
    session.execute(text("SELECT 1"))
    with pytest.raises(DirectCommitError):
        session.commit()
    manager.abort()


def test_the_direct_commit_guard_holds_under_python_optimize():
    # -O strips asserts: the guard must not be one.
    script = textwrap.dedent("""
        import transaction
        from sqlalchemy import create_engine, text
        from sqlalchemy.orm import sessionmaker
        from benben.db import DirectCommitError, get_tm_session, refuse_direct_commits

        assert False, "asserts are on"  # never raised under -O
        factory = sessionmaker(bind=create_engine("sqlite://"))
        refuse_direct_commits(factory)
        manager = transaction.TransactionManager(explicit=True)
        manager.begin()
        session = get_tm_session(factory, manager)
        session.execute(text("SELECT 1"))
        try:
            session.commit()
        except DirectCommitError:
            print("refused")
        else:
            print("committed")
    """)
    result = subprocess.run(
        [sys.executable, "-O", "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "refused"
