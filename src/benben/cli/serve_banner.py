"""What ``benben serve`` prints once it listens: where to go, where the data is, which database
and cache serve (never a password); the same lines whichever server runs the app."""

from __future__ import annotations

from typing import Any

from benben.cli.datadir import (
    describe_database,
    embedded_database,
    record_data_dir,
    recorded_data_dir,
)

__all__ = ["listen_url", "reachable", "start_banner"]


def start_banner(registry: Any, base_url: str) -> list[str]:
    """The lines after "serving on": where to go (from ``benben.public_url`` when set), where the
    data is, what database and cache are used (never with a password).  Records the embedded
    database's directory for the other commands (:mod:`benben.cli.datadir`)."""
    settings = registry.settings if registry is not None else {}
    base = (settings.get("benben.public_url") or base_url).rstrip("/")
    rows = [("home", f"{base}/")]
    if _has_console(registry):
        rows.append(("console", f"{base}/admin/"))
        # Imported here: the other commands need neither (nor their imports).
        from benben.accounts.bootstrap import FIRST_ADMIN_KEY
        from benben.auth.setup import setup_url

        if registry.get(FIRST_ADMIN_KEY) == "hint":
            # No user yet: where the newcomer creates the first administrator.
            rows.append(("setup", setup_url(registry, base)))
    rows += [
        ("API", f"{base}/api/v1/"),
        ("API docs", f"{base}/api/v1/docs"),
        ("OpenAPI", f"{base}/api/v1/openapi.json"),
        ("health", f"{base}/health/ready"),
    ]
    notes = []
    if "benben.data_dir" in settings:
        rows.append(("data", settings["benben.data_dir"]))
        rows.append(("database", describe_database(settings)))
        rows.append(("cache", _describe_cache(settings)))
        database = embedded_database(settings)
        if database is not None:
            earlier = recorded_data_dir()
            if earlier and earlier != database.parent and (earlier / database.name).exists():
                notes.append(
                    f"  note: the last benben serve used the database in {earlier}; this one "
                    f"is another ({database.parent})"
                )
            record_data_dir(database.parent)
    width = max(len(name) for name, _ in rows)
    return [f"  {name.ljust(width)}  {value}" for name, value in rows] + notes


def _has_console(registry: Any) -> bool:
    """Whether the admin console (a plugin, route ``admin.console``) is served."""
    if not hasattr(registry, "queryUtility"):
        return False
    from pyramid.interfaces import IRoutesMapper

    from benben.landing import ADMIN_CONSOLE_ROUTE

    mapper = registry.queryUtility(IRoutesMapper)
    return mapper is not None and mapper.get_route(ADMIN_CONSOLE_ROUTE) is not None


def _describe_cache(settings: Any) -> str:
    backend = settings.get("benben.cache.backend", "memory")
    if backend == "redis":
        return f"redis {_redact(str(settings.get('benben.cache.url', '')))}"
    return {"memory": "memory (in this process)", "null": "none"}.get(backend, backend)


def _redact(url: str) -> str:
    """A URL with its password replaced, as ``benben config`` never shows one."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def reachable(host: str, port: int) -> tuple[str, int]:
    """Where a browser on this machine reaches a wildcard address."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host), port  # noqa: S104


def listen_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
