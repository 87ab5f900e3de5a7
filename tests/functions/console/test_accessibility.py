"""axe-core (from node_modules, `make node-tools`) on every view of the console, with the
content a guest and an operator see, at 1280 and 375 px, in English and Korean: no
serious or critical finding, and no content outside a landmark (`region`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import E2E_ADMIN_TOKEN
from tests.functions.console.pages import AXE, Console, answer_operator_routes

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

REPLY = (
    "A **short** plan:\n\n- check `make run`\n- read [the notes](https://example.com)\n\n"
    "```sh\nmake test\n```"
)
TABS = {
    "en": ["Agents", "Chat", "Persona router", "Dashboard", "Operator"],
    "ko": ["에이전트", "채팅", "페르소나 라우터", "대시보드", "운영자"],
}


@pytest.fixture(autouse=True)
def axe_installed() -> None:
    if not AXE.exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"{AXE} is missing: run `make node-tools`", pytrace=False)
        pytest.skip("axe-core is not installed (make node-tools)")


def findings(console: Console) -> list[dict[str, Any]]:
    """What must not be there: serious or critical findings, and content outside landmarks."""
    return [
        violation
        for violation in console.axe()
        if violation["impact"] in ("serious", "critical") or violation["id"] == "region"
    ]


@pytest.mark.parametrize("width", [1280, 375])
@pytest.mark.parametrize("language", ["en", "ko"])
def test_every_view_has_no_serious_accessibility_finding(
    open_console: Callable[..., Console],
    model_reply: Callable[..., Any],
    language: str,
    width: int,
) -> None:
    model_reply(REPLY)
    console = open_console(width=width, height=800, locale="ko-KR" if language == "ko" else "en-US")
    page = console.page
    answer_operator_routes(page)
    console.load()
    console.create_agent("Helper")
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    agents, chat, router, dashboard, operator = TABS[language]
    found: dict[str, list[dict[str, Any]]] = {}

    page.locator("#agent-list li").first.wait_for()
    found[agents] = findings(console)
    page.locator("#agent-new").click()
    page.locator("#agent-dialog[open]").wait_for()
    found["agent dialog"] = findings(console)
    page.keyboard.press("Escape")

    page.get_by_role("tab", name=chat).click()
    page.locator("#chat-message").fill("Plan, please")
    page.locator("#chat-send").click()
    page.locator("#messages .message.assistant[data-state=completed] pre").wait_for(timeout=30_000)
    found[chat] = findings(console)

    page.get_by_role("tab", name=router).click()
    page.locator("#route-message").fill("Our p95 latency doubled after the deploy.")
    page.locator("#route-submit").click()
    page.locator("#route-result:not([hidden])").wait_for()
    found[router] = findings(console)

    page.get_by_role("tab", name=dashboard).click()
    page.wait_for_function("() => document.querySelector('#stat-agents').textContent !== '\\u2013'")
    found[dashboard] = findings(console)

    page.get_by_role("tab", name=operator).click()
    found[operator + " (no token)"] = findings(console)
    page.locator("#operator-token").fill(E2E_ADMIN_TOKEN)
    page.locator("#operator-form button[type=submit]").click()
    page.locator("#loadtest-endpoints tbody tr").first.wait_for()
    page.locator("#alerts-table tbody tr button").first.click()
    page.locator("#alert-history:not([hidden])").wait_for()
    found[operator] = findings(console)

    page.locator("#session-end").click()
    page.locator("#confirm-dialog[open]").wait_for()
    found["end-session dialog"] = findings(console)

    assert {view: problems for view, problems in found.items() if problems} == {}
    assert console.errors() == []
