"""Every core setting, defined once (plugins declare theirs in their metadata).

One table, kept whole on purpose: it is what `benben config`, the generated configuration
reference and start-up validation all read, so a setting is added in exactly one place.
"""

from __future__ import annotations

from benben.settings import Setting, as_bool, as_choice, as_float, as_int, as_list, as_str

__all__ = ["CORE_SETTINGS"]

CORE_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "benben.environment",
        as_choice("development", "production"),
        "development",
        "development: readable logs, generated secret allowed; "
        "production: JSON logs, strict checks.",
    ),
    Setting(
        "benben.public_url",
        as_str,
        "",
        "The URL clients use to reach this instance (links, catalog entries). "
        "Empty: taken from each request.",
    ),
    Setting(
        "benben.secret",
        as_str,
        "",
        "Server secret (>= 64 bytes) for signatures. Empty in development: one is generated "
        "and kept in the data directory. Required in production.",
        secret=True,
    ),
    Setting(
        "benben.data_dir",
        as_str,
        "./var",
        "Directory for the embedded database and secret. A relative path is resolved against "
        "the working directory at start-up; benben serve prints the result, and other commands "
        "refuse to create a second database elsewhere (docs/configuration.md, Data directory).",
    ),
    Setting(
        "benben.database.url",
        as_str,
        "",
        "SQLAlchemy URL. Empty: SQLite file benben.sqlite in the data directory. "
        "postgresql:// URLs use psycopg 3.",
        secret=True,
    ),
    Setting(
        "benben.database.read_url",
        as_str,
        "",
        "PostgreSQL read replica. Set: reads of GET/HEAD/OPTIONS requests go there, every write "
        "(and every other request) to benben.database.url. Empty: no replica. Refused with SQLite.",
        secret=True,
    ),
    Setting("benben.database.pool_size", as_int(1, 1000), 10, "PostgreSQL connection pool size."),
    Setting(
        "benben.database.max_overflow", as_int(0, 1000), 10, "Connections allowed beyond the pool."
    ),
    Setting(
        "benben.database.pool_timeout",
        as_float(0.1, 600),
        10.0,
        "Seconds to wait for a pooled connection.",
    ),
    Setting(
        "benben.database.connect_timeout",
        as_int(1, 600),
        5,
        "Seconds to wait when opening a database connection.",
    ),
    Setting("benben.database.echo", as_bool, False, "Log every SQL statement."),
    Setting(
        "benben.database.auto_migrate",
        as_choice("auto", "true", "false"),
        "auto",
        "Run migrations when the app starts. auto: only on the embedded SQLite default.",
    ),
    Setting(
        "benben.database.retry_attempts",
        as_int(1, 10),
        3,
        "Attempts for a request that hits a serialization failure or deadlock.",
    ),
    Setting(
        "benben.cache.backend",
        as_choice("memory", "redis", "null"),
        "memory",
        "memory: in-process (one instance); redis: shared by every instance; null: no caching.",
    ),
    Setting("benben.cache.url", as_str, "redis://127.0.0.1:6379/0", "Redis URL.", secret=True),
    Setting("benben.cache.prefix", as_str, "benben:", "Prefix of every cache key."),
    Setting(
        "benben.cache.expiration", as_int(1), 3600, "Default lifetime of a cached value, seconds."
    ),
    Setting(
        "benben.cache.max_items",
        as_int(1),
        10_000,
        "memory backend: values kept at most; the least recently used go first.",
    ),
    Setting(
        "benben.cache.socket_timeout",
        as_float(0.01, 60),
        0.5,
        "Seconds before a Redis call is given up (the request then goes to the database).",
    ),
    Setting(
        "benben.cache.retry_interval",
        as_float(0, 3600),
        5.0,
        "After a Redis failure, seconds during which the cache is bypassed before retrying.",
    ),
    Setting(
        "benben.cache.error_log_interval",
        as_float(0, 86400),
        60.0,
        "Cache failures are logged at most once per this many seconds (all are counted).",
    ),
    Setting(
        "benben.plugins",
        as_list,
        ("all",),
        "Plugins to enable: 'all' installed ones, or a list of plugin names.",
    ),
    Setting("benben.plugins.disabled", as_list, (), "Plugins never to enable, by name."),
    Setting(
        "benben.logging.format",
        as_choice("auto", "text", "json"),
        "auto",
        "auto: json in production, text in development.",
    ),
    Setting(
        "benben.logging.level",
        as_choice("debug", "info", "warning", "error"),
        "info",
        "Root log level.",
    ),
    Setting(
        "benben.logging.config",
        as_str,
        "",
        "A logging fileConfig ini; when set it replaces the built-in logging setup.",
    ),
    Setting(
        "benben.logging.redact",
        as_list,
        (),
        "More query parameter names (or words of names) whose values logs show as [REDACTED], "
        "besides the built-in ones (access_token, token, ticket, code, password, key, sig...).",
    ),
    Setting(
        "benben.health.timeout",
        as_float(0.05, 60),
        2.0,
        "Seconds each readiness check may take before it counts as down.",
    ),
    Setting(
        "benben.health.noncritical",
        as_list,
        ("cache",),
        "Readiness checks whose failure leaves the instance ready (200, reported degraded): "
        "what requests can do without, such as the cache.",
    ),
    # -- identity and access ------------------------------------------------------------------
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
    # -- data API -------------------------------------------------------------------------------
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
    # -- metrics and tracing ------------------------------------------------------------------
    Setting(
        "benben.metrics.enabled",
        as_choice("off", "open", "restricted"),
        "restricted",
        "GET /metrics (Prometheus). off: nothing measured, 404; open: anyone; restricted: "
        "clients from benben.metrics.allowed_networks or with the bearer benben.metrics.token.",
    ),
    Setting(
        "benben.metrics.token",
        as_str,
        "",
        "Bearer token (>= 16 characters) that admits a scraper from any address when metrics "
        "are restricted. Empty: networks only.",
        secret=True,
    ),
    Setting(
        "benben.metrics.allowed_networks",
        as_list,
        ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"),
        "Client networks (CIDR) that may read restricted metrics; the client address is the one "
        "benben.security.trusted_proxies vouch for.",
    ),
    Setting(
        "benben.tracing.enabled",
        as_bool,
        False,
        "OpenTelemetry spans for requests and SQL; needs pip install 'benben[otel]'.",
    ),
    Setting(
        "benben.tracing.exporter",
        as_choice("otlp", "console", "none"),
        "otlp",
        "Where spans go: otlp (HTTP/protobuf to benben.tracing.otlp_endpoint), console "
        "(stdout), none (trace ids in logs and responses only).",
    ),
    Setting(
        "benben.tracing.otlp_endpoint",
        as_str,
        "",
        "OTLP/HTTP traces URL. Empty: OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, else "
        "http://localhost:4318/v1/traces.",
    ),
    Setting("benben.tracing.service_name", as_str, "benben", "service.name of the spans."),
    Setting(
        "benben.tracing.sample_ratio",
        as_float(0, 1),
        1.0,
        "Share of new traces recorded; a request whose traceparent says sampled or not is "
        "followed as its caller decided.",
    ),
)
