"""benben serve's listening sockets, opened before the app is loaded: a port in use is refused
before the app starts its embedded worker and scheduler, whose threads would otherwise run (and
log) while the refusal is printed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from benben.cli.common import EXIT_USAGE, CommandError, one_line


class LateApp:
    """The WSGI app waitress is given when it starts listening; ``app`` is set once loaded,
    before the server's loop runs (no request is read before then)."""

    def __init__(self) -> None:
        self.app: Callable[..., Iterable[bytes]] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None, "the server runs only once the app is loaded"
        return self.app(environ, start_response)


def listen(options: dict[str, Any]) -> tuple[Any, LateApp]:
    """waitress's server, bound and listening, and the app slot it calls."""
    import waitress.server

    late = LateApp()
    try:
        server = waitress.server.create_server(late, **options)
    except ValueError as exc:
        raise CommandError(f"invalid server option: {one_line(exc)}", EXIT_USAGE) from None
    except OSError as exc:
        where = options.get("listen") or f"{options['host']}:{options['port']}"
        raise CommandError(f"cannot listen on {where}: {one_line(exc)}") from None
    return server, late
