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

    Workers take files in collection order, so the longest go first: ``HEAVY_FILES``, then the
    files marked slow, each followed by two others (a slow file waits for the processes it
    starts: a worker busy with another file meanwhile uses the core), then the remaining files
    by how many tests they have.  A short file then ends the run, not a long one.  A file's
    tests keep their order."""
    by_file: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_file.setdefault(item.nodeid.split("::", 1)[0], []).append(item)

    def size(path: str) -> int:
        return -len(by_file[path])

    heavy = [path for path in by_file if path in HEAVY_FILES]
    slow, others = [], []
    for path in by_file:
        if path not in HEAVY_FILES:
            marked = any(item.get_closest_marker("slow") for item in by_file[path])
            (slow if marked else others).append(path)
    slow.sort(key=size)  # stable: files of equal size keep their order
    others.sort(key=size)
    ordered = list(heavy)
    for number, path in enumerate(slow):
        ordered += [path, *others[2 * number : 2 * number + 2]]
    ordered += others[2 * len(slow) :]
    items[:] = [item for path in ordered for item in by_file[path]]
