"""The console's Chat tab in Chromium against the local stack: the agent it picks, the keys
that send, answers rendered as safe Markdown, conversation titles, and Stop."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import SLOW_REPLY
from tests.functions.console.pages import Console, fulfil_json

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ANSWER = "#messages .message.assistant"


def send_and_wait(console: Console, text: str) -> Any:
    """Send `text` with the Send button; the answer once it has completed."""
    page = console.page
    count = page.locator(f"{ANSWER}[data-state=completed]").count()
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_role("button", name="Send").click()
    answer = page.locator(f"{ANSWER}[data-state=completed]").nth(count)
    answer.wait_for(timeout=30_000)
    return answer


def test_the_chat_tab_picks_the_only_agent_and_send_uses_it(console: Console) -> None:
    page = console.page
    console.load()
    console.create_agent_with_form("Solo")

    page.get_by_role("tab", name="Chat").click()
    page.wait_for_function(
        "() => document.querySelector('#chat-agent').selectedOptions[0]?.text === 'Solo'"
    )
    answer = send_and_wait(console, "Hello there")

    assert answer.is_visible()
    assert page.get_by_text("Create an agent first").count() == 0
    assert page.locator("#notice").is_hidden()
    assert console.errors() == []


def test_send_with_several_agents_and_none_chosen_asks_to_choose_one(console: Console) -> None:
    page = console.page
    console.load()
    console.create_agent("First")
    console.create_agent("Second")
    page.reload()
    page.wait_for_selector("body[data-ready=true]")

    page.get_by_role("tab", name="Chat").click()
    page.get_by_role("option", name="Second").wait_for(state="attached")
    page.get_by_label("Message", exact=True).fill("Which one answers?")
    page.get_by_role("button", name="Send").click()
    notice = page.get_by_role("alert")
    notice.wait_for()

    assert "Choose an agent" in (notice.text_content() or "")
    assert "Create an agent first" not in (notice.text_content() or "")
    assert page.evaluate("document.activeElement.id") == "chat-agent"
    assert console.errors() == []


def test_enter_sends_and_shift_enter_adds_a_new_line_with_a_visible_hint(console: Console) -> None:
    page = console.page
    console.load()
    console.create_agent_with_form("Keys")
    page.get_by_role("button", name="Chat: Keys").click()
    box = page.get_by_label("Message", exact=True)
    hint_id = box.get_attribute("aria-describedby")

    box.click()
    page.keyboard.type("first line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    before_send = box.input_value()
    page.keyboard.press("Enter")
    mine = page.locator("#messages .message.user .message-text")
    mine.wait_for()
    page.locator(f"{ANSWER}[data-state=completed]").wait_for(timeout=30_000)

    assert hint_id
    hint = page.locator(f"#{hint_id}")
    assert hint.is_visible()
    assert "Shift+Enter" in (hint.text_content() or "")
    assert before_send == "first line\nsecond line"
    assert mine.text_content() == "first line\nsecond line"
    assert box.input_value() == ""
    assert console.errors() == []


MARKDOWN = """Here is **the plan** and *why*, with `make run` inline.

<img src=x onerror="window.pwned = 1"> <script>window.pwned = 2</script>

- check the [release notes](https://example.com/notes?a=1&b=2)
- avoid [this link](javascript:window.pwned=3) and [that one](data:text/html,hi)

1. first
2. second

```python
print("<b>not bold</b>")
```
"""


def test_answers_render_safe_markdown_with_a_copy_button_for_code(
    console: Console, model_reply: Callable[..., Any]
) -> None:
    model_reply(MARKDOWN, chunks=9)
    page = console.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    console.load()
    console.create_agent_with_form("Writer")
    page.get_by_role("button", name="Chat: Writer").click()

    answer = send_and_wait(console, "Plan the release")
    text = answer.locator(".message-text")
    answer.get_by_role("button", name="Copy code").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    link = text.locator("a")
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    page.get_by_role("tab", name="Chat").click()
    reloaded = page.locator(f"{ANSWER} .message-text strong")
    reloaded.wait_for()

    assert text.locator("strong").text_content() == "the plan"
    assert text.locator("em").text_content() == "why"
    assert text.locator("p code").text_content() == "make run"
    assert text.locator("ul > li").count() == 2
    assert text.locator("ol > li").all_text_contents() == ["first", "second"]
    assert text.locator("pre code").text_content() == 'print("<b>not bold</b>")'
    assert copied == 'print("<b>not bold</b>")'
    assert link.count() == 1
    assert link.get_attribute("href") == "https://example.com/notes?a=1&b=2"
    assert "noopener" in (link.get_attribute("rel") or "").split()
    assert link.text_content() == "release notes"
    assert text.locator("img, script, b, [onerror]").count() == 0
    assert '<img src=x onerror="window.pwned = 1">' in (text.text_content() or "")
    assert "[this link](javascript:window.pwned=3)" in (text.text_content() or "")
    assert page.evaluate("window.pwned") is None
    assert reloaded.text_content() == "the plan"
    assert console.errors() == []


def test_conversation_titles_come_from_the_first_message_and_defaults_are_localised(
    open_console: Callable[..., Console],
) -> None:
    console = open_console(locale="ko-KR")
    page = console.page
    console.load()
    agent = console.create_agent("비서")
    console.api("POST", "/v1/conversations", {"agentId": agent})  # the API's default title
    page.reload()
    page.wait_for_selector("body[data-ready=true]")

    page.get_by_role("tab", name="채팅").click()
    default = page.locator("#conversation-list li").first
    default.wait_for()
    default_title = default.text_content()
    page.get_by_role("button", name="새 대화").click()
    page.get_by_label("메시지", exact=True).fill("  배포   일정을\n 알려 주세요  ")
    page.get_by_role("button", name="보내기").click()
    page.locator(f"{ANSWER}[data-state=completed]").wait_for(timeout=30_000)
    page.get_by_role("button", name="배포 일정을 알려 주세요").wait_for()
    page.get_by_role("button", name="새 대화").click()
    long_message = "아주 긴 질문입니다 " * 12
    page.get_by_label("메시지", exact=True).fill(long_message)
    page.get_by_role("button", name="보내기").click()
    page.locator(f"{ANSWER}[data-state=completed]").wait_for(timeout=30_000)
    stored = console.api("GET", f"/v1/conversations?agentId={agent}")["conversations"]
    titles = {conversation["title"] for conversation in stored}

    assert default_title == "비서 대화"
    assert "배포 일정을 알려 주세요" in titles
    long_title = next(title for title in titles if title.startswith("아주 긴"))
    assert long_title.endswith("…")
    assert len(long_title) <= 61
    assert long_message.strip().startswith(long_title[:-1].strip())
    assert console.errors() == []


# True once no answer of the conversation at `path` is pending any more.
SETTLED = """async (path) => {
  const session = JSON.parse(localStorage.getItem("agentPlatform.session"));
  const response = await fetch(path, {headers: {Authorization: "Bearer " + session.token}});
  return !(await response.json()).messages.some((message) => message.status === "pending");
}"""
STREAM_CANCEL = re.compile(r"/v1/conversations/[^/]+/messages/[^/]+/cancel$")


def agent_id(console: Console) -> str:
    return str(console.page.evaluate("document.querySelector('#chat-agent').value"))


def start_a_slow_answer(console: Console) -> None:
    page = console.page
    console.load()
    console.create_agent_with_form("Slow")
    page.get_by_role("button", name="Chat: Slow").click()
    page.get_by_label("Message", exact=True).fill("Take your time.")
    page.get_by_role("button", name="Send").click()
    page.wait_for_function(
        "() => document.querySelector('#messages .assistant .message-text')?.textContent.length > 5"
    )


def test_stop_asks_the_platform_to_cancel_and_shows_the_answer_as_stopped(
    console: Console, slow_model: Any
) -> None:
    page = console.page
    cancels: list[Any] = []

    def on_cancel(route: Any) -> None:
        cancels.append(route.request)
        fulfil_json(route, {"id": "msg", "status": "cancelled"})

    page.route(STREAM_CANCEL, on_cancel)
    start_a_slow_answer(console)

    page.get_by_role("button", name="Stop").click()
    stopped = page.locator(f"{ANSWER}[data-state=stopped]")
    stopped.wait_for()

    assert len(cancels) == 1
    assert cancels[0].method == "POST"
    assert cancels[0].headers["authorization"].startswith("Bearer gst_")
    assert "Stopped" in (stopped.locator(".badge.stopped").text_content() or "")
    assert len(stopped.locator(".message-text").text_content() or "") > 5
    assert page.get_by_role("button", name="Send").is_enabled()
    assert page.get_by_role("button", name="Stop").is_disabled()
    assert console.errors() == []


@pytest.mark.parametrize("status", [404, 405])
def test_stop_closes_the_stream_when_the_platform_has_no_cancel_route(
    console: Console, slow_model: Any, status: int
) -> None:
    page = console.page
    refused: list[str] = []

    def no_route(route: Any) -> None:
        refused.append(route.request.url)
        body = {"error": {"code": "not_found", "message": "no route", "requestId": "r"}}
        fulfil_json(route, body, status=status)

    page.route(STREAM_CANCEL, no_route)
    start_a_slow_answer(console)

    page.get_by_role("button", name="Stop").click()
    stopped = page.locator(f"{ANSWER}[data-state=stopped]")
    stopped.wait_for()
    received = len(stopped.locator(".message-text").text_content() or "")

    assert len(refused) == 1
    assert "Stopped" in (stopped.text_content() or "")
    assert received < len(SLOW_REPLY.strip())
    assert page.get_by_role("button", name="Send").is_enabled()
    assert console.errors(f"status of {status}") == []


def test_a_stopped_answer_stays_stopped_after_a_reload(console: Console, slow_model: Any) -> None:
    page = console.page
    start_a_slow_answer(console)

    page.get_by_role("button", name="Stop").click()
    page.locator(f"{ANSWER}[data-state=stopped]").wait_for()
    conversation = console.api("GET", "/v1/conversations?agentId=" + agent_id(console))
    messages_path = f"/v1/conversations/{conversation['conversations'][0]['id']}/messages"
    page.wait_for_function(SETTLED, arg=messages_path, polling=250)
    statuses = [m["status"] for m in console.api("GET", messages_path)["messages"]]
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    page.get_by_role("tab", name="Chat").click()
    stopped = page.locator(f"{ANSWER}[data-state=stopped]")
    stopped.wait_for()

    assert statuses[-1] in ("cancelled", "incomplete")
    assert "Stopped" in (stopped.locator(".badge.stopped").text_content() or "")
    assert console.errors("status of 404", "status of 405") == []


def test_a_cancelled_or_incomplete_answer_in_the_history_is_shown_as_stopped(
    console: Console,
) -> None:
    page = console.page
    console.load()
    agent = console.create_agent("Historian")
    conversation = console.api("POST", "/v1/conversations", {"agentId": agent, "title": "Old"})

    def message(n: int, role: str, status: str) -> dict[str, Any]:
        return {
            "id": f"msg_{n:024x}",
            "conversationId": conversation["id"],
            "role": role,
            "content": f"text {n}",
            "status": status,
            "createdAt": "2026-12-01T10:00:00Z",
        }

    history = [
        message(1, "user", "completed"),
        message(2, "assistant", "cancelled"),
        message(3, "user", "completed"),
        message(4, "assistant", "incomplete"),
    ]
    page.route(
        re.compile(r"/v1/conversations/[^/]+/messages\?"),
        lambda route: fulfil_json(route, {"messages": history, "nextBefore": None}),
    )
    page.reload()
    page.wait_for_selector("body[data-ready=true]")

    page.get_by_role("tab", name="Chat").click()
    page.locator(f"{ANSWER}[data-state=stopped]").nth(1).wait_for()
    badges = page.locator(f"{ANSWER} .badge.stopped").all_text_contents()

    assert badges == ["Stopped", "Stopped"]
    assert console.errors() == []


# The renderer itself, loaded as the page loads it; each case: Markdown -> the HTML built.
RENDER = """async (cases) => {
  const { renderMarkdown } = await import("/console/js/markdown.js");
  return cases.map((source) => {
    const box = document.createElement("div");
    box.append(renderMarkdown(source));
    for (const button of box.querySelectorAll("button")) button.remove();
    return box.innerHTML;
  });
}"""
RENDERED = {
    "a <b>b</b> & c": "<p>a &lt;b&gt;b&lt;/b&gt; &amp; c</p>",
    "<script>alert(1)</script>": "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
    "[x](JaVaScRiPt:alert(1))": "<p>[x](JaVaScRiPt:alert(1))</p>",
    "[x](/relative)": "<p>[x](/relative)</p>",
    '[x](https://a.example/"onmouseover=alert)': (
        '<p><a href="https://a.example/%22onmouseover=alert" target="_blank" '
        'rel="noopener noreferrer">x</a></p>'
    ),
    "[**bold** link](http://a.example)": (
        '<p><a href="http://a.example/" target="_blank" rel="noopener noreferrer">'
        "<strong>bold</strong> link</a></p>"
    ),
    "snake_case_name and _em_": "<p>snake_case_name and <em>em</em></p>",
    "`<i>` and ``a ` b``": "<p><code>&lt;i&gt;</code> and <code>a ` b</code></p>",
    "line one\nline two\n\nnext": "<p>line one\nline two</p><p>next</p>",
    "## Heading": '<p class="md-heading"><strong>Heading</strong></p>',
    "3. three\n4. four": '<ol start="3"><li>three</li><li>four</li></ol>',
    "- a\n  more\n- b\n\nafter": "<ul><li>a\nmore</li><li>b</li></ul><p>after</p>",
    "```\nunclosed <b>": (
        '<div class="code-block"><div class="code-head"><span class="code-language"></span>'
        '</div><pre tabindex="0"><code>unclosed &lt;b&gt;</code></pre></div>'
    ),
}


def test_the_markdown_renderer_builds_only_its_subset_and_keeps_the_rest_as_text(
    console: Console,
) -> None:
    console.load()

    rendered = console.page.evaluate(RENDER, list(RENDERED))

    assert dict(zip(RENDERED, rendered, strict=True)) == RENDERED
    assert console.errors() == []
