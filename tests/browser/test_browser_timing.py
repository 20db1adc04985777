"""How long the records page takes to draw 100 rows once the API has answered: reported, not
asserted (issue #18 asks for under 300 ms, measured in the browser).

The records page marks ``records-api-answered`` and ``records-rendered`` and measures
``records-render`` between them (the table built, in script). An observer of those marks also
forces style and layout right after ``records-rendered``, so the second figure includes what the
browser does before it can paint. The figures appear in the test summary (``browser timing``).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import pytest
from browser_support import LiveServer
from console_support import Console, sample_data

pytestmark = pytest.mark.slow

ROWS = 100
SAMPLES = 5
BUDGET_MS = 300  # issue #18's figure, printed next to the measures

# Runs in every page before its scripts: when the page marks records-rendered, force style and
# layout and note the time (an upper bound: the observer's callback may run a little later).
LAYOUT_OBSERVER = """
window.__recordsTimings = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.name !== "records-rendered") continue;
    const answered = performance.getEntriesByName("records-api-answered").at(-1);
    const render = performance.getEntriesByName("records-render").at(-1);
    document.body.getBoundingClientRect();  // style and layout, flushed now
    const rows = document.querySelectorAll("main table tbody tr").length;
    window.__recordsTimings.push({
      rows,
      render: render ? render.duration : null,
      layout: answered ? performance.now() - answered.startTime : null,
    });
  }
}).observe({ type: "mark", buffered: true });
"""


@pytest.fixture(scope="module")
def data(live: LiveServer) -> dict[str, Any]:
    return sample_data(live, records=ROWS)


def test_records_page_with_100_rows(
    page: Any,
    axe: Any,
    data: dict[str, Any],
    record_property: Callable[[str, object], None],
) -> None:
    page.add_init_script(LAYOUT_OBSERVER)
    console = Console(page)
    console.login(check=axe)
    page.goto(f"/admin/collections/books/records?_limit={ROWS}")  # the observer starts with it
    page.locator("#logout").wait_for()
    console.settle()
    wait_for_samples(page, 1)
    axe(page, "the records page with 100 rows")
    # Each sort reloads the same 100 rows in another order: one more sample each.
    header = page.get_by_role("button", name="Sort by year")
    for n in range(2, SAMPLES + 1):
        header.click()
        wait_for_samples(page, n)
    samples = page.evaluate("() => window.__recordsTimings")
    assert all(s["rows"] == ROWS for s in samples), samples
    resources = page.evaluate(
        """() => performance.getEntriesByType("resource")
              .filter((e) => e.name.includes("/records?"))
              .map((e) => e.responseEnd - e.requestStart)"""
    )
    line = summary(samples, resources)
    record_property("browser timing", line)
    print(line)


def wait_for_samples(page: Any, n: int) -> None:
    page.wait_for_function(f"() => window.__recordsTimings.length >= {n}")


def summary(samples: list[dict[str, float]], resources: list[float]) -> str:
    def figures(values: list[float]) -> str:
        return f"median {statistics.median(values):.1f} ms, max {max(values):.1f} ms"

    render = [s["render"] for s in samples]
    layout = [s["layout"] for s in samples]
    return (
        f"records page, {ROWS} rows, {len(samples)} loads: table built {figures(render)}; "
        f"with style and layout {figures(layout)} (budget {BUDGET_MS} ms after the API answers; "
        f"the API itself: {figures(resources)})"
    )
