"""A dependency that may fail (Redis for the cache or the rate limits) without failing requests.

After a failure the dependency is left alone for ``retry_interval`` seconds, so an outage does not
add a timeout to every request; every failure is counted, and logged at most once per
``log_interval`` so that an outage cannot flood the logs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class OutageGuard:
    def __init__(
        self,
        what: str,
        meanwhile: str,
        logger: logging.Logger,
        *,
        retry_interval: float = 5.0,
        log_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        on_error: Callable[[], None] | None = None,
        on_bypass: Callable[[], None] | None = None,
    ) -> None:
        """``what`` failed on an operation; ``meanwhile`` says what requests get instead."""
        self.what = what
        self.meanwhile = meanwhile
        self.log = logger
        self.retry_interval = retry_interval
        self.log_interval = log_interval
        self.clock = clock
        self.errors = 0  # failed calls
        self.bypassed = 0  # calls not even tried during an outage
        self._on_error = on_error
        self._on_bypass = on_bypass
        self._down_until = float("-inf")
        self._last_logged = float("-inf")
        self._failures_since_up = 0
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self.clock() >= self._down_until

    def call(self, operation: str, fn: Callable[[], T], fallback: Any = None) -> T | Any:
        """``fn()``, or ``fallback`` when it fails or the dependency is known to be down."""
        if not self.available:
            with self._lock:
                self.bypassed += 1
            if self._on_bypass:
                self._on_bypass()
            return fallback
        try:
            result = fn()
        except Exception as exc:  # any failure of the dependency: the request is still served
            self._failed(operation, exc)
            return fallback
        if self._failures_since_up:
            with self._lock:
                failures, self._failures_since_up = self._failures_since_up, 0
            if failures:
                self.log.info("%s answers again after %d failed calls", self.what, failures)
        return result

    def _failed(self, operation: str, exc: Exception) -> None:
        now = self.clock()
        with self._lock:
            self.errors += 1
            self._failures_since_up += 1
            self._down_until = now + self.retry_interval
            should_log = now - self._last_logged >= self.log_interval
            if should_log:
                self._last_logged = now
        if self._on_error:
            self._on_error()
        if should_log:
            self.log.warning(
                "%s failed on %s (%s: %s); %s, retrying in %gs "
                "(further failures counted, logged every %gs)",
                self.what, operation, type(exc).__name__, exc, self.meanwhile,
                self.retry_interval, self.log_interval,
            )  # fmt: skip
