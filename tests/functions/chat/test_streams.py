"""Safe retries and resumable streams of chat answers, through functions-framework.

The resume is read through a second, separately loaded instance of the chat function:
what it serves comes from Firestore, not from the memory of the instance that generates.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from shared.core import log
from tests.conftest import LoadedFunction, load_function
from tests.functions.chat.conftest import (
    Configure,
    Owner,
    parse_sse,
    start_conversation,
    stored_messages,
)
from tests.support.messages_api import FakeMessagesApi


def post_message(client: Any, owner: Owner, conversation_id: str, key: str, sse: bool) -> Any:
    headers = {**owner.headers, "Idempotency-Key": key}
    if sse:
        headers["Accept"] = "text/event-stream"
    return client.post(
        f"/v1/conversations/{conversation_id}/messages",
        json={"content": "Tell me something"},
        headers=headers,
    )


def model_calls(fake: FakeMessagesApi) -> int:
    return sum(1 for request in fake.requests if request.body.get("stream") is not None)


def test_a_replayed_json_message_calls_the_model_once(
    client: Any, owner: Owner, fake_api: FakeMessagesApi, firestore_db: Any
) -> None:
    conversation = start_conversation(client, owner)

    first = post_message(client, owner, conversation["id"], "send-1", sse=False)
    again = post_message(client, owner, conversation["id"], "send-1", sse=False)

    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(fake_api.requests) == 1
    assert len(stored_messages(firestore_db, conversation["id"])) == 2


def test_a_replayed_sse_message_replays_the_stored_stream_and_calls_the_model_once(
    client: Any, owner: Owner, fake_api: FakeMessagesApi, firestore_db: Any
) -> None:
    conversation = start_conversation(client, owner)

    first = post_message(client, owner, conversation["id"], "send-1", sse=True)
    first_events = parse_sse(first.get_data(as_text=True))
    again = post_message(client, owner, conversation["id"], "send-1", sse=True)
    again_events = parse_sse(again.get_data(as_text=True))

    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(fake_api.requests) == 1
    names = [name for name, _ in again_events]
    assert names[0] == "message.created" and names[-2:] == ["message.completed", "done"]
    assert again_events[-2][1] == first_events[-2][1]
    assert text_of(again_events) == text_of(first_events) == fake_api.reply
    assert again_events[0][1]["userMessage"] == first_events[0][1]["userMessage"]
    assert len(stored_messages(firestore_db, conversation["id"])) == 2


def test_a_failed_streamed_answer_releases_its_key_so_a_retry_runs_anew(
    client: Any, owner: Owner, fake_api: FakeMessagesApi, configure: Configure
) -> None:
    configure(ANTHROPIC_MAX_RETRIES="0")
    conversation = start_conversation(client, owner)
    fake_api.fail, fake_api.fail_times = 529, 1  # the first answer fails, the next works

    failed = parse_sse(
        post_message(client, owner, conversation["id"], "k1", sse=True).get_data(as_text=True)
    )
    retried = post_message(client, owner, conversation["id"], "k1", sse=True)
    retried_events = parse_sse(retried.get_data(as_text=True))

    assert [n for n, _ in failed][-2:] == ["error", "done"]
    assert "Idempotent-Replayed" not in retried.headers
    assert [n for n, _ in retried_events][-2:] == ["message.completed", "done"]
    assert len(fake_api.requests) == 2


def text_of(events: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(data["text"] for name, data in events if name == "message.delta")


def frames(body: Iterator[bytes]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """`(id, event, data)` of each frame as it arrives (a frame may span chunks)."""
    buffer = b""
    for chunk in body:
        buffer += chunk
        while b"\n\n" in buffer:
            raw, buffer = buffer.split(b"\n\n", 1)
            [(event_id, name, data)] = [
                (e.get("id", ""), e["event"], e["data"])
                for e in [dict(line.split(": ", 1) for line in raw.decode().splitlines())]
                if "event" in e
            ] or [("", "", {})]
            if name:
                yield event_id, name, json.loads(data)


@pytest.fixture
def second_instance(function: LoadedFunction) -> LoadedFunction:
    """Another load of functions/chat/main.py: another instance, sharing only Firestore."""
    other = load_function("functions/chat", "chat")
    assert other.module is not function.module
    return other


@pytest.mark.parametrize("live", [True, False], ids=["while-generating", "after-finishing"])
def test_a_stream_cut_after_3_deltas_resumes_on_another_instance_with_last_event_id(
    client: Any,
    owner: Owner,
    fake_api: FakeMessagesApi,
    configure: Configure,
    firestore_db: Any,
    second_instance: LoadedFunction,
    live: bool,
) -> None:
    configure(CHAT_STREAM_PERSIST_SECONDS="0", CHAT_RESUME_POLL_SECONDS="0.02")
    fake_api.chunks, fake_api.chunk_delay = 12, 0.1 if live else 0.0
    fake_api.reply = "Résumé 한국어 🙂 " + " ".join(f"word{n}" for n in range(30))
    conversation = start_conversation(client, owner)
    response = client.post(
        f"/v1/conversations/{conversation['id']}/messages",
        json={"content": "a long answer please"},
        headers={**owner.headers, "Accept": "text/event-stream"},
        buffered=False,
    )
    location = response.headers["Content-Location"]
    stream = frames(iter(response.response))
    received = [next(stream) for _ in range(4)]  # message.created, then 3 deltas
    assert [name for _, name, _ in received] == ["message.created"] + ["message.delta"] * 3
    last_id = received[-1][0]
    # The client's connection is gone; the generating instance goes on to the end.
    rest = threading.Thread(target=lambda: list(stream))
    rest.start()
    if not live:
        rest.join(30)

    resumed = second_instance.app.test_client().get(
        location, headers={**owner.headers, "Last-Event-ID": last_id}
    )
    rest.join(30)

    events = parse_sse(resumed.get_data(as_text=True))
    names = [name for name, _ in events]
    assert resumed.status_code == 200 and names[-2:] == ["message.completed", "done"]
    assert "message.created" not in names
    head = "".join(data["text"] for _, name, data in received if name == "message.delta")
    answer = stored_messages(firestore_db, conversation["id"])[1]
    assert answer["status"] == "completed"
    assert head + text_of(events) == answer["content"] == fake_api.reply
    assert len(fake_api.requests) == 1


def test_every_event_has_an_id_that_says_how_far_into_the_answer_it_is(
    client: Any, owner: Owner, firestore_db: Any
) -> None:
    conversation = start_conversation(client, owner)
    response = post_message(client, owner, conversation["id"], "k", sse=True)

    seen = list(frames(iter([response.get_data()])))

    ids = [int(event_id) for event_id, _, _ in seen]
    assert ids[0] == 0 and ids == sorted(ids) and len(set(ids)) == len(ids)
    text = ""
    for event_id, name, data in seen:
        if name == "message.delta":
            text += data["text"]
            assert int(event_id) == len(text)
    assert ids[-2:] == [len(text) + 1, len(text) + 2]


def test_resuming_needs_the_owner_and_a_valid_event_id(
    client: Any, owner: Owner, firestore_db: Any
) -> None:
    from tests.functions.chat.conftest import new_owner

    conversation = start_conversation(client, owner)
    response = post_message(client, owner, conversation["id"], "k", sse=True)
    response.get_data()  # the answer to its end
    location = response.headers["Content-Location"]
    stranger = new_owner()

    assert client.get(location, headers=stranger.headers).status_code == 404
    for bad_id in ("abc", "+5", "-1", "\uff15", " 1 2"):
        bad = client.get(location, headers={**owner.headers, "Last-Event-ID": bad_id})
        assert bad.status_code == 400, bad_id
    whole = parse_sse(client.get(location, headers=owner.headers).get_data(as_text=True))
    assert whole[0][0] == "message.created" and whole[-1][0] == "done"


def test_deleting_a_conversation_with_a_stale_if_match_is_412_and_keeps_it(
    client: Any, owner: Owner, firestore_db: Any
) -> None:
    conversation = start_conversation(client, owner)
    url = f"/v1/conversations/{conversation['id']}"
    etag = client.get(url, headers=owner.headers).headers["ETag"]
    post_message(client, owner, conversation["id"], "k", sse=False)  # a new version

    stale = client.delete(url, headers={**owner.headers, "If-Match": etag})
    fresh_etag = client.get(url, headers=owner.headers).headers["ETag"]

    assert stale.status_code == 412
    assert firestore_db.collection("conversations").document(conversation["id"]).get().exists
    assert fresh_etag != etag
    assert client.delete(url, headers={**owner.headers, "If-Match": fresh_etag}).status_code == 204


class Entries(logging.Handler):
    """The Cloud Logging entries written while attached (formatted when emitted, in the
    context of the code that logs, as the real handler does)."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[dict[str, Any]] = []
        self.setFormatter(log.CloudLoggingFormatter("demo", "chat"))

    def emit(self, record: logging.LogRecord) -> None:
        self.entries.append(json.loads(self.format(record)))


@pytest.fixture
def entries() -> Iterator[Entries]:
    handler = Entries()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


def test_a_streamed_run_logs_its_trace_request_id_and_real_duration(
    client: Any, owner: Owner, fake_api: FakeMessagesApi, entries: Entries
) -> None:
    fake_api.chunks, fake_api.chunk_delay = 6, 0.06
    conversation = start_conversation(client, owner)

    response = post_message(client, owner, conversation["id"], "k", sse=True)
    response.get_data()

    request_id = response.headers["X-Request-Id"]
    [run] = [e for e in entries.entries if e["message"] == "chat run finished"]
    [access] = [e for e in entries.entries if e["message"].startswith("POST /v1/conversations/")]
    assert run["requestId"] == access["requestId"] == request_id
    assert run["logging.googleapis.com/trace"] == access["logging.googleapis.com/trace"]
    assert run["severity"] == "INFO"
    assert float(access["httpRequest"]["latency"].rstrip("s")) >= 5 * 0.06


def test_a_failed_run_is_logged_as_a_warning(
    client: Any, owner: Owner, fake_api: FakeMessagesApi, entries: Entries
) -> None:
    fake_api.fail = 500
    conversation = start_conversation(client, owner)

    response = post_message(client, owner, conversation["id"], "k", sse=True)
    response.get_data()

    [run] = [e for e in entries.entries if e["message"] == "chat run finished"]
    assert run["severity"] == "WARNING" and run["outcome"] == "failed"


def test_a_silent_stream_sends_keep_alive_comments(
    client: Any, owner: Owner, fake_api: FakeMessagesApi, configure: Configure
) -> None:
    configure(SSE_KEEPALIVE_SECONDS="0.05")
    fake_api.first_chunk_delay = 0.5
    conversation = start_conversation(client, owner)

    body = post_message(client, owner, conversation["id"], "k", sse=True).get_data(as_text=True)

    assert ": keep-alive\n\n" in body
    first_delta = body.index("event: message.delta")
    assert body.index(": keep-alive") < first_delta
    assert text_of(parse_sse(body)) == fake_api.reply


def test_resumes_waiting_on_a_pending_answer_are_bounded_per_guest(
    client: Any,
    owner: Owner,
    fake_api: FakeMessagesApi,
    configure: Configure,
    firestore_db: Any,
) -> None:
    configure(CHAT_RESUME_WAITS_PER_GUEST="2", CHAT_RESUME_POLL_SECONDS="0.05")
    fake_api.first_chunk_delay = 3.0  # the answer stays pending meanwhile
    conversation = start_conversation(client, owner)
    live = client.post(
        f"/v1/conversations/{conversation['id']}/messages",
        json={"content": "take your time"},
        headers={**owner.headers, "Accept": "text/event-stream"},
        buffered=False,
    )
    body = iter(live.response)
    next(body)  # message.created: the answer is stored, pending
    location = live.headers["Content-Location"]

    def resume() -> Any:
        return client.get(location, headers=owner.headers, buffered=False)

    first, second, third = resume(), resume(), resume()
    statuses = [first.status_code, second.status_code, third.status_code]
    first.close()  # a client that leaves gives its wait back
    fourth = resume()
    statuses.append(fourth.status_code)
    for response in (second, fourth):
        response.close()
    list(body)

    assert statuses == [200, 200, 429, 200]
    assert int(third.headers["Retry-After"]) >= 1
    assert "per guest" in third.get_json()["error"]["message"]
    finished = client.get(location, headers=owner.headers)  # a final answer holds nothing
    assert finished.status_code == 200


def test_resume_waits_are_bounded_per_instance(configure: Configure) -> None:
    from shared.chat import streams
    from shared.core import errors

    configure(CHAT_RESUME_WAITS_PER_GUEST="5", CHAT_RESUME_WAITS_PER_INSTANCE="3")
    waits = streams._Waits()
    for guest in ("usr_a", "usr_b", "usr_a"):
        waits.take(guest)

    with pytest.raises(errors.RateLimited) as refused:
        waits.take("usr_c")
    waits.give("usr_b")
    waits.take("usr_c")

    assert "on this instance" in refused.value.message
