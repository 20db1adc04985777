"""Response header names sent as the application spells them: ``ETag``, not waitress's ``Etag``.

waitress rewrites every response header name to ``Capitalized-Words`` (``Etag``,
``X-Request-Id``, ``Www-Authenticate``). HTTP names are case-insensitive, but people read and
grep them (``grep '^ETag:'``) as the standards and our docs spell them, so ``benben serve``
writes the application's own spelling back over waitress's. Only the spelling changes: waitress
still decides which headers are sent and in what order.
"""

from __future__ import annotations

from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer
from waitress.server import create_server as waitress_create_server
from waitress.task import WSGITask

__all__ = ["create_server"]


class _SpellingTask(WSGITask):
    def build_response_header(self) -> bytes:
        # Read before waitress replaces response_headers with its normalized names.
        spelled = {name.lower(): name for name, _value in self.response_headers}
        head: bytes = super().build_response_header()
        lines = head.decode("latin-1").split("\r\n")
        for index, line in enumerate(lines[1:], start=1):  # lines[0] is the status line
            name, colon, value = line.partition(": ")
            if colon:
                lines[index] = f"{spelled.get(name.lower(), name)}{colon}{value}"
        return "\r\n".join(lines).encode("latin-1")


class _SpellingChannel(HTTPChannel):
    task_class = _SpellingTask


def create_server(app: Any, **options: Any) -> Any:
    """waitress's ``create_server``, its listening servers answering with ``_SpellingTask``."""
    dispatchers: dict[int, Any] = {}
    server = waitress_create_server(app, map=dispatchers, **options)
    # One listening server per socket (several with ``listen``), each registered in the map.
    for dispatcher in dispatchers.values():
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.channel_class = _SpellingChannel
    return server
