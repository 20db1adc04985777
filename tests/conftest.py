"""Benben's own test suite: the fixtures of benben.testing, the garbage collector tuned for a
suite that builds an app per test, and the order in which xdist hands out the test files."""

from __future__ import annotations

import gc

import pytest

pytest_plugins = ["benben.testing"]

# Generation thresholds while the suite runs (CPython's defaults: 700, 10, 10).  Every test builds
# a Pyramid app, hundreds of thousands of objects that die in reference cycles, so the default
# full collection came every few tests and walked the whole heap each time: a third of the CPU
# a test process spent.  Fewer, larger young collections and a full one every 50 middle ones
# cost about a fifth of that, for some 70 MB more memory per worker.
GC_THRESHOLDS = (2000, 20, 50)

# Test files xdist starts first, before the files marked slow: each takes longer than most
# files (schemathesis' runs: about a tenth of the suite's CPU in four tests), and xdist's own
# order (most tests first) started it last, leaving one worker alone at the end.
HEAVY_FILES = ("tests/openapi/test_openapi_schemathesis.py",)


def pytest_configure(config: pytest.Config) -> None:
    gc.set_threshold(*GC_THRESHOLDS)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    # What exists once the tests are collected (modules, their functions, parameters) lives
    # until the end: frozen, no full collection walks it again.
    gc.collect()
    gc.freeze()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order the test files for xdist (``--dist loadfile --no-loadscope-reorder``).

    Workers take files in collection order, so the longest go first: ``HEAVY_FILES``, then
    files marked slow (they start processes and wait for them), then the others by how many
    tests they have.  A short file then ends the run, not a long one.  A file's tests keep
    their order."""
    by_file: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_file.setdefault(item.nodeid.split("::", 1)[0], []).append(item)

    def weight(path: str) -> tuple[int, int]:
        tests = by_file[path]
        if path in HEAVY_FILES:
            return (0, -len(tests))
        slow = any(item.get_closest_marker("slow") for item in tests)
        return (1 if slow else 2, -len(tests))

    ordered = sorted(by_file, key=weight)  # stable: files of equal weight keep their order
    items[:] = [item for path in ordered for item in by_file[path]]
