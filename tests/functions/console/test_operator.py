"""The console's operator view in Chromium: the token checked before anything is shown,
a failed load test explained endpoint by endpoint, the latency chart, narrow tables.

The token check runs against the local stack; load-test runs and alerts are canned
answers (tests/functions/console/pages.py), so a failing run is certain.
`CONSOLE_OPERATOR_SCREENSHOT=path` keeps a picture of the failed run's details there."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from tests.conftest import E2E_ADMIN_TOKEN
from tests.functions.console.pages import AGENTS, CHAT, SESSIONS, Console, answer_operator_routes

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PERCENTILES = ("p50", "p95", "p99")

# How many lines each text of the cells takes (a word broken letter by letter takes many).
CELL_LINES = """(selector) => [...document.querySelectorAll(selector)].flatMap((cell) => {
  const texts = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  const lines = [];
  for (let text = texts.nextNode(); text; text = texts.nextNode()) {
    if (!text.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(text);
    const tops = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
    lines.push([text.textContent.trim(), tops.size]);
  }
  return lines;
})"""


def use_token(console: Console, value: str) -> None:
    page = console.page
    page.locator("#operator-token").fill(value)
    page.locator("#operator-form button[type=submit]").click()


def test_a_wrong_operator_token_hides_the_panels_and_disables_the_run(console: Console) -> None:
    page = console.page
    console.load("/#operator")
    use_token(console, E2E_ADMIN_TOKEN)
    page.locator("#operator-content:not([hidden])").wait_for()
    enabled_with_the_right_token = page.locator("#loadtest-run").is_enabled()

    use_token(console, "not-the-operator-token")
    notice = page.get_by_role("alert")
    notice.wait_for()

    assert enabled_with_the_right_token
    assert "operator token was refused" in (notice.text_content() or "")
    assert page.locator("#operator-content").is_hidden()
    assert page.locator("#loadtest-run").is_disabled()
    assert page.evaluate("sessionStorage.getItem('agentPlatform.operatorToken')") is None
    assert console.errors("status of 401") == []


def test_a_stored_token_that_is_refused_shows_no_panel(console: Console) -> None:
    page = console.page
    console.load()
    page.evaluate("sessionStorage.setItem('agentPlatform.operatorToken', 'stale-token')")

    page.get_by_role("tab", name="Operator").click()
    page.get_by_role("alert").wait_for()

    assert page.locator("#operator-content").is_hidden()
    assert page.locator("#loadtest-run").is_disabled()
    assert console.errors("status of 401") == []


def test_a_failed_load_test_says_which_endpoint_breached_which_slo(console: Console) -> None:
    page = console.page
    asked = answer_operator_routes(page)
    console.load("/#operator")
    use_token(console, E2E_ADMIN_TOKEN)
    page.locator("#loadtest-result:not([hidden])").wait_for()
    progress_before_a_run = page.locator("#loadtest-progress").is_visible()

    page.get_by_role("button", name="Run load test").click()
    page.locator("#loadtest-progress[data-state=done]").wait_for()
    breaches = page.locator("#loadtest-breaches li")
    breaches.first.wait_for()
    breach_lines = breaches.all_text_contents()
    rows = page.locator("#loadtest-endpoints tbody tr")
    row_names = rows.locator("th[scope=row]").all_text_contents()
    headers = page.locator("#loadtest-endpoints thead th").all_text_contents()
    agents_row = rows.filter(has_text=AGENTS)
    breached = agents_row.locator("td[data-breach]")
    if os.environ.get("CONSOLE_OPERATOR_SCREENSHOT"):  # docs/images/console-loadtest.png
        page.locator("#loadtest-result").screenshot(path=os.environ["CONSOLE_OPERATOR_SCREENSHOT"])

    assert not progress_before_a_run
    assert asked["posted"][0]["scenario"] == "light"
    assert len(breach_lines) == 3
    assert AGENTS in breach_lines[0]
    assert "p95" in breach_lines[0]
    assert "1,234 ms" in breach_lines[0]
    assert "800 ms" in breach_lines[0]
    assert CHAT in breach_lines[1]
    assert "p99" in breach_lines[1]
    assert "failure" in breach_lines[2]
    assert sorted(row_names) == sorted([SESSIONS, AGENTS, CHAT])
    assert headers[0] == "Endpoint"
    assert any("p95" in header for header in headers)
    assert breached.count() == 1
    assert "1,234" in (breached.text_content() or "")
    assert "fail" in (page.locator("#loadtest-progress").text_content() or "")
    assert page.locator("#loadtests-table tbody tr[data-verdict=fail]").count() == 1
    assert console.errors() == []


def test_the_latency_chart_has_a_time_axis_and_draws_p95_over_p99(console: Console) -> None:
    page = console.page
    answer_operator_routes(page)
    console.load("/#operator")
    use_token(console, E2E_ADMIN_TOKEN)
    chart = page.locator("#loadtest-chart svg")
    chart.locator(".series").first.wait_for()

    caption = page.locator("#loadtest-chart-caption").text_content() or ""
    ticks = chart.locator(".x-axis .tick-label").all_text_contents()
    order = chart.locator(".series").evaluate_all("(lines) => lines.map((l) => l.classList[1])")
    dash = "(line) => getComputedStyle(line).strokeDasharray"
    dashes = {name: chart.locator(f".series.{name}").evaluate(dash) for name in PERCENTILES}
    page.get_by_label("Endpoint", exact=True).select_option(AGENTS)
    other_caption = page.locator("#loadtest-chart-caption").text_content() or ""

    assert CHAT in caption
    assert len(ticks) >= 2
    assert all(any(ch.isdigit() for ch in tick) for tick in ticks), ticks
    assert chart.locator(".x-axis-title").text_content()
    assert order.index("p99") < order.index("p95")
    assert len(set(dashes.values())) == 3, dashes
    assert AGENTS in other_caption
    assert console.errors() == []


@pytest.mark.parametrize("locale", ["ko-KR", "en-US"])
def test_operator_tables_scroll_sideways_at_375_pixels_instead_of_breaking_words(
    open_console: Callable[..., Console], locale: str
) -> None:
    console = open_console(width=375, height=740, locale=locale)
    page = console.page
    answer_operator_routes(page)
    console.load("/#operator")
    use_token(console, E2E_ADMIN_TOKEN)
    page.locator("#alerts-table tbody tr").first.wait_for()
    page.locator("#loadtest-endpoints tbody tr").first.wait_for()

    header_lines = page.evaluate(CELL_LINES, ".table-wrap th")
    endpoint_lines = page.evaluate(CELL_LINES, ".table-wrap th[scope=row]")
    scrolls = page.evaluate(
        """() => [...document.querySelectorAll(".table-wrap")]
             .filter((wrap) => wrap.offsetParent !== null)
             .map((wrap) => wrap.scrollWidth > wrap.clientWidth)"""
    )
    page_width = page.evaluate("document.documentElement.scrollWidth")

    assert [cell for cell in header_lines if cell[1] > 1] == []
    assert [cell for cell in endpoint_lines if cell[1] > 1] == []
    assert any(scrolls), scrolls
    assert page_width <= 375
    assert console.errors() == []
