"""The instance itself: environment, secret, data directory, database, cache, plugins,
logging and health checks.

Part of :data:`benben.core_settings.CORE_SETTINGS`; the order here is the order of
``benben config`` and of the configuration reference.
"""

from __future__ import annotations

from benben.settings import Setting, as_bool, as_choice, as_float, as_int, as_list, as_str

__all__ = ["INSTANCE_SETTINGS"]

INSTANCE_SETTINGS: tuple[Setting, ...] = (
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
)
