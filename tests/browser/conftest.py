"""Fixtures of the console's browser tests: one live server per test module, one Chromium per
worker, a fresh browser context per test whose console errors, failed requests and CSP violations
fail the test, and ``axe`` (axe-core on the page as it is now)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from browser_support import (
    CHROMIUM,
    BrowserReport,
    LiveServer,
    axe_violations,
    chromium_missing,
    launch_args,
    new_context,
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


@pytest.fixture(scope="module")
def axe_coverage(request: pytest.FixtureRequest) -> Iterator[tuple[set[str], set[str]]]:
    """The console pages the module's tests showed, and those axe-core checked: every page shown
    must be checked by one of the module's tests (not by each: a login on the way to a test's
    page is checked once). Not when only some tests run (-k, a node id): they may skip the one
    that checks."""
    visited: set[str] = set()
    checked: set[str] = set()
    yield visited, checked
    selected = request.config.getoption("keyword") or any(
        "::" in arg for arg in request.config.args
    )
    unchecked = sorted(visited - checked)
    if unchecked and not selected:
        pytest.fail(f"pages shown but never checked by axe-core: {unchecked}", pytrace=False)


@pytest.fixture
def report(axe_coverage: tuple[set[str], set[str]]) -> Iterator[BrowserReport]:
    """What the browser reported during the test, in any of its pages: anything fails it."""
    report = BrowserReport()
    yield report
    axe_coverage[0].update(report.visited)
    axe_coverage[1].update(report.checked)
    problems = report.problems()
    if problems:
        pytest.fail("the browser reported:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def context(browser: Any, live: LiveServer, report: BrowserReport) -> Iterator[Any]:
    context = new_context(browser, live, report)
    yield context
    context.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


@pytest.fixture
def axe(report: BrowserReport) -> Callable[..., None]:
    """``axe(page, label)``: axe-core on the page as it is now (wait for it to render first). Its
    findings fail the test at teardown, with those of every other page the test visits, so that
    one run lists them all; the path counts as checked."""

    def check(page: Any, label: str = "") -> None:
        found = axe_violations(page)
        report.checked.add(path_of(page.url))
        if found is not None:
            report.accessibility.append(f"axe-core on {label or page.url}:\n{found}")

    return check


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The browser timings (test_browser_timing.py) in the summary, with or without -s: they are
    reported, not asserted. user_properties travel from xdist's workers with the reports."""
    lines = [
        f"{report.nodeid}: {value}"
        for report in terminalreporter.stats.get("passed", [])
        if report.when == "call"
        for name, value in report.user_properties
        if name == "browser timing"
    ]
    if lines:
        terminalreporter.section("browser timing")
        for line in lines:
            terminalreporter.write_line(line)
