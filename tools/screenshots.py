"""Regenerate the console's screenshots in docs/images/ (console-<page>-<theme>.png).

Usage: .venv/bin/python tools/screenshots.py [--out DIR] [--only NAME ...]

Starts a ``benben serve`` of its own in a scratch directory (SQLite, the first administrator from
BENBEN_ADMIN_PASSWORD), fills it with sample data through the API, logs in through the console
with Debian's Chromium (Playwright, no downloaded browser) and photographs the main pages in the
light and the dark theme. Run it after a visible change to the console; the PNGs are committed.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The browser tests' helpers (the live server, the Chromium launch, the console's login) serve
# the screenshots too, so that what the docs show is what the tests drive.
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "browser")]

from browser_support import CHROMIUM, LiveServer, chromium_missing, launch_args  # noqa: E402
from console_support import Console, sample_data  # noqa: E402

VIEWPORT = {"width": 1280, "height": 800}
THEMES = ("light", "dark")


def pages(data: dict[str, Any]) -> list[tuple[str, str, Callable[[Any], None]]]:
    """(name, path, what brings the page to the state shown, waiting until it is drawn)."""
    cid, rid = data["collection"], data["record"]

    def heading(pattern: str) -> Callable[[Any], None]:
        return lambda page: page.get_by_role("heading", name=re.compile(pattern)).first.wait_for()

    def table(page: Any) -> None:
        page.locator("main table tbody tr").first.wait_for()

    def history_tab(page: Any) -> None:
        page.get_by_role("tab", name="History").click()
        page.get_by_role("tabpanel", name="History").get_by_role("deletion").first.wait_for()

    return [
        ("home", "/admin/", heading("^Welcome")),
        ("collections", "/admin/collections", table),
        ("collection", f"/admin/collections/{cid}", heading(f"^{data['title']}$")),
        ("records", f"/admin/collections/{cid}/records?_sort=-year", table),
        ("record", f"/admin/collections/{cid}/records/{rid}", heading(f"^{rid}$")),
        ("record-history", f"/admin/collections/{cid}/records/{rid}", history_tab),
        ("users", "/admin/users", table),
        ("tokens", "/admin/tokens", table),
    ]


def shoot(out: Path, only: set[str]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written: list[Path] = []
    with tempfile.TemporaryDirectory() as scratch:
        live = LiveServer(Path(scratch))
        try:
            data = sample_data(live)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=launch_args()
                )
                context = browser.new_context(base_url=live.url, viewport=VIEWPORT)
                page = context.new_page()
                console = Console(page)
                console.login()
                for name, path, ready in pages(data):
                    if only and name not in only:
                        continue
                    console.open(path)
                    ready(page)
                    for theme in THEMES:
                        console.set_theme(theme)
                        # No focus ring or hover on the theme button in the picture.
                        page.evaluate("() => document.activeElement?.blur()")
                        page.mouse.move(0, VIEWPORT["height"] - 1)
                        target = out / f"console-{name}-{theme}.png"
                        page.screenshot(path=str(target))
                        optimize(target)
                        written.append(target)
                browser.close()
        finally:
            live.stop()
    return written


def optimize(path: Path) -> None:
    """Recompress the PNG (Chromium favours speed over size); the pixels stay the same."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as image:
        image.load()
    image.save(path, optimize=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--only", nargs="*", default=[], help="page names (default: all)")
    args = parser.parse_args(argv)
    why = chromium_missing()
    if why:
        print(f"screenshots: {why}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    for path in shoot(args.out, set(args.only)):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
