"""Attachment names: client-given names taken as they are (NFC) or refused, browsers'
filenames sanitised; nothing can reach outside its place or pass for another name."""

from __future__ import annotations

import unicodedata

import pytest

from benben_files.names import MAX_NAME_BYTES, InvalidName, check_name, sanitize_filename


@pytest.mark.parametrize(
    "name", ["photo.png", "résumé.pdf", "a b.txt", "日本語.txt", "x" * MAX_NAME_BYTES, "a..b"]
)
def test_plain_names_are_kept(name: str) -> None:
    assert check_name(name) == name
    assert sanitize_filename(name) == name


def test_names_are_nfc_normalised() -> None:
    decomposed = unicodedata.normalize("NFD", "résumé.pdf")
    assert decomposed != "résumé.pdf"
    assert check_name(decomposed) == "résumé.pdf"
    assert sanitize_filename(decomposed) == "résumé.pdf"


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("", "empty"),
        (".", ". or .."),
        ("..", ". or .."),
        ("../../etc/passwd", "without /"),
        ("..\\x", "without /"),
        ("a/b", "without /"),
        ("bad\x00name", "control"),
        ("bad\nname", "control"),
        ("bad\x7fname", "control"),
        ("bad\x85name", "control"),
        ("invoice\u202egpj.exe", "bidirectional"),
        ("x\u2066y", "bidirectional"),
        ("x\u2028y", "separators"),
        (" lead.txt", "space or a dot"),
        ("trail.txt.", "space or a dot"),
        (".hidden", "space or a dot"),
        ("x" * (MAX_NAME_BYTES + 1), "255 bytes"),
        ("é" * 128, "255 bytes"),  # 256 bytes in UTF-8
    ],
)
def test_client_names_needing_changes_are_refused(given: str, reason: str) -> None:
    with pytest.raises(InvalidName, match=reason):
        check_name(given)


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("C:\\fakepath\\photo.png", "photo.png"),
        ("/home/me/photo.png", "photo.png"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("in\x00voice\r\n.pdf", "invoice.pdf"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("  .report.pdf. ", "report.pdf"),
    ],
)
def test_browser_filenames_are_sanitised(filename: str, expected: str) -> None:
    assert sanitize_filename(filename) == expected


@pytest.mark.parametrize("filename", ["..", "C:\\", "a/..", "\u202e", " . ", "dir/"])
def test_filenames_leaving_nothing_are_refused(filename: str) -> None:
    with pytest.raises(InvalidName):
        sanitize_filename(filename)


def test_long_filenames_are_cut_keeping_their_extension() -> None:
    name = sanitize_filename("é" * 300 + ".jpeg")
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert name.endswith("é.jpeg")
    assert check_name(name) == name
