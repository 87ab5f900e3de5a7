"""Resumable answer streams: event ids, the partial answer in Firestore, and the resume.

Every SSE event of an answer has an `id:` that says how far into the answer it is, in
characters: `message.created` is 0, a `message.delta` is the answer's length once that
delta is added, the closing `message.completed` or `error` is the full length + 1, and
`done` + 2. A tool-using agent's `tool.call` and `tool.result` events have no id (a resume
would otherwise take their position for text) and are sent live only: a resumed stream
carries the text. The instance generating an answer stores its text so far on the message every
`CHAT_STREAM_PERSIST_SECONDS`, so any instance can serve
`GET /v1/conversations/{id}/messages/{messageId}/events` with `Last-Event-ID`: the events
after that id, polled from Firestore while the answer is pending, or read from the stored
answer once it is final. Nothing of a stream lives only in one instance's memory.

A resume that waits on a pending answer holds a server thread, so waits are bounded: at
most `CHAT_RESUME_WAITS_PER_GUEST` per guest and `CHAT_RESUME_WAITS_PER_INSTANCE` per
instance at once (beyond them: 429 with Retry-After, before the first byte), and a wait
reads the answer once per `CHAT_RESUME_POLL_SECONDS` (no faster than the text is stored).
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.chat import conversations
from shared.chat.conversations import MessageRecord
from shared.core import errors, ids, log, state
from shared.web import sse
from shared.web.settings import get_web_settings

logger = log.get_logger("chat")


class StreamSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    chat_stream_persist_seconds: float = Field(
        1.0,
        ge=0,
        le=10,
        description=(
            "How often a streaming answer's text so far is stored on its message, for "
            "resumes on any instance. Firestore sustains about 1 write/s a document: below "
            "1 only for tests."
        ),
    )
    chat_resume_poll_seconds: float = Field(
        1.0,
        gt=0,
        le=5,
        description=(
            "How often a resumed stream reads a pending answer (the text changes at most "
            "once per CHAT_STREAM_PERSIST_SECONDS, so faster only costs reads)."
        ),
    )
    chat_cancel_wait_seconds: float = Field(
        2.0,
        ge=0,
        le=10,
        description=(
            "How long `POST .../cancel` waits for the generating instance to stop the "
            "answer before it answers with the answer as it is."
        ),
    )
    chat_resume_waits_per_guest: int = Field(
        2, ge=1, le=50, description="Resumes of pending answers one guest may hold at once."
    )
    chat_resume_waits_per_instance: int = Field(
        10,
        ge=1,
        le=1000,
        description=(
            "Resumes of pending answers one instance serves at once (each holds a thread); "
            "keep it well below THREADS so other requests are served."
        ),
    )
    chat_resume_max_seconds: float = Field(
        270.0,
        gt=0,
        le=290,
        description=(
            "Longest a resumed stream waits for a pending answer before it ends (with a "
            "`timeout` error); below the chat function's 300 s timeout, so it ends well-formed."
        ),
    )


@state.once
def get_stream_settings() -> StreamSettings:
    return StreamSettings()


def events_path(conversation_id: str, message_id: str) -> str:
    """Where an answer's events can be read again (the stream's `Content-Location`)."""
    return f"/v1/conversations/{conversation_id}/messages/{message_id}/events"


def parse_last_event_id(value: str | None) -> int:
    """-1 for none (start from `message.created`); 400 for an id this API did not send."""
    if value is None or not value.strip():
        return -1
    digits = value.strip()
    last = int(digits) if re.fullmatch(r"[0-9]{1,12}", digits) else -1  # not "+5", nor other digits
    if last < 0:
        raise errors.InvalidRequest(
            "Last-Event-ID must be the id of an event of this stream (a whole number >= 0)",
            details=[{"field": "Last-Event-ID", "issue": "not an event id of this stream"}],
        )
    return last


def closing_events(message: MessageRecord) -> list[tuple[str, dict[str, Any]]]:
    """The events after the last delta of a final answer (`done` included)."""
    if message.status == "completed":
        usage = {"inputTokens": message.input_tokens, "outputTokens": message.output_tokens}
        public = message.public().model_dump(mode="json", by_alias=True)
        return [("message.completed", {"message": public, "usage": usage}), ("done", {})]
    code = message.error_code or message.status
    text = {
        "incomplete": "the answer stopped before it was finished",
        "cancelled": "the answer was cancelled",
    }.get(code, "the answer failed")
    failure = {"code": code, "message": text, "retryAfter": None, "messageId": message.id}
    return [("error", failure), ("done", {})]


def resume(user_id: str, conversation_id: str, message_id: str, after: int) -> Iterator[bytes]:
    """SSE frames of the answer `message_id` after event id `after` (-1: from the start).

    404 unless it is an answer in one of the caller's conversations; checked before the
    first byte, so the status is right.
    """
    conversations.get_owned_conversation(user_id, conversation_id)
    first = read_answer(conversation_id, message_id)
    if first.status != "pending":
        return _frames(conversation_id, first, after)
    _WAITS.take(user_id)  # 429 past a bound: it would hold a thread for minutes
    return _Holding(_frames(conversation_id, first, after), lambda: _WAITS.give(user_id))


class _Waits:
    """Resumes waiting on pending answers in this instance, in all and per guest."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_guest: Counter[str] = Counter()

    def take(self, user_id: str) -> None:
        settings = get_stream_settings()
        with self._lock:
            if self._by_guest[user_id] >= settings.chat_resume_waits_per_guest:
                limit, what = settings.chat_resume_waits_per_guest, "per guest"
            elif self._by_guest.total() >= settings.chat_resume_waits_per_instance:
                limit, what = settings.chat_resume_waits_per_instance, "on this instance"
            else:
                self._by_guest[user_id] += 1
                return
        raise errors.RateLimited(
            f"resumed streams waiting on an answer {what}: at most {limit} at once",
            retry_after=RESUME_RETRY_SECONDS,
        )

    def give(self, user_id: str) -> None:
        with self._lock:
            self._by_guest[user_id] -= 1
            if self._by_guest[user_id] <= 0:
                del self._by_guest[user_id]

    def clear(self) -> None:
        with self._lock:
            self._by_guest.clear()


_WAITS = _Waits()
state.on_reset(_WAITS.clear)
RESUME_RETRY_SECONDS = 5


class _Holding:
    """`frames`, giving its wait back once, when they end or are closed (even unstarted)."""

    def __init__(self, frames: Iterator[bytes], give: Callable[[], None]) -> None:
        self._frames, self._give = frames, give
        self._given = False
        self._lock = threading.Lock()

    def __iter__(self) -> _Holding:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._frames)
        except BaseException:  # the end, a failure or the client gone: the wait is over
            self.close()
            raise

    def close(self) -> None:
        with self._lock:
            given, self._given = self._given, True
        if not given:
            close = getattr(self._frames, "close", None)
            if close is not None:
                close()
            self._give()


def event_id(name: str, offset: int) -> int | None:
    """The `id:` of an event sent when the answer is `offset` characters long."""
    if name in ("tool.call", "tool.result"):
        return None
    if name == "message.delta":
        return offset
    return {"message.created": 0, "done": offset + 2}.get(name, offset + 1)


def read_answer(conversation_id: str, message_id: str) -> MessageRecord:
    if not ids.is_id("msg", message_id):
        raise errors.NotFound(f"message {message_id[:40]!r} does not exist")
    snapshot = conversations.message_ref(conversation_id, message_id).get()
    data = snapshot.to_dict() if snapshot.exists else None
    if data is None or data.get("role") != "assistant":
        raise errors.NotFound(f"answer {message_id} does not exist in this conversation")
    return MessageRecord.from_document(message_id, conversation_id, data)


def _frames(conversation_id: str, answer: MessageRecord, after: int) -> Iterator[bytes]:
    settings = get_stream_settings()
    keepalive = get_web_settings().sse_keepalive_seconds
    if after < 0:
        question = question_of(answer)
        created = {
            "userMessage": question.public().model_dump(mode="json", by_alias=True)
            if question
            else None,
            "assistantMessage": answer.public().model_dump(mode="json", by_alias=True),
        }
        yield sse.frame("message.created", created, 0)
        after = 0
    deadline = time.monotonic() + settings.chat_resume_max_seconds
    quiet_since = time.monotonic()
    while True:
        text = answer.content or ""
        if len(text) > after:
            yield sse.frame(
                "message.delta", {"messageId": answer.id, "text": text[after:]}, len(text)
            )
            after, quiet_since = len(text), time.monotonic()
        if answer.status != "pending":
            for offset, (name, data) in enumerate(closing_events(answer), start=1):
                if len(text) + offset > after:
                    yield sse.frame(name, data, len(text) + offset)
            return
        if time.monotonic() > deadline:
            failure = {"code": "timeout", "message": "the answer is still being generated"}
            yield sse.frame("error", failure)
            yield sse.frame("done", {})
            return
        if time.monotonic() - quiet_since >= keepalive:
            yield sse.KEEPALIVE
            quiet_since = time.monotonic()
        time.sleep(settings.chat_resume_poll_seconds)
        answer = read_answer(conversation_id, answer.id)


def question_of(answer: MessageRecord) -> MessageRecord | None:
    """The user's message the answer replies to (the one just before it)."""
    from google.cloud.firestore import FieldFilter

    query = (
        conversations.conversation_ref(answer.conversation_id)
        .collection(conversations.MESSAGES)
        .where(filter=FieldFilter("seq", "==", answer.seq - 1))
        .limit(1)
    )
    for snapshot in query.stream():
        return MessageRecord.from_document(
            snapshot.id, answer.conversation_id, snapshot.to_dict() or {}
        )
    return None


CANCEL_ASKED = "cancelRequested"  # set on a pending answer by `POST .../cancel`


class PartialText:
    """Stores a streaming answer's text so far, at most every `CHAT_STREAM_PERSIST_SECONDS`,
    and notices a cancel asked on another instance: each write is guarded by the version
    of the answer's document this writer saw last, so another writer's change (the cancel
    route's) fails the next write, and one read then tells whether to stop (`on_cancel`).
    The first write reads the document once for that version (and a cancel asked early).
    """

    def __init__(
        self, conversation_id: str, message_id: str, on_cancel: Callable[[], None]
    ) -> None:
        self.ref = conversations.message_ref(conversation_id, message_id)
        self.every = get_stream_settings().chat_stream_persist_seconds
        self.stored_at = time.monotonic()
        self.version: Any = None
        self.on_cancel = on_cancel

    def offer(self, text: str) -> None:
        from google.api_core.exceptions import FailedPrecondition

        from shared.gcp import clients

        now = time.monotonic()
        if now - self.stored_at < self.every:
            return
        self.stored_at = now
        try:
            if self.version is None:
                self._look()
            guard = clients.firestore().write_option(last_update_time=self.version)
            try:
                self.version = self.ref.update({"content": text}, option=guard).update_time
            except FailedPrecondition:
                self._look()  # someone else wrote the answer: a cancel, or the sweep
        except Exception as exc:  # noqa: BLE001 - a resume lags; the answer goes on
            logger.warning(
                "partial answer not stored", extra={"fields": {"error": repr(exc)[:200]}}
            )

    def _look(self) -> None:
        snapshot = self.ref.get()
        self.version = snapshot.update_time
        data = snapshot.to_dict() if snapshot.exists else None
        if data is None or data.get(CANCEL_ASKED) or data.get("status") != "pending":
            self.on_cancel()
