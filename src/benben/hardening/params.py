"""Request text that no database stores alike, refused for every route in one place.

PostgreSQL refuses a NUL character in text (a ``DataError``, which would be a 500) where SQLite
stores it; a lone surrogate is not UTF-8 at all.  Neither has a use in a URL or a header, so a
path segment, a query-string parameter (name or value) or a header holding one is a 400 naming
it, before the route's context factory or view does any work.  JSON bodies get the same rule
where they are parsed (:func:`benben.rest.loads_strict`).
"""

from __future__ import annotations

from collections.abc import Iterator

from pyramid.config import Configurator
from pyramid.events import BeforeTraversal

from benben.errors import invalid_input
from benben.rest import bad_text

__all__ = ["refuse_bad_text"]

_MESSAGE = "contains a NUL character or a lone surrogate"


def _path_segments(event: BeforeTraversal) -> Iterator[tuple[str, str]]:
    for name, value in (event.request.matchdict or {}).items():
        # A *stararg is a tuple of segments.
        for segment in value if isinstance(value, tuple) else (value,):
            yield str(name), str(segment)


def _headers(environ: dict[str, object], *, named: bool = True) -> Iterator[tuple[str, str]]:
    for key, value in environ.items():
        if key.startswith("HTTP_") and isinstance(value, str):
            yield (key[5:].replace("_", "-").title() if named else key), value


def refuse_bad_text(event: BeforeTraversal) -> None:
    """After the route matched, before its context: every parameter named in one 400."""
    request = event.request
    environ = request.environ
    # Every request pays for this: one scan of all its text, gathered inline (a generator per
    # source cost as much as the scan); naming the culprits only on a hit.
    texts = [
        value
        for key, value in environ.items()
        if key.startswith("HTTP_") and isinstance(value, str)
    ]
    for value in (request.matchdict or {}).values():
        # A *stararg is a tuple of segments.
        if isinstance(value, tuple):
            texts.extend(map(str, value))
        else:
            texts.append(str(value))
    if environ.get("QUERY_STRING"):  # request.GET parses nothing else
        texts.extend(text for pair in request.GET.items() for text in pair)
    if not bad_text("".join(texts)):
        return
    errors = [
        {"location": "path", "name": name, "message": _MESSAGE}
        for name, value in _path_segments(event)
        if bad_text(value)
    ]
    errors.extend(
        {"location": "querystring", "name": name, "message": _MESSAGE}
        for name, value in request.GET.items()
        if bad_text(name) or bad_text(value)
    )
    errors.extend(
        {"location": "header", "name": name, "message": _MESSAGE}
        for name, value in _headers(request.environ)
        if "\x00" in value
    )
    if errors:
        raise invalid_input(errors[:100])


def includeme(config: Configurator) -> None:
    config.add_subscriber(refuse_bad_text, BeforeTraversal)
