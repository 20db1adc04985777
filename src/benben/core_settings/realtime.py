"""Realtime change streams (benben.realtime): limits, heartbeats, tickets.

Part of :data:`benben.core_settings.CORE_SETTINGS`.
"""

from __future__ import annotations

from benben.settings import Setting, as_bool, as_float, as_int

__all__ = ["REALTIME_SETTINGS"]

REALTIME_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "benben.realtime.enabled",
        as_bool,
        True,
        "Serve the change streams (`GET /api/v1/changes`, `GET /api/v1/collections/{id}/changes`, "
        "docs/realtime.md). Needs the change feed (benben.events.enabled).",
    ),
    Setting(
        "benben.realtime.max_subscribers",
        as_int(1, 1_000_000),
        10_000,
        "Streams one process holds open at once; beyond it a new stream is answered 503 with "
        "Retry-After. `benben serve` raises the open-file limit to fit them.",
    ),
    Setting(
        "benben.realtime.max_streams_per_user",
        as_int(1, 10_000),
        32,
        "Streams one user may hold open at once on one process; beyond it 429.",
    ),
    Setting(
        "benben.realtime.heartbeat_seconds",
        as_float(1, 300),
        15.0,
        "Seconds of silence after which a stream sends a comment line, so that proxies and "
        "clients keep the connection (below every proxy's read timeout).",
    ),
    Setting(
        "benben.realtime.retry_ms",
        as_int(100, 600_000),
        3000,
        "The `retry:` hint a stream opens with: how long a client waits before reconnecting.",
    ),
    Setting(
        "benben.realtime.max_stream_seconds",
        as_int(1, 86_400),
        3600,
        "Seconds a stream lasts at most; it then ends with an `end` event (reason "
        "`max-duration`) and the client resumes from its last event id, on whichever instance "
        "the load balancer picks (so streams spread again after a scale-out).",
    ),
    Setting(
        "benben.realtime.max_buffered_bytes",
        as_int(4096, 1 << 30),
        1 << 20,
        "Bytes a stream may have queued for a client that does not read them; beyond it the "
        "client is dropped with an `end` event (reason `slow-consumer`), never buffered without "
        "bound.",
    ),
    Setting(
        "benben.realtime.poll_seconds",
        as_float(0.05, 60),
        1.0,
        "Seconds between two reads of the change feed when no instance announced a change "
        "(changes made by other processes without a shared Redis, or announcements lost).",
    ),
    Setting(
        "benben.realtime.ticket_seconds",
        as_int(5, 600),
        30,
        "Seconds a stream ticket (`POST /api/v1/changes/tickets`) may wait to be redeemed.",
    ),
)
