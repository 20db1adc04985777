"""How ``benben serve`` holds its connections: the ``benben.server.*`` settings for waitress.

waitress reads a whole request (line, headers and body) on its event loop before handing it to a
worker thread, so a slow or idle client costs one socket, not a thread. What runs out is sockets:
waitress stops accepting at ``connection_limit`` (100 by default), and with ``select()`` it cannot
watch a descriptor numbered above 1024 at all. These settings are therefore chosen here, once:
a high connection limit watched with ``poll()``, idle sockets closed after ``channel_timeout``,
and an open-file limit that fits the connection limit. A buffering reverse proxy in front
(conf/nginx/benben.conf) is still what absorbs slow clients in production.

Where each value comes from: the default here < the ``[server:main]`` key of the same name
(waitress's own, so ``pserve`` reads it too) < the ``BENBEN_SERVER_*`` environment variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyramid.exceptions import ConfigurationError

from benben.settings import Setting, as_bool, as_int

__all__ = [
    "RESERVED_FILES",
    "SERVER_SETTINGS",
    "FileLimitError",
    "ensure_file_limit",
    "resolve_server_settings",
]

SERVER_PREFIX = "benben.server."

# Descriptors a server needs besides its client connections: the listening sockets, waitress's
# wake-up pipe, log files, the SQLite file, the database pool (10 + 10 by default) and Redis.
RESERVED_FILES = 128

SERVER_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "benben.server.connection_limit",
        as_int(10, 100_000),
        1000,
        "Client connections `benben serve` holds at once (`connection_limit` in `[server:main]`; "
        "10-100000). Beyond it new connections wait in the listen backlog until one closes. "
        "waitress's own default, 100, lets a hundred slow or idle clients lock everyone out. "
        f"`benben serve` raises the open-file limit to fit it plus {RESERVED_FILES}, or refuses "
        "to start.",
    ),
    Setting(
        "benben.server.channel_timeout",
        as_int(1, 3600),
        75,
        "Seconds a connection may stay silent (no request being answered, no byte received) "
        "before `benben serve` closes it (`channel_timeout` in `[server:main]`; 1-3600). Above "
        "the 60 s idle timeout of common load balancers (AWS ALB, ingress-nginx), so that they "
        "close an idle keep-alive connection first, never Benben under a request they send.",
    ),
    Setting(
        "benben.server.cleanup_interval",
        as_int(1, 3600),
        10,
        "Seconds between two sweeps for connections past benben.server.channel_timeout "
        "(`cleanup_interval` in `[server:main]`; 1-3600): a silent connection is closed at most "
        "this long after its timeout.",
    ),
    Setting(
        "benben.server.backlog",
        as_int(1, 65535),
        1024,
        "Connections the kernel queues while `benben serve` is at its connection limit "
        "(`backlog` in `[server:main]`; 1-65535; Linux caps it at net.core.somaxconn).",
    ),
)

# Not a setting: select() fails on descriptors above 1024, which a high connection limit reaches.
# waitress falls back to select() where poll() does not exist (Windows).
POLL = "asyncore_use_poll"


def _ini_key(setting: Setting) -> str:
    return setting.name[len(SERVER_PREFIX) :]


def resolve_server_settings(
    ini_conf: Mapping[str, Any], environ: Mapping[str, str]
) -> dict[str, Any]:
    """waitress options from the settings: default < ``[server:main]`` key < environment.

    Raises :class:`ConfigurationError` naming the setting and where the bad value came from.
    """
    options: dict[str, Any] = {}
    for setting in SERVER_SETTINGS:
        key = _ini_key(setting)
        if setting.env in environ:
            options[key] = setting.parse(environ[setting.env], "env")
        elif key in ini_conf and str(ini_conf[key]).strip():
            options[key] = setting.parse(ini_conf[key], f"[server:main] {key}")
        else:
            options[key] = setting.default
    if POLL in ini_conf:
        try:
            use_poll = as_bool(ini_conf[POLL])
        except ValueError as exc:
            raise ConfigurationError(f"[server:main] {POLL}: {exc}") from None
        if not use_poll:
            raise ConfigurationError(
                f"[server:main] {POLL} = false: select() cannot watch more than 1024 sockets; "
                "remove the line (benben serve always uses poll)"
            )
    options[POLL] = True
    return options


def server_setting_keys() -> frozenset[str]:
    """The ``[server:main]`` keys these settings own (plus ``asyncore_use_poll``)."""
    return frozenset({*(_ini_key(s) for s in SERVER_SETTINGS), POLL})


class FileLimitError(Exception):
    """The hard open-file limit is below what the connection limit needs."""


def ensure_file_limit(connection_limit: int) -> tuple[int, int] | None:
    """Make the soft open-file limit (``ulimit -n``) fit ``connection_limit``.

    A server past its limit fails every ``accept()`` with EMFILE while the clients wait: raised to
    the hard limit when too low, refused with :class:`FileLimitError` when even that is too low.
    Returns ``(old, new)`` soft limits when it raised the limit (logged once logging is set up).
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows: no such limit to adjust
        return None
    needed = connection_limit + RESERVED_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return None
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise FileLimitError(
            f"benben.server.connection_limit {connection_limit} needs {needed} open files "
            f"({RESERVED_FILES} besides the connections), but this process may open at most "
            f"{hard} (hard limit, ulimit -Hn): lower the connection limit or raise the limit"
        )
    # Up to the hard limit: what the process may open besides connections then has room too.
    target = needed if hard == resource.RLIM_INFINITY else hard
    error: Exception | None = None
    for attempt in (target, needed):  # macOS: no more than OPEN_MAX below an infinite hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (attempt, hard))
        except (ValueError, OSError) as exc:
            error = exc
            continue
        return soft, attempt
    raise FileLimitError(
        f"benben.server.connection_limit {connection_limit} needs {needed} open files, but the "
        f"limit ({soft}) cannot be raised: {error}"
    )
