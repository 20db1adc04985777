"""Contract: what benben.db uses of zope.sqlalchemy and transaction beyond their documented API
(``ZopeStatus``; ``ZopeTransactionEvents`` is exported, its methods the listeners it documents),
how sessions join their transaction (listeners on the factory, not on each session), and the
guard against committing a managed session directly (a real check, also under -O)."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
from importlib.metadata import version

import pytest
import transaction
import zope.sqlalchemy
import zope.sqlalchemy.datamanager
from packaging.version import Version
from sqlalchemy import Column, Integer, create_engine, insert, table, text
from sqlalchemy.orm import declarative_base, sessionmaker

from benben.db import DirectCommitError, get_tm_session, manage_transactions

_Base = declarative_base()


class _Item(_Base):
    __tablename__ = "items"
    n = Column(Integer, primary_key=True)


def test_installed_releases_are_within_the_bounds_the_contract_was_written_for():
    # pyproject.toml: zope.sqlalchemy<5, transaction<6.  A new major needs this file re-checked.
    assert Version(version("zope.sqlalchemy")).major < 5
    assert Version(version("transaction")).major < 6


def test_the_events_class_is_exported_with_the_listeners_benben_dispatches_to():
    assert "ZopeTransactionEvents" in zope.sqlalchemy.__all__
    events = zope.sqlalchemy.ZopeTransactionEvents
    parameters = inspect.signature(events).parameters
    assert {"initial_state", "transaction_manager"} <= set(parameters)
    arity = {
        "after_begin": 3,
        "after_attach": 2,
        "after_flush": 2,
        "after_bulk_update": 1,
        "after_bulk_delete": 1,
        "do_orm_execute": 1,
    }
    for name, count in arity.items():
        method = getattr(events(), name)
        assert len(inspect.signature(method).parameters) == count, name


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
def factory(tmp_path):
    # A file, so that every session (and connection) sees the same database.
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    _Base.metadata.create_all(engine)
    made = sessionmaker(bind=engine)
    manage_transactions(made)
    yield made
    engine.dispose()


def _numbers(factory):
    with factory() as session:
        return session.execute(text("SELECT n FROM items ORDER BY n")).scalars().all()


def test_a_joined_session_commits_and_aborts_with_its_transaction(factory):
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        session = get_tm_session(factory, manager)
        session.execute(text("INSERT INTO items VALUES (1)"))
    manager.begin()
    session = get_tm_session(factory, manager)
    session.execute(text("INSERT INTO items VALUES (2)"))
    manager.abort()
    assert _numbers(factory) == [1]


def test_core_and_orm_writes_commit_with_the_transaction(factory):
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        session = get_tm_session(factory, manager)
        session.connection().execute(insert(table("items", Column("n"))), {"n": 1})
    with manager:
        get_tm_session(factory, manager).add(_Item(n=2))  # joins on attach, flushed at commit
    assert _numbers(factory) == [1, 2]


def test_each_session_follows_its_own_transaction_manager(factory):
    aborted = transaction.TransactionManager(explicit=True)
    committed = transaction.TransactionManager(explicit=True)
    aborted.begin()
    committed.begin()
    get_tm_session(factory, aborted).execute(text("INSERT INTO items VALUES (1)"))
    aborted.abort()  # releases SQLite's write lock before the other session writes
    get_tm_session(factory, committed).execute(text("INSERT INTO items VALUES (2)"))
    committed.commit()
    assert _numbers(factory) == [2]


def test_a_nested_transaction_commits_and_rolls_back_inside_the_managed_one(factory):
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        session = get_tm_session(factory, manager)
        session.execute(text("INSERT INTO items VALUES (1)"))
        with session.begin_nested():  # committing a savepoint is no direct commit
            session.execute(text("INSERT INTO items VALUES (2)"))
        nested = session.begin_nested()
        session.execute(text("INSERT INTO items VALUES (3)"))
        nested.rollback()
    assert _numbers(factory) == [1, 2]


def test_a_session_of_the_factory_made_outside_a_request_is_left_alone(factory):
    with factory() as session:
        session.execute(text("INSERT INTO items VALUES (1)"))
        session.commit()  # not joined to any manager: no refusal
    assert _numbers(factory) == [1]


def test_a_factory_that_was_not_prepared_is_refused():
    unprepared = sessionmaker(bind=create_engine("sqlite://"))
    manager = transaction.TransactionManager(explicit=True)
    with pytest.raises(TypeError, match="manage_transactions"):
        get_tm_session(unprepared, manager)


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
        from benben.db import DirectCommitError, get_tm_session, manage_transactions

        assert False, "asserts are on"  # never raised under -O
        factory = sessionmaker(bind=create_engine("sqlite://"))
        manage_transactions(factory)
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
