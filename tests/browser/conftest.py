"""Fixtures of the console's browser tests: one live server per test module, one Chromium per
worker, a fresh browser context per test whose console errors, failed requests and CSP violations
fail the test, and ``axe`` (axe-core on the page as it is now)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from browser_support import (
    CHROMIUM,
    CSP_LISTENER,
    TIMEOUT_MS,
    BrowserReport,
    LiveServer,
    attach,
    axe_violations,
    chromium_missing,
    launch_args,
    path_of,
)

from benben.testing_services import unavailable


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    why = chromium_missing()
    if why:
        unavailable(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=launch_args()
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[LiveServer]:
    """The module's server (``browser`` first: without Chromium nothing starts)."""
    server = LiveServer(tmp_path_factory.mktemp("serve"))
    yield server
    server.stop()


@pytest.fixture
def report() -> BrowserReport:
    return BrowserReport()


def new_context(browser: Any, live: LiveServer, report: BrowserReport, **options: Any) -> Any:
    """A browser context reporting CSP violations to ``report`` (no bypass_csp: the console's
    policy is what is tested)."""
    options.setdefault("viewport", {"width": 1280, "height": 800})
    context = browser.new_context(base_url=live.url, **options)
    context.set_default_timeout(TIMEOUT_MS)
    context.expose_binding("__benbenCspViolation", report.on_csp_violation)
    context.add_init_script(CSP_LISTENER)
    context.on("page", lambda page: attach(page, report))
    return context


@pytest.fixture
def context(browser: Any, live: LiveServer, report: BrowserReport) -> Iterator[Any]:
    context = new_context(browser, live, report)
    yield context
    context.close()


@pytest.fixture
def page(context: Any, report: BrowserReport) -> Iterator[Any]:
    """A page of the test's context; what the browser reported fails the test at teardown."""
    page = context.new_page()
    yield page
    problems = report.problems()
    if problems:
        pytest.fail("the browser reported:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def axe(report: BrowserReport) -> Callable[..., None]:
    """``axe(page)``: zero axe-core violations on the page as it is now (wait for it to render
    first); the path counts as checked."""

    def check(page: Any, label: str = "") -> None:
        found = axe_violations(page)
        report.checked.add(path_of(page.url))
        assert found is None, f"axe-core on {label or page.url}:\n{found}"

    return check
