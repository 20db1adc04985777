"""Attachment names: what a record's file may be called, whoever named it.

A name is a key of the record's ``attachments`` member, a path segment of its download URL and
the filename a browser saves: it must never reach outside its place (no ``/`` or ``\\``, no
``.`` or ``..``), hide what it is (bidi overrides turning ``gpj.exe`` into ``exe.jpg``) or break
a header (control characters).  Two rules:

- a name the client gives (``?name=``, a ``name`` form field, the URL's ``{name}``, a raw
  body's ``Content-Disposition``) is taken as it is once NFC-normalised, or refused (400 naming
  the parameter) when it would need any other change: silently storing another name than the
  one asked for would surprise the client that then asks for it;
- a multipart part's ``filename`` is what a browser sends (``C:\\fakepath\\photo.png``, a
  whole path from old browsers): it is sanitised into a name instead, refused only when
  nothing is left.
"""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_NAME_BYTES", "InvalidName", "check_name", "sanitize_filename"]

MAX_NAME_BYTES = 255
# Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and marks:
# they make a name display as another one.
_BIDI = frozenset(
    chr(code) for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)
)
# Line and paragraph separators break lines like control characters do.
_SEPARATORS = frozenset("\u2028\u2029")


class InvalidName(ValueError):  # noqa: N818 - a refusal's reason, shown to the client
    """A name that cannot be an attachment's; ``str()`` says why, for the problem."""


def _is_control(char: str) -> bool:
    # Cc: C0 (U+0000-U+001F), DEL and C1 (U+007F-U+009F).
    return unicodedata.category(char) == "Cc" or char in _BIDI or char in _SEPARATORS


def _basename(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def _trim(name: str) -> str:
    # Windows drops trailing dots and spaces; leading dots hide a file, spaces confuse people.
    return name.strip(" .")


def _truncate(name: str) -> str:
    """At most MAX_NAME_BYTES of UTF-8, the extension kept (when short), whole characters."""
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension.encode()) > 32:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    budget = MAX_NAME_BYTES - len(suffix.encode())
    stem = stem.encode()[:budget].decode("utf-8", "ignore")
    return _trim(stem) + suffix


def check_name(given: str) -> str:
    """The client-given ``given`` as the attachment's name (NFC), or InvalidName."""
    name = unicodedata.normalize("NFC", given)
    if not name:
        raise InvalidName("must not be empty")
    if "/" in name or "\\" in name:
        raise InvalidName("must be a file name, without / or \\")
    if any(_is_control(char) for char in name):
        raise InvalidName(
            "must not contain control characters (C0, C1, DEL), line separators or "
            "bidirectional overrides"
        )
    if name in (".", ".."):
        raise InvalidName("must not be . or ..")
    if _trim(name) != name:
        raise InvalidName("must not begin or end with a space or a dot")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise InvalidName(f"must be at most {MAX_NAME_BYTES} bytes in UTF-8")
    return name


def sanitize_filename(filename: str) -> str:
    """A multipart part's ``filename`` made a name: NFC, the last path segment, control
    characters removed, spaces and dots trimmed at the ends, cut to 255 bytes; InvalidName
    when nothing is left (``..``, ``C:\\``)."""
    name = _basename(unicodedata.normalize("NFC", filename))
    name = _trim("".join(char for char in name if not _is_control(char)))
    name = _truncate(name)
    if not name or name in (".", ".."):
        raise InvalidName("leaves no file name once its path and control characters are removed")
    return check_name(name)
