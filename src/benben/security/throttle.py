"""Login throttling: failed logins are limited per account and per client address.

``benben.auth.login_failures`` (default ``5/minute``, moving window) applies to each separately:
an attacker spreading guesses over many addresses is stopped by the account's counter, one trying
many accounts from one address by the address's.  The counters live in the rate-limit storage
(Redis in production), so they hold across instances.

Usage in the login view::

    throttle = get_login_throttle(request)
    throttle.check(request, account)            # 429 + Retry-After when either is exhausted
    if not accepted:
        throttle.record_failure(request, account)
    else:
        throttle.reset(request, account)         # the account's counter, not the address's

The throttle stays active when ``benben.ratelimit.enabled`` is false: turning off request rate
limits (for instance behind a gateway that applies its own) must not open the door to password
guessing, which only the application can count per account.  Like rate limits it fails open when
the storage is down (logged and counted by the store).
"""

from __future__ import annotations

import hashlib
import math
import time
import unicodedata

from limits import RateLimitItem
from pyramid.config import Configurator
from pyramid.request import Request

from benben.errors import ProblemError
from benben.security.ratelimit import LimitStore, get_limit_store, parse_limits

__all__ = ["LoginThrottle", "get_login_throttle", "normalise_account"]

THROTTLE_KEY = "benben.security.login_throttle"
ACCOUNT_BUCKET = "login-account"
ADDRESS_BUCKET = "login-address"
THROTTLED_DETAIL = "Too many failed logins for this account or from this address."


def normalise_account(account_key: str) -> str:
    """One key per account however it is typed (case, Unicode forms, surrounding blanks), hashed
    so that the storage holds neither login names nor unbounded client input."""
    canonical = unicodedata.normalize("NFKC", account_key).strip().casefold()
    return hashlib.sha256(canonical.encode()).hexdigest()


def _address(request: Request) -> str:
    return request.client_addr or "unknown"


class LoginThrottle:
    def __init__(self, store: LimitStore, limits: tuple[RateLimitItem, ...]) -> None:
        self.store = store
        self.limits = limits

    def _keys(self, request: Request, account_key: str) -> list[tuple[str, str]]:
        return [(ACCOUNT_BUCKET, normalise_account(account_key)),
                (ADDRESS_BUCKET, _address(request))]  # fmt: skip

    def check(self, request: Request, account_key: str) -> None:
        """Raise a 429 ProblemError with ``Retry-After`` when the account or the client address
        has used up its failed logins.  Consumes nothing."""
        retry_after = 0
        for bucket, key in self._keys(request, account_key):
            for limit in self.limits:
                if self.store.test(limit, bucket, key) is False:
                    stats = self.store.stats(limit, bucket, key)
                    wait = math.ceil(stats.reset_time - time.time()) if stats else 0
                    retry_after = max(retry_after, wait, 1)
        if retry_after:
            raise ProblemError(
                429,
                title="Too many failed logins",
                detail=f"{THROTTLED_DETAIL} Try again in {retry_after} seconds.",
                headers={"Retry-After": str(retry_after)},
            )

    def record_failure(self, request: Request, account_key: str) -> None:
        """Count one failed login against the account and the client address."""
        for bucket, key in self._keys(request, account_key):
            for limit in self.limits:
                self.store.hit(limit, bucket, key)

    def reset(self, request: Request, account_key: str) -> None:
        """A successful login clears the account's failures.  The address's stay: a client that
        knows one password must not earn fresh guesses at other accounts."""
        account = normalise_account(account_key)
        for limit in self.limits:
            self.store.clear(limit, ACCOUNT_BUCKET, account)


def get_login_throttle(request: Request) -> LoginThrottle:
    return request.registry[THROTTLE_KEY]


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    items = parse_limits(str(settings["benben.auth.login_failures"]), "benben.auth.login_failures")
    config.registry[THROTTLE_KEY] = LoginThrottle(get_limit_store(config.registry), items)
