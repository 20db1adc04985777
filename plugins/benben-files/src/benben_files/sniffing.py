"""An upload's media type, sniffed from its first bytes, never taken from the client.

The declared type (``Content-Type``) is only a hint: a client may say ``image/png`` of an
executable.  :func:`sniff` reads the first :data:`SNIFF_BYTES` and answers the type
attachments are checked against (a collection's allowed types) and served as:

1. signatures we are sure of (:data:`_SIGNATURES`: images, PDF, archives, executables) —
   *confident*: such a type contradicting a specific declared one is refused (415);
2. puremagic's guess (its many formats), when it names a type;
3. ``text/plain`` for valid UTF-8 without NUL;
4. else ``application/octet-stream``.

Two refinements keep useful types without trusting the client: a ZIP declared as one of the
formats built on ZIP (``.docx``, ``.epub``, ``.jar``...) keeps the declared type (puremagic
cannot tell them apart, and each is still a ZIP), and text declared as a harmless text format
(CSV, Markdown, JSON) keeps it.  Nothing becomes HTML or SVG unless its bytes are.
"""

from __future__ import annotations

import codecs
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

import puremagic

__all__ = [
    "OCTET_STREAM",
    "SNIFF_BYTES",
    "Sniffed",
    "contradicts",
    "normalize_type",
    "sniff",
    "type_allowed",
]

SNIFF_BYTES = 8192
OCTET_STREAM = "application/octet-stream"
TEXT = "text/plain"
ZIP = "application/zip"

# (offset, magic, type): checked in order, first match wins.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (8, b"WEBP", "image/webp"),  # after "RIFF" and the size, checked below
    (0, b"BM", "image/bmp"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"MZ", "application/vnd.microsoft.portable-executable"),
    (0, b"\x7fELF", "application/x-executable"),
    (0, b"\xcf\xfa\xed\xfe", "application/x-mach-binary"),
    (0, b"\xce\xfa\xed\xfe", "application/x-mach-binary"),
    (0, b"\xca\xfe\xba\xbe", "application/x-mach-binary"),
    (0, b"PK\x03\x04", ZIP),
    (0, b"PK\x05\x06", ZIP),
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"Rar!\x1a\x07", "application/vnd.rar"),
    (0, b"\x00asm", "application/wasm"),
)
# Formats that are ZIP files: a ZIP declared as one of these keeps the declared type.
_ZIP_BASED = frozenset(
    {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/epub+zip",
        "application/java-archive",
        "application/vnd.android.package-archive",
    }
)
# Text formats a browser never runs: text declared as one of these keeps the declared type.
_SAFE_TEXT = frozenset(
    {
        "text/csv",
        "text/markdown",
        "text/tab-separated-values",
        "text/calendar",
        "text/vcard",
        "application/json",
        "application/x-ndjson",
        "application/yaml",
    }
)
# Declared types that say nothing about the content.
_UNSPECIFIC = frozenset({"", OCTET_STREAM, "binary/octet-stream", TEXT, "application/unknown"})
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "application/x-pdf": "application/pdf",
    "application/x-zip-compressed": ZIP,
    "application/x-zip": ZIP,
    "application/x-gzip": "application/gzip",
    "application/x-msdownload": "application/vnd.microsoft.portable-executable",
    "application/x-dosexec": "application/vnd.microsoft.portable-executable",
}
# Top-level types whose subtypes clients confuse harmlessly (a JPEG sent as image/png).
_FAMILIES = ("image/", "audio/", "video/", "font/")


@dataclass(frozen=True)
class Sniffed:
    """The type an upload is stored and served as, and whether a signature proved it."""

    content_type: str
    confident: bool


def normalize_type(media_type: str | None) -> str:
    """``Image/JPG; charset=x`` -> ``image/jpeg``: lower case, no parameters, aliases."""
    base = (media_type or "").split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def _signature(head: bytes) -> str | None:
    for offset, magic, media_type in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            if media_type == "image/webp" and not head.startswith(b"RIFF"):
                continue
            if media_type == "image/bmp" and len(head) < 26:  # "BM" alone is often text
                continue
            return media_type
    return None


def _puremagic(head: bytes) -> str | None:
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return None
    for match in matches:
        # Their ZIP family guesses (every ZIP is "a .docx") are not worth a type.
        if match.mime_type and match.confidence >= 0.5:
            return normalize_type(match.mime_type)
    return None


def _is_text(head: bytes, complete: bool) -> bool:
    if not head or b"\x00" in head:
        return False
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        # A head cut within a character is still text: final only when the file ends here.
        decoder.decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def sniff(head: bytes, declared: str | None = None, *, complete: bool = False) -> Sniffed:
    """The type of content beginning with ``head`` (its first SNIFF_BYTES, or all of it when
    ``complete``), ``declared`` the client's Content-Type for the refinements only."""
    hint = normalize_type(declared)
    signed = _signature(head)
    if signed is not None:
        if signed == ZIP and hint in _ZIP_BASED:
            return Sniffed(hint, True)
        return Sniffed(signed, True)
    guessed = _puremagic(head)
    if guessed:
        return Sniffed(guessed, False)
    if _is_text(head, complete):
        return Sniffed(hint if hint in _SAFE_TEXT else TEXT, False)
    return Sniffed(OCTET_STREAM, False)


def contradicts(declared: str | None, sniffed: Sniffed) -> bool:
    """Whether a specific declared type is belied by a confident sniff (an executable sent
    as ``image/png``): then neither can be trusted, and the upload is refused.  A JPEG sent
    as ``image/png``, or anything sent as ``application/octet-stream``, is not."""
    hint = normalize_type(declared)
    if not sniffed.confident or hint in _UNSPECIFIC or hint == sniffed.content_type:
        return False
    if "/" not in hint or hint.endswith("/*"):
        return False
    for family in _FAMILIES:
        if hint.startswith(family) and sniffed.content_type.startswith(family):
            return False
    return not (sniffed.content_type == ZIP and (hint in _ZIP_BASED or hint.endswith("+zip")))


def type_allowed(media_type: str, patterns: Iterable[str]) -> bool:
    """Whether ``media_type`` matches one of ``patterns`` (``image/*``, ``application/pdf``,
    ``*/*``); no patterns: any type."""
    patterns = tuple(patterns)
    if not patterns:
        return True
    return any(fnmatch.fnmatchcase(media_type, pattern.lower()) for pattern in patterns)
