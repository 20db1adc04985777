"""benben.cache.versions: the board of versions this process knows."""

from __future__ import annotations

from benben.cache.versions import VersionBoard


def test_versions_only_grow():
    board = VersionBoard()
    board.learn({"books": 5})
    board.learn({"books": 3, "films": 1})  # an older read cannot roll the board back
    assert board.current("books") == 5
    assert board.current("films") == 1
    assert board.current("songs") is None


def test_forgetting_drops_everything_and_sets_trust():
    board = VersionBoard()
    forgotten = []
    board.on_forget(lambda: forgotten.append(True))
    board.learn({"books": 5})
    generation = board.generation
    board.forget(trusted=False)
    assert forgotten == [True]
    assert board.generation != generation
    board.learn({"books": 6})
    assert board.current("books") is None  # not trusted: nothing to go by
    board.forget(trusted=True)
    assert board.current("books") is None


def test_counters_start_at_zero_and_advance():
    board = VersionBoard()
    assert board.counter("auth") == 0
    board.bump_counter("auth")
    board.bump_counter("auth")
    assert board.counter("auth") == 2
    assert VersionBoard(trusted=False).counter("auth") is None
