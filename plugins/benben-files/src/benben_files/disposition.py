"""``Content-Disposition`` for served files (RFC 6266), with a safe filename.

A stored name is already sanitised on upload (no path, no control characters, NFC), but what
goes into a header is made safe here again, whatever the name: a header is the last place where
a stray CR/LF would let a name inject a header of its own.

The header carries two filenames (RFC 6266 section 4.3): ``filename="..."``, an ASCII fallback
(accents dropped, other non-ASCII characters replaced by ``_``, quotes and backslashes escaped),
and ``filename*=UTF-8''...``, the exact name percent-encoded (RFC 8187, formerly RFC 5987),
which every current browser prefers.

Whether a file is shown in the browser (``inline``) or saved (``attachment``) depends on its
sniffed type: only types a browser renders without running the file's own script are inline.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

__all__ = ["content_disposition", "disposition_type", "is_inline_type"]

# RFC 8187 attr-char, what ``filename*`` keeps unescaped besides letters and digits.
_ATTR_CHAR_SAFE = "!#$&+-.^_`|~"
# Types a browser renders without executing anything of the file's (SVG and HTML can carry
# script: those are always downloads, even though our CSP sandbox would stop the script).
_INLINE_TYPES = frozenset({"application/pdf", "text/plain"})
_INLINE_FAMILIES = ("image/", "audio/", "video/")
_NOT_INLINE = frozenset({"image/svg+xml"})
FALLBACK_NAME = "download"
# Control, format (bidi overrides, zero-width), surrogate, line and paragraph separators.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def is_inline_type(content_type: str) -> bool:
    """Whether a file of this (sniffed) media type may be shown inline by a browser."""
    media = content_type.partition(";")[0].strip().lower()
    if media in _NOT_INLINE:
        return False
    return media in _INLINE_TYPES or media.startswith(_INLINE_FAMILIES)


def disposition_type(content_type: str, *, download: bool = False) -> str:
    """``inline`` for a type safe to render, unless the client asked for a ``download``."""
    return "inline" if not download and is_inline_type(content_type) else "attachment"


def content_disposition(disposition: str, filename: str) -> str:
    """The header's value: ``disposition`` (``inline``/``attachment``) with both filenames."""
    if disposition not in ("inline", "attachment"):
        raise ValueError(f"not a disposition type: {disposition!r}")
    name = _printable(filename) or FALLBACK_NAME
    encoded = quote(name, safe=_ATTR_CHAR_SAFE, encoding="utf-8", errors="strict")
    return f"{disposition}; filename=\"{_ascii_fallback(name)}\"; filename*=UTF-8''{encoded}"


def _printable(name: str) -> str:
    # None of these has a place in a file name (lone surrogates are not even UTF-8).
    return "".join(
        char
        for char in unicodedata.normalize("NFC", name)
        if unicodedata.category(char) not in _UNPRINTABLE
    ).strip()


def _ascii_fallback(name: str) -> str:
    # "résumé" -> "resume": a decomposed letter keeps its base, loses its accent.
    decomposed = unicodedata.normalize("NFKD", name)
    kept = "".join(char for char in decomposed if not unicodedata.combining(char))
    ascii_name = "".join(char if " " <= char <= "~" else "_" for char in kept)
    # A quoted-string (RFC 9110 section 5.6.4): only '"' and '\' need escaping.
    return ascii_name.replace("\\", "\\\\").replace('"', '\\"')
