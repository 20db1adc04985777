"""The command's app: dry runs' transactions can never commit, other requests' can."""

from __future__ import annotations

from pyramid.testing import DummyRequest

from benben.transfer.client import DRY_RUN_ENVIRON_KEY, transfer_manager


def test_a_dry_runs_transactions_are_doomed_from_the_start():
    request = DummyRequest(environ={DRY_RUN_ENVIRON_KEY: True})
    manager = transfer_manager(request)
    txn = manager.begin()
    assert txn.isDoomed()
    manager.abort()


def test_other_requests_get_pyramid_tms_explicit_manager():
    manager = transfer_manager(DummyRequest())
    txn = manager.begin()
    assert not txn.isDoomed()
    assert manager.explicit
    manager.abort()
