"""Benben's own test suite: the fixtures of benben.testing, and the garbage collector tuned for a
suite that builds an app per test."""

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


def pytest_configure(config: pytest.Config) -> None:
    gc.set_threshold(*GC_THRESHOLDS)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    # What exists once the tests are collected (modules, their functions, parameters) lives
    # until the end: frozen, no full collection walks it again.
    gc.collect()
    gc.freeze()
