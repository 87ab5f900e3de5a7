"""Sweeps: what no request will ever finish, finished on a schedule.

Cloud Scheduler calls `POST /v1/sweeps` (functions/cleanup, `sweep`) every few minutes;
each pass is bounded (`SWEEP_PAGE_SIZE` documents per kind) and idempotent, so a pass
that stops half way is finished by the next one.

- Abandoned answers: an answer is stored `pending` before the model is called and made
  final by the instance that streams it. When that instance dies, nothing else will:
  answers pending for longer than `CHAT_PENDING_SWEEP_MINUTES` (well past the chat
  function's timeout and the longest model call) are marked `failed` with the error code
  `abandoned`, and a `chat.run.failed` event is staged with them, so stats and alerts
  count them like any failed run, and a resumed stream of such an answer ends with an
  `error` event instead of waiting.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.chat import conversations
from shared.chat.models import SweepResult
from shared.core import log, state
from shared.core.models import utcnow
from shared.gcp import clients
from shared.messaging import events, outbox
from shared.messaging.topics import chat_events
from shared.messaging.topics.chat_events import ChatRunData

logger = log.get_logger("sweeps")
SOURCE = "/functions/cleanup"
ABANDONED = "abandoned"  # the error code of an answer its instance never finished
PUBLISH_SECONDS = 2.0


class SweepSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    chat_pending_sweep_minutes: int = Field(
        30,
        ge=10,
        le=1440,
        description=(
            "Minutes after which an answer still `pending` is taken for abandoned (its "
            "instance died) and marked failed (`abandoned`) by the sweep; keep it above the "
            "chat function's timeout (300 s) and ANTHROPIC_TIMEOUT_SECONDS."
        ),
    )
    sweep_page_size: int = Field(
        100,
        ge=1,
        le=500,
        description="Documents of each kind one sweep pass handles at most (the rest wait).",
    )


@state.once
def get_sweep_settings() -> SweepSettings:
    return SweepSettings()


def run_sweeps() -> SweepResult:
    """One bounded pass of every sweep."""
    return SweepResult(pending_failed=fail_abandoned_answers())


def fail_abandoned_answers(now: datetime | None = None) -> int:
    """Mark answers pending for too long as failed; how many were."""
    from google.cloud.firestore import FieldFilter

    settings = get_sweep_settings()
    cutoff = (now or utcnow()) - timedelta(minutes=settings.chat_pending_sweep_minutes)
    query = (
        clients.firestore()
        .collection_group(conversations.MESSAGES)
        .where(filter=FieldFilter("status", "==", "pending"))
        .where(filter=FieldFilter("createdAt", "<", cutoff))
        .limit(settings.sweep_page_size)
    )
    failed = sum(1 for snapshot in query.stream() if _fail(snapshot))
    if failed:
        logger.warning("abandoned answers marked failed", extra={"fields": {"answers": failed}})
    return failed


def _fail(snapshot: Any) -> bool:
    """Fail one abandoned answer with its `chat.run.failed` event, in one commit; False
    when it changed since it was read (its run finished after all) or its conversation
    is gone (the answer is then deleted: nothing can reach it)."""
    from google.api_core.exceptions import FailedPrecondition, NotFound

    db = clients.firestore()
    conversation_id = snapshot.reference.parent.parent.id
    conversation = conversations.conversation_ref(conversation_id).get()
    unchanged = db.write_option(last_update_time=snapshot.update_time)
    if not conversation.exists:
        with contextlib.suppress(FailedPrecondition, NotFound):
            snapshot.reference.delete(option=unchanged)
        return False
    record = conversations.ConversationRecord.from_document(
        conversation_id, conversation.to_dict() or {}
    )
    data = snapshot.to_dict() or {}
    now = utcnow()
    run = ChatRunData(
        agent_id=record.agent_id,
        user_id=record.user_id,
        conversation_id=record.id,
        message_id=snapshot.id,
        model=str(data.get("model") or ""),
        outcome="failed",
        error_code=ABANDONED,
        persona=data.get("persona"),
        finished_at=now,
    )
    event = events.new_event(chat_events.RUN_FAILED, SOURCE, f"conversations/{record.id}", run)
    batch = db.batch()
    batch.update(
        snapshot.reference,
        {"status": "failed", "errorCode": ABANDONED, "completedAt": now},
        option=unchanged,
    )
    outbox.stage(batch, chat_events.TOPIC, event)
    try:
        batch.commit()
    except (FailedPrecondition, NotFound):
        return False
    outbox.deliver(chat_events.TOPIC, event, timeout=PUBLISH_SECONDS)
    return True
