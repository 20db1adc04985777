"""The data API: pages, the read cache, size limits, retention, batches, who creates
collections.

Part of :data:`benben.core_settings.CORE_SETTINGS`; the order here is the order of
``benben config`` and of the configuration reference.
"""

from __future__ import annotations

from benben.settings import Setting, as_bool, as_float, as_int, as_list

__all__ = ["DATA_SETTINGS"]

DATA_SETTINGS: tuple[Setting, ...] = (
    Setting("benben.data.page_size", as_int(1, 10_000), 100, "Records per list page by default."),
    Setting(
        "benben.data.cache.enabled",
        as_bool,
        True,
        "Serve record and list reads from memory, keyed by the collection's version (instances "
        "sharing Redis learn of new versions through it; see docs/data-api.md, Caching).",
    ),
    Setting(
        "benben.data.cache.max_items",
        as_int(1, 10_000_000),
        20_000,
        "Most collections, records and list pages the read cache holds per process.",
    ),
    Setting(
        "benben.data.cache.max_age",
        as_float(0.1, 86_400),
        300.0,
        "Seconds a cached read is served at most: bounds what a lost version announcement "
        "could leave stale.",
    ),
    Setting(
        "benben.data.max_page_size",
        as_int(1, 10_000),
        1000,
        "Largest _limit a list accepts (400 beyond).",
    ),
    Setting(
        "benben.data.max_record_size",
        as_int(64, 64 * 1024 * 1024),
        1024 * 1024,
        "Largest record data, bytes of compact JSON (413 beyond).",
    ),
    Setting(
        "benben.data.tombstone_retention_days",
        as_int(0, 36_500),
        30,
        "Days a deleted record's tombstone is kept for _since syncs before `benben data purge` "
        "drops it; 0 keeps tombstones forever.",
    ),
    Setting(
        "benben.data.history_retention_days",
        as_int(0, 36_500),
        90,
        "Days history entries are kept before `benben data purge` drops them; 0 keeps them "
        "forever.",
    ),
    Setting(
        "benben.data.batch_max_operations",
        as_int(1, 10_000),
        100,
        "Most operations one POST /api/v1/batch may carry.",
    ),
    Setting(
        "benben.data.collection_creators",
        as_list,
        ("system.Authenticated",),
        "Principals who may create collections (administrators always may): "
        "system.Authenticated, system.Everyone, group:<name>, user:<id>.",
    ),
)
