"""The rehearsal's check that an answer outlives its connection, as deployed.

Cloud Run with request-based billing throttles an instance's CPU once its response has
ended, so a streamed answer whose client goes must not depend on the chat function's
process afterwards: the deployed configuration hands it off (`chat-continuations`) to
the `chat-continue` entry point. The check, on the packaged functions:

1. A guest, an agent on the offline model (deterministic) and the uncut answer to a
   question, asked as JSON through the gateway.
2. The same question streamed straight from the chat function (the load balancer closes
   its backend connection when its client goes; the local gateway would notice only at
   its next write, after a short offline answer has ended): `message.created` and one
   `message.delta` are read, then the client goes. The chat function's process group is
   stopped (SIGSTOP) while the connection closes and continued, so the cut lands
   mid-answer however fast the offline model writes.
3. Once the answer's document shows the hand-off and its event has left the outbox, the
   chat function's processes are stopped again (SIGSTOP, as request-based billing would
   throttle them) and stay stopped while the answer must end `completed`, with the uncut
   answer's text, and the `chat-continue` subscription's push of it must be acknowledged.
4. The chat function continues (SIGCONT), and a resume through the gateway after the last
   event id the client saw ends with `message.completed`; the text adds up to the uncut
   answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

CONTINUE_ENTRY = "chat-continue"
TOPIC = "chat-continuations"
# What the check calls; the continuation is what it tests, so its absence is a failure of
# the check (the answer never ends), not a reason to skip it.
NEEDS = ("guest-session", "agents", "chat")
QUESTION = "Which checks should a release go through before Friday's deploy, and why?"
SUBJECT, CHECK = "chat", "answer outlives a disconnect"


class CheckFailed(Exception):
    """The check found the deployment wrong; the message says where."""


@dataclass
class Frozen:
    """A function's process group, stopped (SIGSTOP) until `thaw`."""

    pgid: int
    stopped: bool = False

    def freeze(self) -> None:
        os.killpg(self.pgid, signal.SIGSTOP)
        self.stopped = True

    def thaw(self) -> None:
        if self.stopped:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGCONT)
            self.stopped = False


@dataclass
class Cut:
    answer_id: str
    last_id: int
    text: str


def run(
    api_url: str,
    chat_url: str,
    chat_pgid: int,
    acked: Callable[[str], list[int]],
    wait: float = 60.0,
) -> str:
    """Run the check (see the module); a one-line account of what happened, or
    `CheckFailed`. `acked(answer_id)` lists the statuses the continuation entry answered
    to pushes naming the answer."""
    chat = Frozen(chat_pgid)
    with httpx.Client(base_url=api_url, timeout=30) as http:
        headers = _guest(http)
        agent = _ok(
            http,
            "/v1/agents",
            201,
            "POST /v1/agents",
            headers=headers,
            json={"name": "Rehearsal", "systemPrompt": "Answer plainly.", "model": "offline"},
        )["id"]
        uncut = _ok(
            http,
            f"/v1/conversations/{_conversation(http, headers, agent)}/messages",
            200,
            "the uncut answer",
            attempts=1,  # a second message would change the history, and so the answer
            headers=headers,
            json={"content": QUESTION},
            timeout=120,
        )["assistantMessage"]["content"]
        conversation = _conversation(http, headers, agent)
        try:
            cut = _cut(chat_url, conversation, headers, chat)
            handed = _wait_for(
                lambda: _handed_off(conversation, cut.answer_id), wait, "the hand-off"
            )
            chat.freeze()  # as request-based billing throttles it: the rest is elsewhere
            final = _wait_for(
                lambda: _final(conversation, cut.answer_id),
                wait,
                "the answer's end while the chat function is stopped",
            )
            if final["status"] != "completed" or final["content"] != uncut:
                raise CheckFailed(
                    f"the continued answer ended {final['status']} with "
                    f"{len(final['content'])} characters; the uncut one has {len(uncut)}"
                )
            # The push is answered once the continuation has also published and settled.
            pushed = _wait_for(
                lambda: {"statuses": acked(cut.answer_id)} if acked(cut.answer_id) else None,
                wait,
                f"{CONTINUE_ENTRY}'s answer to the push",
            )
            if not any(200 <= status < 300 for status in pushed["statuses"]):
                raise CheckFailed(
                    f"{CONTINUE_ENTRY} did not acknowledge the continuation "
                    f"(answers: {pushed['statuses']})"
                )
        finally:
            chat.thaw()
        resumed = _resume(http, headers, conversation, cut)
    if cut.text + resumed != uncut:
        raise CheckFailed("the resumed stream's text does not add up to the uncut answer")
    return (
        f"cut after {len(cut.text)} characters, handed off with "
        f"{len(handed['content'])}; with chat stopped, {CONTINUE_ENTRY} finished it "
        f"(completed, {len(uncut)} characters, as uncut); resumed after event {cut.last_id}"
    )


def _ok(
    http: httpx.Client, path: str, status: int, what: str, attempts: int = 5, **request: Any
) -> Any:
    """POST `path`, expecting `status`. A 503 (a cold emulator on a busy machine meets the
    Firestore call timeout) is retried after its Retry-After, as a client would."""
    for attempt in range(attempts):
        response = http.post(path, **request)
        if response.status_code != 503 or attempt == attempts - 1:
            break
        time.sleep(min(float(response.headers.get("Retry-After") or 1), 5))
    if response.status_code != status:
        raise CheckFailed(f"{what} answered {response.status_code}: {response.text[:200]}")
    return response.json()


def _guest(http: httpx.Client) -> dict[str, str]:
    session = _ok(http, "/v1/sessions", 201, "POST /v1/sessions")
    return {"Authorization": f"Bearer {session['token']}"}


def _conversation(http: httpx.Client, headers: dict[str, str], agent: str) -> str:
    body = {"agentId": agent}
    return str(_ok(http, "/v1/conversations", 201, "a chat", headers=headers, json=body)["id"])


def _cut(chat_url: str, conversation: str, headers: dict[str, str], chat: Frozen) -> Cut:
    """Stream the question from the chat function, read up to the first delta, and go."""
    answer_id, last_id, text = "", -1, ""
    with (
        httpx.Client(base_url=chat_url, timeout=30) as direct,
        direct.stream(
            "POST",
            f"/v1/conversations/{conversation}/messages",
            headers={**headers, "Accept": "text/event-stream"},
            json={"content": QUESTION},
        ) as stream,
    ):
        if stream.status_code != 200:
            raise CheckFailed(f"the stream answered {stream.status_code}")
        for name, event_id, data in _events(stream.iter_lines()):
            if name == "message.created":
                answer_id = data["assistantMessage"]["id"]
            elif name == "message.delta":
                last_id, text = event_id, text + data["text"]
                chat.freeze()  # hold the answer mid-way while the connection closes
                break
            else:
                raise CheckFailed(f"the stream sent {name} before any text")
    # The client is gone; the chat function's kernel has the close. Let the function see
    # it (its next writes fail) and hand the answer off.
    time.sleep(0.5)
    chat.thaw()
    if not answer_id or last_id < 0:
        raise CheckFailed("the stream ended before its first delta")
    return Cut(answer_id, last_id, text)


def _events(lines: Iterator[str]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    fields: dict[str, str] = {}
    for line in lines:
        if line:
            if not line.startswith(":"):
                key, _, value = line.partition(": ")
                fields[key] = value
            continue
        if "event" in fields:
            yield fields["event"], int(fields.get("id", "-1")), json.loads(fields["data"])
        fields = {}


def _document(path: str) -> dict[str, Any] | None:
    """A Firestore document's fields as plain values (strings, numbers, maps), read from
    the emulator's REST API as the rehearsal's Google; None if there is none."""
    host = os.environ["FIRESTORE_EMULATOR_HOST"]
    project = os.environ.get("GOOGLE_CLOUD_PROJECT", "")
    url = f"http://{host}/v1/projects/{project}/databases/(default)/documents/{path}"
    response = httpx.get(url, headers={"Authorization": "Bearer owner"}, timeout=10)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return {k: _value(v) for k, v in (response.json().get("fields") or {}).items()}


def _value(typed: dict[str, Any]) -> Any:
    kind, value = next(iter(typed.items()))
    if kind == "mapValue":
        return {k: _value(v) for k, v in (value.get("fields") or {}).items()}
    if kind == "integerValue":
        return int(value)
    return None if kind == "nullValue" else value


def _answer(conversation: str, answer_id: str) -> dict[str, Any]:
    return _document(f"conversations/{conversation}/messages/{answer_id}") or {}


def _handed_off(conversation: str, answer_id: str) -> dict[str, Any] | None:
    """The answer once its hand-off is committed and its event published (gone from the
    outbox), or once it ended without one (then the check fails: it ran to its end here)."""
    answer = _answer(conversation, answer_id)
    event_id = (answer.get("handoff") or {}).get("eventId")
    if answer.get("status") not in (None, "pending") and not event_id:
        raise CheckFailed(
            f"the answer ended {answer.get('status')} on the chat function without a "
            "hand-off: the disconnect did not reach it mid-answer"
        )
    if not event_id:
        return None
    return None if _document(f"outbox/{event_id}") is not None else answer


def _final(conversation: str, answer_id: str) -> dict[str, Any] | None:
    answer = _answer(conversation, answer_id)
    return answer if answer.get("status") not in (None, "pending") else None


def _wait_for(
    look: Callable[[], dict[str, Any] | None], within: float, what: str
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = look()
        if found is not None:
            return found
        time.sleep(0.2)
    raise CheckFailed(f"no sign of {what} within {within:.0f} s")


def _resume(http: httpx.Client, headers: dict[str, str], conversation: str, cut: Cut) -> str:
    """The text after the client's last event, resumed through the gateway; it must end
    with `message.completed` then `done`."""
    path = f"/v1/conversations/{conversation}/messages/{cut.answer_id}/events"
    names, text = [], ""
    with http.stream(
        "GET", path, headers={**headers, "Last-Event-ID": str(cut.last_id)}, timeout=60
    ) as stream:
        if stream.status_code != 200:
            raise CheckFailed(f"the resume answered {stream.status_code}")
        for name, _, data in _events(stream.iter_lines()):
            names.append(name)
            if name == "message.delta":
                text += data["text"]
    if names[-2:] != ["message.completed", "done"]:
        raise CheckFailed(f"the resumed stream ended {names[-2:]}, not message.completed, done")
    return text
