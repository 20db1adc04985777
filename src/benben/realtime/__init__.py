"""Realtime: the change feed streamed to subscribers as Server-Sent Events (see realtime.md)."""
