"""The bounded storage of the in-process cache."""

from __future__ import annotations

import pytest

from benben.cache.memory import BoundedDict


def test_least_recently_used_goes_first():
    store = BoundedDict(2)
    store["a"], store["b"] = 1, 2
    assert store.get("a") == 1
    store["c"] = 3
    assert "b" not in store
    assert (store.get("a"), store.get("c"), len(store)) == (1, 3, 2)
    store["a"] = 10  # overwriting refreshes too
    store["d"] = 4
    assert "c" not in store
    assert store.pop("a") == 10
    assert store.pop("a", "gone") == "gone"
    assert store.get("missing", "default") == "default"


def test_size_must_be_positive():
    with pytest.raises(ValueError, match="max_items must be >= 1"):
        BoundedDict(0)
