"""Sniffing: an upload's type comes from its bytes; the declared type only refines a ZIP or a
harmless text format, and a specific declared type belied by a signature is a contradiction."""

from __future__ import annotations

import io
import zipfile

import pytest
from files_support import EXE, gif_bytes, jpeg_bytes, png_bytes

from benben_files.sniffing import (
    OCTET_STREAM,
    SNIFF_BYTES,
    contradicts,
    normalize_type,
    sniff,
    type_allowed,
)


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "hello")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (png_bytes(), "image/png"),
        (jpeg_bytes(), "image/jpeg"),
        (gif_bytes(), "image/gif"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
        (EXE, "application/vnd.microsoft.portable-executable"),
        (b"\x7fELF\x02\x01\x01" + bytes(57), "application/x-executable"),
        (zip_bytes(), "application/zip"),
    ],
)
def test_signatures_are_confident(content: bytes, expected: str) -> None:
    sniffed = sniff(content[:SNIFF_BYTES], "text/plain", complete=True)
    assert sniffed.content_type == expected
    assert sniffed.confident


def test_text_and_unknown_bytes() -> None:
    assert sniff(b"hello, world\n", complete=True).content_type == "text/plain"
    assert sniff("h\u00e9llo".encode(), "image/png", complete=True).content_type == "text/plain"
    assert not sniff(b"hello", complete=True).confident
    assert sniff(b"hello\x00world", complete=True).content_type == OCTET_STREAM
    assert sniff(b"\xff\xfe\xfa", complete=True).content_type == OCTET_STREAM
    assert sniff(b"", complete=True).content_type == OCTET_STREAM
    # A head cut within a character is text; a complete file ending so is not.
    cut = ("a" * 10 + "é").encode()[:-1]
    assert sniff(cut).content_type == "text/plain"
    assert sniff(cut, complete=True).content_type == OCTET_STREAM


def test_html_is_html_whatever_is_declared() -> None:
    assert sniff(b"<!DOCTYPE html><html><script>", "text/plain").content_type == "text/html"


def test_declared_refines_only_zips_and_harmless_text() -> None:
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert sniff(zip_bytes(), docx).content_type == docx
    assert sniff(zip_bytes(), "image/png").content_type == "application/zip"
    assert sniff(b"a,b\n1,2\n", "text/csv", complete=True).content_type == "text/csv"
    assert sniff(b"a,b\n1,2\n", "text/html", complete=True).content_type == "text/plain"
    assert sniff(b'{"a": 1}', "application/json; charset=utf-8").content_type == (
        "application/json"
    )


def test_contradictions() -> None:
    exe = sniff(EXE)
    assert contradicts("image/png", exe)
    assert contradicts("application/pdf", exe)
    assert not contradicts("application/octet-stream", exe)
    assert not contradicts(None, exe)
    assert not contradicts("text/plain", sniff(png_bytes()))
    assert not contradicts("image/png", sniff(jpeg_bytes()))  # a mislabelled image is an image
    assert not contradicts("image/jpg", sniff(jpeg_bytes()))
    assert not contradicts("application/epub+zip", sniff(zip_bytes()))
    assert contradicts("image/png", sniff(zip_bytes()))
    assert not contradicts("image/png", sniff(b"plain text"))  # not confident


def test_types_allowed_by_patterns() -> None:
    assert type_allowed("image/png", [])
    assert type_allowed("image/png", ["image/*"])
    assert type_allowed("application/pdf", ["image/*", "application/pdf"])
    assert not type_allowed("application/x-executable", ["image/*"])
    assert not type_allowed("text/plain", ["image/*", "application/pdf"])
    assert type_allowed("text/plain", ["*/*"])


def test_normalize_type() -> None:
    assert normalize_type("Image/JPG; charset=binary") == "image/jpeg"
    assert normalize_type(None) == ""
