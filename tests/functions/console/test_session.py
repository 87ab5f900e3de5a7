"""The console's session controls and error notices in Chromium against the local stack."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.functions.console.pages import Console

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ROUTE = re.compile(r"/v1/personas/route$")


def busy(route: Any) -> None:
    route.fulfill(
        status=503,
        headers={"Retry-After": "7", "Content-Type": "application/json"},
        body='{"error": {"code": "unavailable", "message": "The router is warming up."}}',
    )


def route_a_message(console: Console) -> None:
    page = console.page
    page.get_by_role("tab", name="Persona router").click()
    page.get_by_label("Message to route").fill("Our p95 latency doubled after the deploy.")
    page.get_by_role("button", name="Route").click()


def test_end_session_asks_for_confirmation_first(console: Console) -> None:
    page = console.page
    console.load()
    token = page.evaluate("JSON.parse(localStorage.getItem('agentPlatform.session')).token")

    page.get_by_role("button", name="End session").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    question = dialog.text_content() or ""
    dialog.get_by_role("button", name="Cancel").click()
    still = page.locator("#session-status").get_attribute("data-state")
    after_cancel = console.api("GET", "/v1/sessions/current")
    page.get_by_role("button", name="End session").click()
    page.get_by_role("dialog").get_by_role("button", name="End session").click()
    page.locator("#session-status[data-state=none]").wait_for()
    revoked = page.evaluate(
        """async (token) => (await fetch("/v1/sessions/current",
             {headers: {Authorization: "Bearer " + token}})).status""",
        token,
    )

    assert "End this guest session?" in question
    assert still == "active"
    assert after_cancel["expiresAt"]
    assert revoked == 401
    assert page.get_by_role("button", name="Start a new session").is_visible()
    assert console.errors("status of 401") == []


def test_an_error_notice_is_cleared_when_the_tab_changes(console: Console) -> None:
    page = console.page
    page.route(ROUTE, busy)
    console.load()

    route_a_message(console)
    notice = page.get_by_role("alert")
    notice.wait_for()
    shown = notice.text_content() or ""
    page.get_by_role("tab", name="Dashboard").click()

    assert "Try again in 7 s" in shown
    assert page.locator("#notice").is_hidden()
    assert console.errors("status of 503") == []


def test_an_error_notice_is_cleared_after_the_next_success(
    open_console: Callable[..., Console],
) -> None:
    console = open_console(width=375, locale="ko-KR")
    page = console.page
    answers: list[int] = []

    def once_busy(route: Any) -> None:
        answers.append(len(answers))
        if len(answers) == 1:
            busy(route)
        else:
            route.continue_()

    page.route(ROUTE, once_busy)
    console.load()
    page.get_by_role("tab", name="페르소나 라우터").click()
    page.get_by_label("라우팅할 메시지").fill("배포 후에 p95 지연이 두 배가 됐어요.")
    page.get_by_role("button", name="라우팅", exact=True).click()
    page.get_by_role("alert").wait_for()
    page.get_by_role("button", name="라우팅", exact=True).click()
    page.locator("#route-result:not([hidden])").wait_for()

    assert len(answers) == 2
    assert page.locator("#notice").is_hidden()
    assert console.errors("status of 503") == []
