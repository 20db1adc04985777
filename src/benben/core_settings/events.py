"""The change feed (benben.events): whether changes are written to it, and how long it keeps
them.

Part of :data:`benben.core_settings.CORE_SETTINGS`.
"""

from __future__ import annotations

from benben.settings import Setting, as_bool, as_int

__all__ = ["EVENTS_SETTINGS"]

EVENTS_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "benben.events.enabled",
        as_bool,
        True,
        "Write every committed change to the change feed (docs/events.md), in the change's "
        "transaction. Webhooks and other feed consumers see nothing while off.",
    ),
    Setting(
        "benben.events.retention_hours",
        as_int(1, 24 * 3650),
        168,
        "Hours the feed keeps an event at least; the worker's periodic task then deletes it "
        "once every durable consumer (the webhooks' fan-out) has read it.",
    ),
    Setting(
        "benben.events.consumer_expiry_hours",
        as_int(1, 24 * 3650),
        168,
        "Hours a durable consumer that stopped reading keeps holding events back; after that, "
        "retention deletes what it has not read and it resumes past a gap.",
    ),
)
