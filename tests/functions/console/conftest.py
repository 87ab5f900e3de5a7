"""Fixtures of the console's browser tests: Debian's `chromium` driven by playwright, a
fresh browser profile per test, and the stand-in Messages API's reply made to order.

Without `chromium` the browser tests skip locally; with `REQUIRE_BROWSER=1` (CI) they fail
instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import RunningStack, StackPeers
from tests.functions.console.pages import Console

CHROMIUM = shutil.which("chromium")


# Package scope, not session: playwright's sync API keeps an event loop running in the main
# thread while it is started, and later tests (the MCP clients, the load runner) call
# asyncio.run(), which refuses to start inside a running loop.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("REQUIRE_BROWSER=1 but `chromium` is not installed", pytrace=False)
        pytest.skip("`chromium` is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def open_console(browser: Any, local_stack: RunningStack) -> Iterator[Callable[..., Console]]:
    """Opens the console in a fresh profile: `open_console(width=375, locale="ko-KR")`."""
    contexts: list[Any] = []

    def open_one(width: int = 1280, height: int = 900, locale: str = "en-US") -> Console:
        context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        opened = Console(page, local_stack.url)
        page.on(
            "console",
            lambda m: opened.messages.append(m.text) if m.type in ("error", "warning") else None,
        )
        page.on("pageerror", lambda error: opened.messages.append(f"uncaught: {error}"))
        return opened

    yield open_one
    for context in contexts:
        context.close()


@pytest.fixture
def console(open_console: Callable[..., Console]) -> Console:
    return open_console()


@pytest.fixture
def model_reply(stack_peers: StackPeers) -> Iterator[Callable[..., Any]]:
    """Sets what the stack's stand-in for the Messages API answers; restored afterwards."""
    fake = stack_peers.messages_api
    saved = (fake.reply, fake.chunks)

    def answer(text: str, chunks: int = 4, chunk_delay: float = 0.0) -> Any:
        fake.reset()
        fake.reply, fake.chunks, fake.chunk_delay = text, chunks, chunk_delay
        return fake

    yield answer
    fake.reset()
    fake.reply, fake.chunks = saved
