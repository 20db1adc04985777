"""Login throttling: failed logins limited per account and per client address, atomically.

Two counters, each a set of moving windows in the rate-limit storage (Redis in production, so
they hold across instances):

- the **account**'s, ``benben.auth.login_failures_per_account`` (default ``5/minute;10/5
  minutes``): slows guessing at one account from any number of addresses.  Several windows make
  the delay progressive (after 5 failures the wait is under a minute, after 10 it grows to at most
  5 minutes) and its longest window caps how long a stranger's failures keep the owner out.  The
  account is the user's id whatever identifier was typed (username or email, any case); a name
  that matches no account is counted under its normalised, hashed spelling, so probing unknown
  names is limited alike and the answer does not tell them apart.
- the **address**'s, ``benben.auth.login_failures_per_address`` (default ``100/15 minutes``):
  failures on all accounts from one client address (an IPv6 client's /64, which one subscriber
  holds whole), high enough that an office behind one NAT is not locked out by one person's
  typos, low enough to stop one address trying many accounts.

Atomic: an attempt first *reserves* a slot in every window of both counters
(:mod:`.reserve`), and the password is verified only when all admitted it; parallel
attempts therefore get at most the limit's number of password checks, on one instance or many.
A failure keeps its reservation (it is the failure's record); a success gives the address's slot
back and clears the account's failures (they were its owner's typos).  Usage::

    attempt = get_login_throttle(request).acquire(request, account_key(user, identifier))
    ...verify the password...
    if accepted:
        attempt.succeeded()

Over any window: :class:`ProblemError` 429 with ``Retry-After``, the same for every account,
existing or not.  Throttling stays active when ``benben.ratelimit.enabled`` is false (only the
application can count per account), and fails open while the storage is down (logged and counted
by the store), like rate limits.
"""

from __future__ import annotations

import hashlib
import ipaddress
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request

from benben.errors import ProblemError
from benben.ratelimit.reserve import Window, can_give_back, give_back, reserve
from benben.ratelimit.rules import parse_limits
from benben.ratelimit.store import LimitStore, get_limit_store

__all__ = [
    "LoginAttempt",
    "LoginThrottle",
    "account_key",
    "address_key",
    "get_login_throttle",
    "normalise_account",
]

THROTTLE_KEY = "benben.security.login_throttle"
ACCOUNT_BUCKET = "login-account"
ADDRESS_BUCKET = "login-address"
THROTTLED_DETAIL = "Too many failed logins for this account or from this address."
PER_ACCOUNT = "benben.auth.login_failures_per_account"
PER_ADDRESS = "benben.auth.login_failures_per_address"
# Bounds: (most failures in a window, longest window in seconds).  The account's longest window
# is the longest a stranger can keep its owner out after stopping: an hour at most.
BOUNDS = {PER_ACCOUNT: (1000, 3600), PER_ADDRESS: (100_000, 86_400)}


def normalise_account(identifier: str) -> str:
    """One key per typed name however it is spelled (case, Unicode forms, surrounding blanks),
    hashed so that the storage holds neither login names nor unbounded client input."""
    canonical = unicodedata.normalize("NFKC", identifier).strip().casefold()
    return hashlib.sha256(canonical.encode()).hexdigest()


def account_key(user_id: Any, identifier: str) -> str:
    """The account's counter: ``user:<id>`` when the identifier names a user, so that username
    and email share it; else ``name:<hash>`` of the normalised identifier."""
    if user_id is not None:
        return f"user:{user_id}"
    return f"name:{normalise_account(identifier)}"


def address_key(client_addr: str | None) -> str:
    """The client address, an IPv6 one as its /64 (a subscriber's whole prefix)."""
    if not client_addr:
        return "unknown"
    try:
        address = ipaddress.ip_address(client_addr)
    except ValueError:
        return client_addr[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass(frozen=True)
class LoginAttempt:
    """An admitted attempt, holding one slot in each window until it succeeds."""

    store: LimitStore
    account: tuple[Window, ...]
    address: tuple[Window, ...]

    def succeeded(self) -> None:
        """The owner logged in: the account's failures are cleared, the address's slot returns
        (the address's earlier failures stay: knowing one password earns no guesses at others)."""
        for item, identifiers in self.account:
            self.store.clear(item, *identifiers)
        give_back(self.store, self.address)


class LoginThrottle:
    def __init__(
        self,
        store: LimitStore,
        per_account: Sequence[RateLimitItem],
        per_address: Sequence[RateLimitItem],
    ) -> None:
        self.store = store
        self.per_account = tuple(per_account)
        self.per_address = tuple(per_address)

    def acquire(self, request: Request, account: str) -> LoginAttempt:
        """Reserve this attempt's slots (``account`` from :func:`account_key`); raise the 429
        ProblemError when the account's or the address's windows are full."""
        address = address_key(request.client_addr)
        account_windows = tuple((item, (ACCOUNT_BUCKET, account)) for item in self.per_account)
        address_windows = tuple((item, (ADDRESS_BUCKET, address)) for item in self.per_address)
        retry_after = reserve(self.store, account_windows + address_windows)
        if retry_after:
            raise ProblemError(
                429,
                title="Too many failed logins",
                detail=f"{THROTTLED_DETAIL} Try again in {retry_after} seconds.",
                headers={"Retry-After": str(retry_after)},
            )
        return LoginAttempt(self.store, account_windows, address_windows)


def get_login_throttle(request: Request) -> LoginThrottle:
    return request.registry[THROTTLE_KEY]


def parse_failures(settings: Any, name: str) -> tuple[RateLimitItem, ...]:
    """A failures setting within its bounds, or a ConfigurationError naming it."""
    value = str(settings[name])
    items = parse_limits(value, name)
    most, longest = BOUNDS[name]
    for item in items:
        if item.amount > most or item.get_expiry() > longest:
            raise ConfigurationError(
                f"invalid value {value!r} for setting {name}: at most {most} failures per "
                f"window, windows of at most {longest} seconds"
            )
    return items


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    store = get_limit_store(config.registry)
    if not can_give_back(store.storage):
        raise ConfigurationError(
            "invalid value for setting benben.ratelimit.storage_url: login throttling needs "
            "memory:// or a Redis storage"
        )
    config.registry[THROTTLE_KEY] = LoginThrottle(
        store, parse_failures(settings, PER_ACCOUNT), parse_failures(settings, PER_ADDRESS)
    )
