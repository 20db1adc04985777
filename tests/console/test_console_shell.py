"""The console's shell: one HTML document for every client-side route, under the strict CSP, with
its boot data as inert JSON, and the assets it names served with long cache lifetimes."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

VENDOR = (
    Path(__file__).parents[2]
    / "plugins"
    / "benben-console"
    / "src"
    / "benben_console"
    / "static"
    / "vendor"
)
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def boot_config(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="console-config">(.*?)</script>', html)
    assert found, "no console-config"
    return json.loads(found.group(1))


@pytest.mark.parametrize("path", ["/admin/", "/admin/users", "/admin/anything/deep/er?x=1"])
def test_every_console_path_answers_the_shell_under_the_strict_csp(app, path):
    response = app.get(path)
    assert response.content_type == "text/html"
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["Cache-Control"] == "no-cache"
    # Nothing inline a CSP would block: no inline script bodies but the inert JSON, no style attr.
    html = response.text
    assert "style=" not in html
    for script in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
        attrs, body = script
        assert 'type="application/json"' in attrs or (body == "" and "src=" in attrs)
    config = boot_config(html)
    assert config["base"] == "/admin/"
    assert config["session"] == "/admin/session"
    assert config["client"] == "/client/benben.js"
    assert {p["name"] for p in config["plugins"]} >= {"console"}


def test_admin_without_slash_redirects(app):
    assert app.get("/admin", status=308).headers["Location"].endswith("/admin/")


def test_the_landing_page_links_the_console(app):
    assert 'href="http://localhost/admin/"' in app.get("/").text


def test_boot_data_cannot_close_its_script_element():
    from benben_console.shell import _script_json

    text = _script_json({"x": "</script><script>alert(1)</script>&"})
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert json.loads(text) == {"x": "</script><script>alert(1)</script>&"}


def test_assets_are_served_under_a_versioned_url_cached_a_year(app):
    html = app.get("/admin/").text
    static = boot_config(html)["static"]
    assert re.fullmatch(r"/admin/static/[0-9a-f]{16}", static)
    for asset, media_type in [
        ("/js/app.js", "text/javascript"),
        ("/css/console.css", "text/css"),
        ("/vendor/bootstrap-5.3.8/css/bootstrap.min.css", "text/css"),
        ("/vendor/bootstrap-icons-1.13.2/font/fonts/bootstrap-icons.woff2", "font/woff2"),
    ]:
        response = app.get(static + asset)
        assert response.content_type == media_type
        assert response.headers["Cache-Control"] == "max-age=31536000"


def test_an_old_asset_version_is_a_404_not_the_shell(app):
    response = app.get("/admin/static/0000000000000000/js/app.js", status=404)
    assert response.content_type == "application/problem+json"


def test_vendored_files_match_their_checksums():
    listed = {}
    for line in (VENDOR / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    present = {
        p.relative_to(VENDOR).as_posix()
        for p in VENDOR.rglob("*")
        if p.is_file() and p.name != "SHA256SUMS"
    }
    assert present == set(listed), "every vendored file is listed, and only those"
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    # Their licences ship with them.
    assert {"bootstrap-5.3.8/LICENSE", "bootstrap-icons-1.13.2/LICENSE"} <= present
