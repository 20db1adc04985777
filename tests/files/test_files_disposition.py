"""Content-Disposition: RFC 6266 filenames that no name can turn into a header injection, and
inline only for types a browser renders safely."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

import pytest
import webtest
from downloads_support import People, attach, create_record, people

from benben_files.disposition import content_disposition, disposition_type, is_inline_type


def parsed(header: str) -> tuple[str, str]:
    """The header's two filenames as a client reads them: the quoted fallback (unescaped) and
    the exact name of ``filename*`` (RFC 8187, decoded)."""
    match = re.fullmatch(
        r"(?:inline|attachment); filename=\"((?:[^\"\\]|\\.)*)\"; filename\*=UTF-8''([!-~]+)",
        header,
    )
    assert match is not None, header
    fallback = re.sub(r"\\(.)", r"\1", match[1])
    return fallback, unquote(match[2], errors="strict")


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ("résumé final.pdf", "resume final.pdf"),
        ('evil"name.txt', 'evil\\"name.txt'),
        ("back\\slash.txt", "back\\\\slash.txt"),
        ("日本語.png", "___.png"),
        ("ﬁle.txt", "file.txt"),  # a ligature, decomposed
        ("plain.txt", "plain.txt"),
    ],
)
def test_ascii_fallback_and_exact_name(name: str, fallback: str) -> None:
    header = content_disposition("attachment", name)
    assert header == f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    assert header.isascii()
    assert parsed(header)[1] == name


@pytest.mark.parametrize(
    "name",
    [
        "a\r\nSet-Cookie: session=stolen.txt",
        "a\rb\nc\x00d\x7fe\x85f.txt",
        "\u202etxt.exe",  # a right-to-left override
        "line\u2028break.txt",
        "bad\ud800surrogate.txt",
    ],
)
def test_control_characters_never_reach_the_header(name: str) -> None:
    header = content_disposition("inline", name)
    assert header.isascii()
    assert all(" " <= char <= "~" for char in header), header
    assert "\u202e" not in unquote(header.split("''", 1)[1])
    assert header.count(";") == 2  # no parameter smuggled in


def test_a_name_of_nothing_printable_is_download() -> None:
    assert content_disposition("attachment", "\x00\r\n") == (
        "attachment; filename=\"download\"; filename*=UTF-8''download"
    )


def test_only_known_disposition_types() -> None:
    with pytest.raises(ValueError, match="disposition"):
        content_disposition("inline; x=1", "a.txt")


@pytest.mark.parametrize(
    ("content_type", "inline"),
    [
        ("image/png", True),
        ("image/jpeg", True),
        ("image/svg+xml", False),  # may carry script
        ("IMAGE/SVG+XML; charset=utf-8", False),
        ("application/pdf", True),
        ("text/plain", True),
        ("text/plain; charset=utf-8", True),
        ("audio/mpeg", True),
        ("video/mp4", True),
        ("text/html", False),
        ("application/xhtml+xml", False),
        ("application/javascript", False),
        ("application/octet-stream", False),
        ("application/json", False),
        ("text/xml", False),
    ],
)
def test_inline_types(content_type: str, inline: bool) -> None:
    assert is_inline_type(content_type) is inline
    assert disposition_type(content_type) == ("inline" if inline else "attachment")
    assert disposition_type(content_type, download=True) == "attachment"


# -- through the API --------------------------------------------------------------------------


@pytest.fixture
def who(app: webtest.TestApp) -> People:
    who = people(app)
    create_record(app, who.alice)
    return who


@pytest.mark.parametrize(
    "name", ["résumé final.pdf", 'evil"name.txt', "a\r\nSet-Cookie: x=1.txt", "%2e%2e.txt"]
)
def test_served_names(app: webtest.TestApp, who: People, name: str) -> None:
    # Written straight into the database: an upload would have refused the CR/LF already.
    stored = attach(app.app.registry, b"%PDF-1.4", name=name, content_type="application/pdf")
    response = app.get(stored.url(), headers=who.alice, status=200)
    header = response.headers["Content-Disposition"]
    assert header.startswith("inline; filename=")
    assert "Set-Cookie" not in response.headers
    assert all(" " <= char <= "~" for char in header)
    expected = "".join(char for char in name if char not in "\r\n")
    assert parsed(header)[1] == expected


@pytest.mark.parametrize(
    ("content_type", "disposition", "served_as"),
    [
        ("image/png", "inline", "image/png"),
        ("image/svg+xml", "attachment", "image/svg+xml"),
        ("text/html", "attachment", "text/html"),
        ("text/plain", "inline", "text/plain; charset=utf-8"),
        ("application/pdf", "inline", "application/pdf"),
        ("application/x-msdownload", "attachment", "application/x-msdownload"),
    ],
)
def test_inline_or_attachment_by_type(
    app: webtest.TestApp, who: People, content_type: str, disposition: str, served_as: str
) -> None:
    stored = attach(app.app.registry, b"<svg onload=alert(1)>", name="f", content_type=content_type)
    response = app.get(stored.url(), headers=who.alice, status=200)
    assert response.headers["Content-Disposition"].startswith(f"{disposition};")
    assert response.headers["Content-Type"] == served_as
    # Whatever the type, the browser sniffs nothing and runs nothing of the file's.
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    saved = app.get(stored.url() + "?download=1", headers=who.alice, status=200)
    assert saved.headers["Content-Disposition"].startswith("attachment;")
