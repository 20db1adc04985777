"""Identity and access: access tokens, the first administrator, passwords and login
throttling, rate limits, CORS and the HTTP hardening.

Part of :data:`benben.core_settings.CORE_SETTINGS`; the order here is the order of
``benben config`` and of the configuration reference.
"""

from __future__ import annotations

from benben.settings import Setting, as_bool, as_choice, as_int, as_list, as_str

__all__ = ["ACCESS_SETTINGS"]

ACCESS_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "benben.jwt.algorithm",
        as_choice("HS256", "RS256", "ES256"),
        "HS256",
        "Access-token signature. HS256 uses benben.jwt.secret; RS256/ES256 use key files "
        "and publish /.well-known/jwks.json.",
    ),
    Setting(
        "benben.jwt.secret",
        as_str,
        "",
        "HS256 key (>= 64 bytes). Empty: derived from benben.secret.",
        secret=True,
    ),
    Setting("benben.jwt.private_key_file", as_str, "", "PEM private key for RS256/ES256."),
    Setting("benben.jwt.public_key_file", as_str, "", "PEM public key for RS256/ES256."),
    Setting("benben.jwt.issuer", as_str, "benben", "The iss claim issued and required."),
    Setting("benben.jwt.audience", as_str, "benben", "The aud claim issued and required."),
    Setting("benben.jwt.access_ttl", as_int(30, 86400), 900, "Access-token lifetime, seconds."),
    Setting(
        "benben.jwt.refresh_ttl",
        as_int(60, 31_536_000),
        2_592_000,
        "Refresh-token lifetime, seconds.",
    ),
    Setting(
        "benben.jwt.leeway", as_int(0, 300), 10, "Clock skew tolerated on exp/nbf/iat, seconds."
    ),
    Setting(
        "benben.admin_username",
        as_str,
        "admin",
        "With benben.admin_password: the first administrator, created at start-up if no user "
        "exists yet.",
    ),
    Setting(
        "benben.admin_password",
        as_str,
        "",
        "Password of the first administrator (BENBEN_ADMIN_PASSWORD); used only while no user "
        "exists.",
        secret=True,
    ),
    Setting("benben.auth.password_min_length", as_int(8, 1024), 12, "Minimum password length."),
    Setting(
        "benben.auth.argon2_time_cost",
        as_int(1, 20),
        3,
        "argon2id iterations; hashes made with other parameters are redone at the next login.",
    ),
    Setting(
        "benben.auth.argon2_memory_cost",
        as_int(8, 4_194_304),
        65536,
        "argon2id memory per hash, KiB.",
    ),
    Setting("benben.auth.argon2_parallelism", as_int(1, 64), 4, "argon2id lanes."),
    Setting(
        "benben.auth.login_failures_per_account",
        as_str,
        "5/minute;10/5 minutes",
        "Failed logins allowed per account, whatever identifier is typed (limits notation; "
        "several windows make the delay progressive). Each window: <= 1000 failures, <= 1 hour "
        "(a stranger's failures keep the owner out for at most the longest window).",
    ),
    Setting(
        "benben.auth.login_failures_per_address",
        as_str,
        "100/15 minutes",
        "Failed logins allowed per client address (IPv6: per /64) on all accounts together; "
        "high enough for an office behind one NAT. Each window: <= 100000 failures, <= 1 day.",
    ),
    Setting("benben.ratelimit.enabled", as_bool, True, "Apply rate limits."),
    Setting(
        "benben.ratelimit.storage_url",
        as_str,
        "",
        "limits storage: memory:// (one instance) or redis://host:port/db (shared by instances). "
        "Empty: the cache's Redis when benben.cache.backend = redis, else memory://.",
        secret=True,
    ),
    Setting(
        "benben.ratelimit.default",
        as_str,
        "600/minute",
        "Limit per principal (per client address when anonymous) for routes of no group.",
    ),
    Setting(
        "benben.ratelimit.groups",
        as_list,
        ("auth=30/minute", "write=300/minute"),
        "Per route group limits, as group=limit words (groups: auth, write, read, ...).",
    ),
    Setting(
        "benben.ratelimit.lease_slots",
        as_int(1, 1024),
        32,
        "Most requests of a busy client counted at once (one Redis round trip), and at most "
        "1/64 of its limit; a process may serve that many more than the limit per window. "
        "1: every request counted on its own (exact, a round trip each).",
    ),
    Setting(
        "benben.cors.origins",
        as_list,
        (),
        "Origins allowed to call the API from a browser, exactly (or * without credentials).",
    ),
    Setting("benben.cors.allow_credentials", as_bool, False, "Let browsers send credentials."),
    Setting("benben.cors.max_age", as_int(0, 86400), 600, "Preflight cache lifetime, seconds."),
    Setting(
        "benben.security.hsts_max_age",
        as_int(0),
        0,
        "Strict-Transport-Security max-age; 0 sends no HSTS header (enable behind HTTPS).",
    ),
    Setting(
        "benben.security.max_body_size",
        as_int(1024),
        10 * 1024 * 1024,
        "Largest request body accepted, bytes (413 beyond).",
    ),
    Setting(
        "benben.security.trusted_proxies",
        as_list,
        (),
        "Addresses or networks (CIDR) whose X-Forwarded-For/-Proto/-Host are believed.",
    ),
)
