"""The rest of an answer whose client went: `chat.answer.handed_off`, continued elsewhere.

`ChatRun.hand_off` (the chat function, when a streamed answer's client goes) stops the
model, stores the text and the tokens so far on the pending answer with a `handoff`
record (its event id, the model asked, the longest answer, the model time so far) and
stages `chat.answer.handed_off` on `chat-continuations` in the same commit.
`continue_answer` (entry `on_answer_continue`, deployed as `chat-continue`) finishes it,
on CPU of its own for as long as the push request lasts:

1. It reads the answer, the conversation and its agent, the user's message and the
   history the run was given (`send.turns_up_to`), and builds the same system prompt.
2. It admits the continuation's model call on the guest's and the deployment's token
   meters (`shared.limits.admission`; the client address is not kept, so its meter counts
   only the first part), for the call's worst case: the history, the text so far as the
   assistant's prefill, and what is left of the longest answer.
3. It claims the answer (a write guarded by the version it read, with the hold's record
   so the sweep can give the spend back if this instance dies), then runs a `ChatRun`
   whose reply continues the prefill (`model.stream(prefill=...)`): partial text is
   stored as it goes (guarded, so a cancel stops it), and the run finishes through
   `ChatRun._finish`: the answer stored with the tokens and model time of both parts,
   `chat-events` staged, this part's spend settled.

Idempotent on the answer: an event whose id is not the answer's `handoff.eventId`, an
answer that is final (completed, cancelled, failed...) or gone, and an answer claimed by
another delivery within `CLAIM_LEASE_SECONDS` are acknowledged and left alone, so a
duplicate delivery continues nothing twice. A claim older than the lease is taken over
(its instance died before finishing). A cancel asked before the claim ends the answer
`cancelled` without a model call; a refused admission ends it `failed` (`rate_limited`)
with its text so far, as a refused run does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from shared.chat import conversations, runs, send, streams
from shared.chat.conversations import ConversationRecord, MessageRecord
from shared.core import errors, log
from shared.core.models import utcnow
from shared.gcp import clients, firestore
from shared.limits import admission, spend
from shared.llm import model
from shared.llm.budget import Budget, BudgetRefused, Unmetered, request_tokens
from shared.messaging.events import Event
from shared.messaging.topics import chat_continuations
from shared.messaging.topics.chat_continuations import AnswerHandedOffData

if TYPE_CHECKING:
    from shared.agents.store import AgentRecord

logger = log.get_logger("chat")
# A claim younger than this is a live continuation: the chat-continue function's timeout
# (infra/functions.yaml; a test compares them), past which its instance is gone.
CLAIM_LEASE_SECONDS = 300
CLAIMED_AT = f"{runs.HANDOFF}.claimedAt"


@dataclass
class Plan:
    """What continues an answer: the first part's conversation, agent, question, history
    and system prompt, and the call that continues its text."""

    conversation: ConversationRecord
    agent: AgentRecord
    question: MessageRecord
    answer: MessageRecord
    system: str
    history: list[dict[str, str]]
    model_name: str
    max_tokens: int  # what is left of the longest answer
    carried: runs.Carried

    def stream(self, budget: Budget) -> model.ModelStream:
        return model.stream(
            self.system,
            self.history,
            self.model_name,
            self.max_tokens,
            budget=budget,
            prefill=self.answer.content,
        )

    def run(self, hold: spend.Hold) -> runs.ChatRun:
        return runs.ChatRun(
            self.conversation,
            self.agent,
            self.question,
            self.answer,
            self.stream(hold),
            hold,
            carried=self.carried,
        )


@dataclass
class Claimed:
    """A claimed continuation: its run, and why it will not call the model, if it won't."""

    run: runs.ChatRun
    refusal: errors.RateLimited | None = None
    cancel_asked: bool = False


def continue_answer(event: Event, attributes: dict[str, str]) -> None:
    """Finish the handed-off answer `event` names (see the module); a Firestore failure
    raises, so Pub/Sub delivers it again."""
    if event.type != chat_continuations.HANDED_OFF:
        logger.info("event type ignored", extra={"fields": {"eventId": event.id}})
        return
    try:
        handed = event.data_as(AnswerHandedOffData)
    except ValueError as exc:
        logger.error("poison continuation dropped", extra={"fields": {"reason": str(exc)[:300]}})
        return
    claimed = claim(event.id, handed)
    if claimed is None:
        return
    run = claimed.run
    if claimed.cancel_asked:
        run.end("cancelled", "cancelled")
    elif claimed.refusal is not None:
        run.error = BudgetRefused(claimed.refusal)
        run.end("failed", run.error.error_code)
    elif isinstance(run.reply, model.ModelStream) and run.reply.max_tokens < 1:
        run.reply.stop_reason = "max_tokens"  # the first part used the answer's whole length
        run.end("completed")
    else:
        for _ in run.events():
            pass
    logger.info(
        "chat answer continued",
        extra={
            "fields": {
                "messageId": run.answer.id,
                "eventId": event.id,
                "outcome": run.answer.status,
                "characters": len(run.answer.content),
            }
        },
    )


def claim(event_id: str, handed: AnswerHandedOffData) -> Claimed | None:
    """The continuation of the answer, claimed for this delivery; None when there is
    nothing for it to do (see the module). Its spend is admitted before the claim's commit
    (which records the hold), and given back if the claim does not commit."""
    holds: list[spend.Hold] = []
    refusals: list[errors.RateLimited] = []

    def attempt() -> Claimed | None:
        ref = conversations.message_ref(handed.conversation_id, handed.message_id)
        snapshot = ref.get()
        data = snapshot.to_dict() if snapshot.exists else None
        plan = None if data is None else _plan(handed, snapshot.id, data, event_id)
        if data is None or plan is None:
            return None
        cancel_asked = bool(data.get(streams.CANCEL_ASKED))
        calls_model = not cancel_asked and plan.max_tokens >= 1
        if calls_model and not (holds or refusals):
            tokens = request_tokens(plan.stream(Unmetered()).request())
            payer = admission.Payer(handed.user_id)  # the guest's and the deployment's
            try:
                holds.append(admission.admit(payer, tokens, message=False))
            except errors.RateLimited as refusal:
                refusals.append(refusal)
        hold = holds[0] if holds and calls_model else spend.Hold()
        db = clients.firestore()
        batch = db.batch()
        unchanged = db.write_option(last_update_time=snapshot.update_time)
        batch.update(ref, {CLAIMED_AT: utcnow()}, option=unchanged)
        spend.stage_record(batch, hold, handed.message_id)  # for the sweep, if this dies
        batch.commit()
        return Claimed(plan.run(hold), refusals[0] if refusals else None, cancel_asked)

    try:
        claimed = firestore.optimistic(attempt)
    except BaseException:
        for hold in holds:
            hold.release()
        raise
    if holds and (claimed is None or claimed.run.hold is not holds[0]):
        holds[0].release()  # nothing to continue after all, or a cancel came first
    return claimed


def _plan(
    handed: AnswerHandedOffData, answer_id: str, data: dict[str, Any], event_id: str
) -> Plan | None:
    """How to continue the answer stored as `data`; None (logged) when this delivery must
    leave it alone."""
    why = _leave_alone(data, event_id)
    found = None if why else _read_owners(handed)
    if found is None:
        why = why or "its conversation or agent is gone"
    else:
        answer = MessageRecord.from_document(answer_id, handed.conversation_id, data)
        question = streams.question_of(answer)
        if question is not None:
            conversation, agent = found
            handoff: dict[str, Any] = data[runs.HANDOFF]
            settings = model.get_model_settings()
            budget = settings.chat_history_token_budget
            longest = int(handoff.get("maxTokens") or settings.chat_max_output_tokens)
            return Plan(
                conversation=conversation,
                agent=agent,
                question=question,
                answer=answer,
                system=runs.system_prompt(agent, runs.persona_style(answer.persona)),
                history=send.turns_up_to(conversation.id, question.seq, budget),
                model_name=str(handoff.get("model") or agent.model or settings.chat_default_model),
                max_tokens=longest - answer.output_tokens,
                carried=runs.Carried(
                    input_tokens=answer.input_tokens,
                    output_tokens=answer.output_tokens,
                    latency_ms=float(handoff.get("latencyMs") or 0),
                    first_chunk_ms=handoff.get("firstChunkMs"),
                ),
            )
        why = "its question is gone"
    logger.info(
        "nothing to continue",
        extra={"fields": {"messageId": answer_id, "eventId": event_id, "why": why}},
    )
    return None


def _leave_alone(data: dict[str, Any], event_id: str) -> str:
    """Why a delivery of `event_id` must leave the answer alone ('' when it may claim it)."""
    if data.get("status") != "pending":
        return f"the answer is {data.get('status')}"
    handoff = data.get(runs.HANDOFF) or {}
    if handoff.get("eventId") != event_id:
        return "the answer was not handed off by this event"
    claimed_at = handoff.get("claimedAt")
    if claimed_at is not None and utcnow() - claimed_at < timedelta(seconds=CLAIM_LEASE_SECONDS):
        return "another delivery is continuing it"
    return ""


def _read_owners(handed: AnswerHandedOffData) -> tuple[ConversationRecord, AgentRecord] | None:
    """The answer's conversation and agent in one read, if both are still the guest's."""
    from shared.agents.store import AgentRecord, agent_ref

    refs = [conversations.conversation_ref(handed.conversation_id), agent_ref(handed.agent_id)]
    snapshots = {s.reference.path: s for s in clients.firestore().get_all(refs)}
    conversation, agent = (snapshots[ref.path] for ref in refs)
    owned = [s.to_dict() if s.exists else None for s in (conversation, agent)]
    if any(data is None or data.get("userId") != handed.user_id for data in owned):
        return None
    return (
        ConversationRecord.from_document(conversation.id, owned[0] or {}),
        AgentRecord.from_document(agent.id, owned[1] or {}),
    )
