"""A chat run: one user message in, one answer streamed out, everything recorded.

`start()` admits the message (`send.admit`: ownership, the agent's status, the quotas and
the conversation cap, then the user's message and a pending answer stored in one commit;
nothing accepted is lost from here on), picks the persona and prepares the model call.
`ChatRun.events()` streams the answer as `(event name, data)` pairs and, however it ends
(completed, failed, cancelled, or stopped early: incomplete), stores the answer and stages
the `chat-events` event in the same Firestore batch before delivering it (see `outbox`).

A streamed answer outlives its connection by a hand-off (`ChatRun.hand_off`,
decisions/2026-12-answers-outlive-connections.md): when the client goes, the run stops
its model call at its next chunk, stores the text and the tokens so far on the pending
answer and stages `chat.answer.handed_off` (topic `chat-continuations`) in the same
commit; the continuation entry point finishes the answer on CPU of its own
(`shared.chat.continuations`), through this module's `_finish`. Cloud Run gives an
instance no CPU once its response has ended, so no work is left running here. A resume
from any instance reads the answer live and then its end. Stopping is explicit: `cancel`
(the cancel route) stops the run at its next chunk, on this instance at once, elsewhere
(another instance, the continuation) through the answer's document (the generating
instance sees the change at its next partial write, within CHAT_STREAM_PERSIST_SECONDS),
and the answer ends `cancelled`. A run with tools, which a prefill cannot continue, still
goes on in its own thread here when its client goes (`hands_off` is False).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from shared.chat import conversations, send, streams, tool_runs
from shared.chat.conversations import ConversationRecord, MessageRecord
from shared.chat.models import MessageExchange, MessagePublic
from shared.core import deadline, log
from shared.core.models import utcnow
from shared.gcp import clients
from shared.limits import quotas, spend
from shared.llm import model
from shared.llm.offline import estimate_tokens
from shared.messaging import events, outbox
from shared.messaging.topics import chat_continuations, chat_events
from shared.messaging.topics.chat_continuations import AnswerHandedOffData
from shared.messaging.topics.chat_events import ChatRunData
from shared.web import idempotency, sse

if TYPE_CHECKING:
    from shared.agents.store import AgentRecord

logger = log.get_logger("chat")
CHAT_EVENT_PUBLISH_SECONDS = 2.0
DEADLINE_PASSED = "the request's deadline passed before the answer was complete"
SOURCE = "/functions/chat"
RunEvent = tuple[str, dict[str, Any]]
Outcome = Literal["completed", "failed", "incomplete", "cancelled"]
CANCELLED = "the answer was cancelled"
HANDOFF = "handoff"  # on a pending answer: what its continuation needs (see `hand_off`)


@dataclass
class PersonaChoice:
    name: str | None = None
    confidence: float | None = None
    style: str = ""


def choose_persona(agent: AgentRecord, text: str) -> PersonaChoice:
    """`auto` routes each message; a named persona keeps its voice; none adds nothing."""
    if not agent.persona:
        return PersonaChoice()
    from shared.personas import routing as persona_routing  # only persona agents pay for it

    if agent.persona == "auto":
        routed = persona_routing.route_message(text)
        name, confidence = routed.persona, float(routed.confidence)
    else:
        name, confidence = agent.persona, None
    return PersonaChoice(name, confidence, persona_style(name))


def persona_style(name: str | None) -> str:
    """The style text a persona adds to the system prompt ('' for none)."""
    if not name:
        return ""
    from shared.personas import routing as persona_routing  # only persona agents pay for it

    return persona_routing.persona_style(name) or ""


def system_prompt(agent: AgentRecord, style: str) -> str:
    """The system prompt of a run: the agent's, then the persona's style."""
    return "\n\n".join(part for part in (agent.system_prompt, style) if part)


def check_settings() -> None:
    """Read every setting a run uses, so a bad value stops the function at start."""
    model.get_model_settings()
    quotas.get_quota_settings()
    streams.get_stream_settings()
    spend.get_spend_settings()


def start(user_id: str, conversation_id: str, content: str, address: str = "") -> ChatRun:
    """Admit the message (see `send.admit`), pick the persona, and prepare the model call.

    Nothing is sent to the model before the run's first event.
    """
    admission = send.admit(user_id, conversation_id, content, address)
    agent, answer = admission.agent, admission.answer
    persona = choose_persona(agent, content)
    answer.persona, answer.confidence = persona.name, persona.confidence
    settings = model.get_model_settings()
    system = system_prompt(agent, persona.style)
    history = send.history(admission, settings.chat_history_token_budget)
    chosen_model = agent.model or settings.chat_default_model
    reply: model.ModelStream | tool_runs.ToolRun
    if agent.tools:  # the model may call them; the tools run for the conversation's owner
        caller = tool_runs.Caller(user_id=admission.conversation.user_id)
        reply = tool_runs.ToolRun(
            caller,
            system,
            history,
            chosen_model,
            settings.chat_max_output_tokens,
            tool_names=agent.tools,
            budget=admission.hold,
        )
    else:
        reply = model.stream(
            system, history, chosen_model, settings.chat_max_output_tokens, budget=admission.hold
        )
    return ChatRun(admission.conversation, agent, admission.question, answer, reply, admission.hold)


@dataclass(frozen=True)
class Carried:
    """What the part of an answer before its hand-off spent: the answer's tokens and model
    time are that plus what its continuation spends."""

    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    first_chunk_ms: float | None = None


@dataclass
class ChatRun:
    conversation: ConversationRecord
    agent: AgentRecord
    question: MessageRecord
    answer: MessageRecord
    # Nothing is sent to the model before the first event.
    reply: model.ModelStream | tool_runs.ToolRun
    hold: spend.Hold  # this part's budget (`shared.chat.spending`), settled when it finishes
    error: model.ModelError | None = None
    finished: bool = False
    cancelled: threading.Event = field(default_factory=threading.Event)
    carried: Carried = field(default_factory=Carried)  # a continuation's first part

    def events(self) -> Iterator[RunEvent]:
        """The run as events; closing the iterator stops the model, and the caller stores
        what there is (`hand_off` for a stream, `abandon` otherwise)."""
        reply = self.reply
        try:
            yield (
                "message.created",
                {
                    "userMessage": message_public(self.question),
                    "assistantMessage": message_public(self.answer),
                },
            )
            partial = streams.PartialText(
                self.conversation.id, self.answer.id, on_cancel=self.cancelled.set
            )
            _RUNNING.add(self)
            for chunk in reply:
                if deadline.passed():  # the client got 503: stop paying for the answer
                    reply.close()
                    raise model.ModelUnavailable("deadline_exceeded", DEADLINE_PASSED)
                if self.cancelled.is_set():
                    reply.close()
                    break
                if isinstance(chunk, tool_runs.ToolEvent):  # `tool.call` / `tool.result`
                    yield chunk.name, {"messageId": self.answer.id, **chunk.data}
                    continue
                if not chunk:
                    continue
                yield "message.delta", {"messageId": self.answer.id, "text": chunk}
                partial.offer(reply.text)
        except model.ModelError as exc:
            self.error = exc
            self._finish(reply, "failed", exc.error_code)
            yield (
                "error",
                {
                    "code": exc.error_code,
                    "message": exc.message,
                    "retryAfter": exc.retry_after,
                    "messageId": self.answer.id,
                },
            )
        except GeneratorExit:
            reply.close()
            raise
        except Exception:
            # Anything else (a secret that cannot be read, a bug): the answer is failed,
            # not left pending, and alerts hear of it.
            logger.exception("chat run failed unexpectedly")
            self._finish(reply, "failed", "internal")
            raise
        else:
            if self.cancelled.is_set():
                self._finish(reply, "cancelled", "cancelled")
                failure = {"code": "cancelled", "message": CANCELLED, "messageId": self.answer.id}
                yield "error", {**failure, "retryAfter": None}
                yield "done", {}
                return
            self._finish(reply, "completed")
            yield (
                "message.completed",
                {
                    "message": message_public(self.answer),
                    "usage": {
                        "inputTokens": self.answer.input_tokens,
                        "outputTokens": self.answer.output_tokens,
                    },
                },
            )
        yield "done", {}

    def abandon(self) -> None:
        """The run stops before its end (even before the first event): store what there is."""
        self.end("incomplete")

    def end(self, outcome: Outcome, error_code: str | None = None) -> None:
        """Finish with the text there is, without asking the model any more."""
        if not self.finished:
            self.reply.close()
            self._finish(self.reply, outcome, error_code)

    @property
    def hands_off(self) -> bool:
        """Whether a client that goes leaves the answer to a continuation (`hand_off`); a
        run with tools cannot be continued from a prefill, and goes on where it is."""
        return not isinstance(self.reply, tool_runs.ToolRun)

    def hand_off(self) -> None:
        """The client went before the answer's end: stop the model here and leave the rest
        to the continuation (`shared.chat.continuations`).

        This part's spend is settled first (the continuation admits only its own); then
        the text and the tokens so far, with what the continuation needs, are stored on the
        pending answer and `chat.answer.handed_off` staged in the same commit, and the
        event delivered. A run that cannot hand off ends `incomplete`; a cancelled one ends
        `cancelled`. If this instance dies before the commit, the answer stays pending and
        the sweep of abandoned answers fails it.
        """
        if self.finished:
            return
        reply = self.reply
        if self.cancelled.is_set():
            self.end("cancelled", "cancelled")
            return
        if isinstance(reply, tool_runs.ToolRun):
            self.abandon()
            return
        reply.close()
        answer, user_id = self.answer, self.conversation.user_id
        answer.content, answer.model = reply.text, reply.model
        answer.input_tokens = reply.input_tokens
        # A stream cut early has not heard its output count yet: at least its text's.
        answer.output_tokens = max(
            reply.output_tokens, estimate_tokens(reply.text) if reply.text else 0
        )
        self.hold.settle(answer.input_tokens + answer.output_tokens)
        handed = AnswerHandedOffData(
            conversation_id=self.conversation.id,
            message_id=answer.id,
            user_id=user_id,
            agent_id=self.agent.id,
        )
        subject = f"conversations/{self.conversation.id}"
        event = events.new_event(chat_continuations.HANDED_OFF, SOURCE, subject, handed)
        record = {
            "eventId": event.id,
            "model": reply.requested_model,
            "maxTokens": reply.max_tokens,
            "latencyMs": reply.latency_ms,
            "firstChunkMs": reply.first_chunk_ms,
            "at": utcnow(),
        }
        from google.api_core.exceptions import NotFound

        batch = clients.firestore().batch()
        ref = conversations.message_ref(self.conversation.id, answer.id)
        batch.update(ref, {**answer.to_document(user_id), HANDOFF: record})
        outbox.stage(batch, chat_continuations.TOPIC, event)
        try:
            batch.commit()
        except NotFound:  # the conversation was deleted mid-answer: nothing to continue
            self.abandon()
            return
        self.finished = True
        _RUNNING.discard(self)
        outbox.deliver(chat_continuations.TOPIC, event, timeout=CHAT_EVENT_PUBLISH_SECONDS)
        logger.info(
            "chat answer handed off",
            extra={
                "fields": {
                    "messageId": answer.id,
                    "eventId": event.id,
                    "characters": len(answer.content),
                    "inputTokens": answer.input_tokens,
                    "outputTokens": answer.output_tokens,
                }
            },
        )

    def _finish(
        self,
        reply: model.ModelStream | tool_runs.ToolRun,
        outcome: Outcome,
        error_code: str | None = None,
    ) -> None:
        """Store the answer and stage its event in one batch, then deliver the event.

        Past the request's deadline (a JSON answer the client saw end in 503) the answer
        is stored as failed, `deadline_exceeded`, not left pending, and its spend settled:
        both record what happened, so they are written though the request is over.
        """
        if deadline.passed():
            with deadline.lifted():
                self._finish(reply, "failed", "deadline_exceeded")
            return
        now, carried = utcnow(), self.carried
        answer = self.answer
        answer.content, answer.status, answer.completed_at = reply.text, outcome, now
        answer.model, answer.stop_reason = reply.model, reply.stop_reason
        # A continued answer counts both parts (`Carried`); a run's own part is all of it.
        answer.input_tokens = carried.input_tokens + reply.input_tokens
        answer.output_tokens = carried.output_tokens + reply.output_tokens
        answer.latency_ms = round(carried.latency_ms + reply.latency_ms, 1)
        answer.error_code = error_code
        answer.tool_calls = list(getattr(reply, "calls", []))
        first_chunk_ms = (
            reply.first_chunk_ms if carried.first_chunk_ms is None else carried.first_chunk_ms
        )
        data = ChatRunData(
            agent_id=self.agent.id,
            user_id=self.conversation.user_id,
            conversation_id=self.conversation.id,
            message_id=answer.id,
            model=reply.model,
            outcome=outcome,
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
            latency_ms=answer.latency_ms,
            stop_reason=reply.stop_reason,
            error_code=error_code,
            persona=answer.persona,
            finished_at=now,
        )
        # A stop is not a failure of the platform: alerts watch `failed` only.
        kind = chat_events.RUN_FAILED if outcome == "failed" else chat_events.RUN_COMPLETED
        event = events.new_event(kind, SOURCE, f"conversations/{self.conversation.id}", data)
        _store_answer(self.conversation, answer, event)
        # Only now: a commit that failed leaves the run unfinished, so `abandon` retries it.
        self.finished = True
        _RUNNING.discard(self)
        if outcome == "failed":  # a retry with the same Idempotency-Key runs anew
            idempotency.release_claimed()
        send.cache_answer(answer)
        # Short: the event is safe in the outbox, and a slow Pub/Sub must not hold up the
        # answer (the relay publishes what this leaves behind).
        outbox.deliver(chat_events.TOPIC, event, timeout=CHAT_EVENT_PUBLISH_SECONDS)
        self.hold.settle(reply.input_tokens + reply.output_tokens)  # this part's own spend
        # A failed run is the platform's trouble (alerts watch it); the rest is routine.
        logger.log(
            logging.WARNING if outcome == "failed" else logging.INFO,
            "chat run finished",
            extra={
                "fields": {
                    "outcome": outcome,
                    "agentId": self.agent.id,
                    "messageId": answer.id,
                    "model": reply.model,
                    "latencyMs": answer.latency_ms,
                    "firstChunkMs": first_chunk_ms,
                    "inputTokens": answer.input_tokens,
                    "outputTokens": answer.output_tokens,
                    "errorCode": error_code,
                    **({"continued": True} if carried != Carried() else {}),
                }
            },
        )

    def exchange(self) -> MessageExchange:
        """Run to the end (the JSON answer); a failed answer raises its model error, whose
        details name the stored messages (the user's message is kept)."""
        try:
            for _ in self.events():
                pass
        finally:
            self.abandon()  # a no-op once finished; stores what there is otherwise
        if self.error is not None:
            self.error.details = [
                {"userMessageId": self.question.id, "assistantMessageId": self.answer.id}
            ]
            raise self.error
        return MessageExchange(
            user_message=self.question.public(), assistant_message=self.answer.public()
        )

    @property
    def events_path(self) -> str:
        """Where the answer's events can be read again, from any instance."""
        return streams.events_path(self.conversation.id, self.answer.id)

    def sse(self) -> Iterator[bytes]:
        """The run as SSE frames with resumable ids (see `streams`); always ends
        well-formed (`error` then `done` on a failure). Closed early (the client went),
        it hands the answer off (`hand_off`); a run that does not hand off is served with
        `outlive` (see `shared.web.sse`) and goes on to its end here."""
        run_events = self.events()
        offset = 0
        try:
            for name, data in run_events:
                if name == "message.delta":
                    offset += len(data["text"])
                yield sse.frame(name, data, streams.event_id(name, offset))
        except Exception:  # end the stream well-formed; the log has the cause
            logger.exception("chat stream failed")
            failure = {"code": "internal", "message": "the answer could not be finished"}
            yield sse.frame("error", failure)
            yield sse.frame("done", {})
        finally:
            run_events.close()  # type: ignore[attr-defined]
            try:
                self.hand_off()  # a no-op once finished
            except Exception as exc:  # noqa: BLE001 - the stream has ended well-formed already
                # Firestore is down: the answer stays pending until the sweep fails it.
                logger.warning(
                    "answer not stored after the stream",
                    extra={"fields": {"error": repr(exc)[:200]}},
                )


class _Running:
    """The runs this instance is generating, by answer id (a cancel here stops one at once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, ChatRun] = {}

    def add(self, run: ChatRun) -> None:
        with self._lock:
            self._runs[run.answer.id] = run

    def discard(self, run: ChatRun) -> None:
        with self._lock:
            if self._runs.get(run.answer.id) is run:
                del self._runs[run.answer.id]

    def get(self, answer_id: str) -> ChatRun | None:
        with self._lock:
            return self._runs.get(answer_id)


_RUNNING = _Running()


def cancel(user_id: str, conversation_id: str, message_id: str) -> MessagePublic:
    """Stop the answer `message_id` (idempotent): a pending answer is asked to stop and,
    once it has (within CHAT_CANCEL_WAIT_SECONDS), is answered `cancelled`; a final one is
    answered as it is. 404 unless it is an answer in one of the caller's conversations."""
    conversations.get_owned_conversation(user_id, conversation_id)
    answer = streams.read_answer(conversation_id, message_id)
    if answer.status != "pending":
        return answer.public()
    running = _RUNNING.get(message_id)
    if running is not None:
        running.cancelled.set()
    # For the instance generating it, wherever it is: it sees this at its next partial write.
    conversations.message_ref(conversation_id, message_id).update({streams.CANCEL_ASKED: True})
    settle_by = time.monotonic() + streams.get_stream_settings().chat_cancel_wait_seconds
    while answer.status == "pending" and time.monotonic() < settle_by:
        time.sleep(0.2)
        answer = streams.read_answer(conversation_id, message_id)
    return answer.public()


def _store_answer(conversation: ConversationRecord, answer: MessageRecord, event: Any) -> None:
    """The answer and its event in one commit. An update, not a set: a conversation deleted
    mid-answer (its pending answer with it) stays deleted, and only the event is kept."""
    from google.api_core.exceptions import NotFound

    db = clients.firestore()
    batch = db.batch()
    batch.update(
        conversations.message_ref(conversation.id, answer.id),
        answer.to_document(conversation.user_id),
    )
    outbox.stage(batch, chat_events.TOPIC, event)
    try:
        batch.commit()
    except NotFound:
        batch = db.batch()
        outbox.stage(batch, chat_events.TOPIC, event)
        batch.commit()


def message_public(message: MessageRecord) -> dict[str, Any]:
    """A message as the API shows it (camelCase JSON)."""
    return message.public().model_dump(mode="json", by_alias=True)
