"""The harness itself: a CSP violation, an uncaught error and an axe-core finding are caught, so
that the console's flows passing means something."""

from __future__ import annotations

from typing import Any

import pytest
from browser_support import BrowserReport, LiveServer, axe_violations

pytestmark = pytest.mark.slow


def test_landing_page_is_clean(page: Any, live: LiveServer, axe: Any) -> None:
    page.goto("/")
    assert page.title()
    axe(page, "the landing page")


def test_csp_violation_is_caught(page: Any, report: BrowserReport) -> None:
    page.goto("/")
    # What a careless page module could do: an inline script and an inline style attribute.
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.ran = true";
          document.body.append(script);
          document.body.setAttribute("style", "color: red");
        }"""
    )
    page.wait_for_function("() => true")
    assert page.evaluate("() => window.ran === undefined")
    directives = " ".join(report.csp_violations)
    assert "script-src" in directives, report.csp_violations
    assert "style-src" in directives, report.csp_violations
    report.csp_violations.clear()  # caught: this test's teardown must not fail for it


def test_uncaught_error_and_axe_finding_are_caught(page: Any, report: BrowserReport) -> None:
    page.goto("/")
    page.evaluate("() => setTimeout(() => { throw new Error('boom') }, 0)")
    # Told to Playwright asynchronously: wait for it rather than for a fixed time.
    for _ in range(100):
        if any("boom" in e for e in report.page_errors):
            break
        page.wait_for_timeout(20)
    assert any("boom" in e for e in report.page_errors), report.page_errors
    report.page_errors.clear()
    page.evaluate(
        """() => { const i = document.createElement("input"); document.body.append(i); }"""
    )
    assert "label" in (axe_violations(page) or "")
