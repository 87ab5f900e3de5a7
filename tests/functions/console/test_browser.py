"""The console's journeys in a real Chromium (Debian's `chromium`, driven by playwright)
against the local stack, each test in a fresh browser profile (fixtures in conftest.py).

`CONSOLE_SCREENSHOT=path` keeps the journey's screenshot there (`make screenshot`
writes docs/images/console.png).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import E2E_ADMIN_TOKEN, SLOW_REPLY, RunningStack
from tests.functions.console.pages import Console

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# Records the streamed answer's length at every change, with its state at that moment.
WATCH_ANSWER = """() => {
  window.answerGrowth = [];
  new MutationObserver(() => {
    const answer = [...document.querySelectorAll("#messages .message.assistant")].pop();
    if (!answer) return;
    const text = answer.querySelector(".message-text").textContent;
    window.answerGrowth.push([text.length, answer.dataset.state]);
  }).observe(document.querySelector("#messages"), {subtree: true, childList: true,
    characterData: true, attributes: true});
}"""


def test_a_guest_creates_an_agent_chats_routes_and_sees_a_load_test(
    console: Console, local_stack: RunningStack, slow_model: Any, tmp_path: Path
) -> None:
    page = console.page

    response = console.load()
    stored = page.evaluate("JSON.parse(localStorage.getItem('agentPlatform.session'))")

    page.get_by_role("button", name="New agent").click()
    page.get_by_label("Name", exact=True).fill("도우미 🤖")
    page.get_by_label("System prompt").fill("Answer warmly and briefly.")
    page.get_by_label("Persona", exact=True).select_option("auto")
    page.get_by_label("Model").fill("claude-sonnet-4-6")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("heading", name="도우미 🤖").wait_for()

    page.get_by_role("button", name="Chat: 도우미 🤖").click()
    page.evaluate(WATCH_ANSWER)
    page.get_by_label("Message", exact=True).fill("안녕하세요! 천천히 답해 주세요 🎉")
    page.get_by_role("button", name="Send").click()
    answer = page.locator("#messages .message.assistant[data-state=completed]")
    answer.wait_for(timeout=30_000)
    growth = page.evaluate("window.answerGrowth")
    page.wait_for_timeout(200)
    page.screenshot(path=os.environ.get("CONSOLE_SCREENSHOT") or str(tmp_path / "console.png"))

    page.get_by_role("tab", name="Persona router").click()
    page.get_by_label("Message to route").fill("Our p95 latency doubled after the deploy.")
    page.get_by_role("button", name="Route").click()
    page.locator("#route-result:not([hidden])").wait_for()
    bars = page.locator("#route-chart [data-score]").count()
    resonance = page.locator("#route-resonance").text_content()

    page.get_by_role("tab", name="Operator").click()
    page.get_by_label("Operator token").fill(E2E_ADMIN_TOKEN)
    page.get_by_role("button", name="Use token").click()
    page.get_by_label("Scenario").select_option("light")
    page.get_by_label("Duration (s, optional)").fill("2")
    page.get_by_role("button", name="Run load test").click()
    page.locator("#loadtest-progress[data-state=running]").wait_for()
    page.locator("#loadtest-progress[data-state=done]").wait_for(timeout=60_000)
    run_rows = page.locator("#loadtests-table tbody tr").count()

    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert stored["token"].startswith("gst_")
    streaming = sorted({length for length, state in growth if state == "streaming" and length})
    assert len(streaming) >= 3, growth
    assert (answer.locator(".message-text").text_content() or "").strip() == SLOW_REPLY.strip()
    assert "%" in (answer.locator(".persona").text_content() or "")
    assert bars == 4
    assert resonance
    assert run_rows >= 1
    assert console.errors() == []


def test_a_429_is_shown_with_its_retry_time(console: Console, local_stack: RunningStack) -> None:
    page = console.page
    page.route(
        "**/v1/conversations/*/messages",
        lambda route: route.fulfill(
            status=429,
            headers={"Retry-After": "12", "Content-Type": "application/json"},
            body='{"error": {"code": "rate_limited", "message": "20 messages a minute"}}',
        ),
    )
    console.load()
    page.get_by_role("button", name="New agent").click()
    page.get_by_label("Name", exact=True).fill("Busy")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("button", name="Chat: Busy").click()

    page.get_by_label("Message", exact=True).fill("Hello?")
    page.get_by_role("button", name="Send").click()
    notice = page.get_by_role("alert").filter(has_text="12")
    notice.wait_for()

    assert "Try again in 12 s" in (notice.text_content() or "")
    assert page.get_by_label("Message", exact=True).input_value() == "Hello?"
    assert console.errors("status of 429") == []


def test_keyboard_alone_reaches_the_tabs_and_creates_an_agent(
    console: Console, local_stack: RunningStack
) -> None:
    page = console.page
    console.load()

    page.keyboard.press("Tab")
    first = page.evaluate("document.activeElement.className")
    page.get_by_role("tab", name="Agents").focus()
    page.keyboard.press("ArrowRight")
    chat_selected = page.get_by_role("tab", name="Chat").get_attribute("aria-selected")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    page.keyboard.press("ArrowLeft")
    page.get_by_role("button", name="New agent").focus()
    page.keyboard.press("Enter")
    page.locator("#agent-name:focus").wait_for()
    page.keyboard.type("Keys only")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Keys only").wait_for()

    assert first == "skip-link"
    assert chat_selected == "true"
    assert outline != "none"
    assert console.errors() == []


def test_korean_interface_at_375_pixels_without_sideways_scrolling(
    console: Console, local_stack: RunningStack
) -> None:
    page = console.page
    page.set_viewport_size({"width": 375, "height": 740})
    console.load()

    page.get_by_label("Language").select_option("ko")
    widths = {}
    for name in ("채팅", "페르소나 라우터", "대시보드", "운영자", "에이전트"):
        page.get_by_role("tab", name=name).click()
        widths[name] = page.evaluate("document.documentElement.scrollWidth")

    assert page.evaluate("document.documentElement.lang") == "ko"
    assert page.get_by_role("button", name="새 에이전트").count() == 1
    assert all(width <= 375 for width in widths.values()), widths
    assert console.errors() == []
