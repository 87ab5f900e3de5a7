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
  `error` event instead of waiting; the spend the run reserved is given back
  (`spend.release_recorded`).
- Expired guests: a guest's data carries `expiresAt` (the session's expiry +
  `GUEST_DATA_RETENTION_DAYS`) and Firestore's TTL deletes it, within a day or so. The
  sweep erases, through `DELETE /v1/me`'s own code (`erasure.erase_guest`, which also
  takes agents' stat shards and counters that TTL cannot reach), every guest with an
  agent past its `expiresAt`, and every guest with an agent or conversation written before
  the field existed and older than `SESSION_TTL_HOURS` + the retention, so that its session
  ended at least the retention ago. A guest found with a live session after all (the TTL
  setting was lowered) keeps its data, stamped with the expiry it now has.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.agents import store as agents
from shared.chat import conversations, erasure
from shared.chat.models import SweepResult
from shared.core import log, state
from shared.core.models import utcnow
from shared.core.settings import get_settings
from shared.gcp import clients
from shared.identity import retention, sessions
from shared.limits import spend
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
    sweep_deadline_seconds: float = Field(
        240.0,
        gt=0,
        le=290,
        description=(
            "Budget of one sweep pass (`POST /v1/sweeps`): 503 past it, and what it had not "
            "committed waits for the next pass; below the sweep function's 300 s timeout."
        ),
    )


@state.once
def get_sweep_settings() -> SweepSettings:
    return SweepSettings()


def sweep_deadline_seconds() -> float:
    return get_sweep_settings().sweep_deadline_seconds


def run_sweeps() -> SweepResult:
    """One bounded pass of every sweep."""
    pending_failed = fail_abandoned_answers()
    guests_erased, guests_kept = erase_expired_guests()
    return SweepResult(
        pending_failed=pending_failed, guests_erased=guests_erased, guests_kept=guests_kept
    )


def erase_expired_guests(now: datetime | None = None) -> tuple[int, int]:
    """Erase guests whose data's retention is over; (guests erased, guests found with a
    live session after all, whose data was stamped with its expiry and kept)."""
    from google.cloud.firestore import FieldFilter

    now = now or utcnow()
    page = get_sweep_settings().sweep_page_size
    db = clients.firestore()
    expired = (
        db.collection(agents.COLLECTION)
        .where(filter=FieldFilter("expiresAt", "<", now))
        .limit(page)
    )
    owners: dict[str, list[Any]] = {
        str((s.to_dict() or {})["userId"]): [] for s in expired.stream()
    }
    keep = timedelta(
        hours=get_settings().session_ttl_hours,
        days=retention.get_retention_settings().guest_data_retention_days,
    )
    cutoff = now - keep  # data older than this outlived its session by the retention
    older = [
        db.collection(agents.COLLECTION)
        .where(filter=FieldFilter("createdAt", "<", cutoff))
        .limit(page),
        db.collection(conversations.COLLECTION)
        .where(filter=FieldFilter("createdAt", "<", cutoff))
        .limit(page),
    ]
    for query in older:  # oldest first: Firestore orders by the range field
        for snapshot in query.stream():
            data = snapshot.to_dict() or {}
            if retention.EXPIRY_FIELD not in data:  # written before the field: none of TTL's
                owners.setdefault(str(data["userId"]), []).append(snapshot.reference)
    erased = kept = 0
    for user_id, legacy in owners.items():
        expiry = retention.data_expiry(_live_session_expiry(user_id, now))
        if expiry is None:
            erasure.erase_guest(user_id)
            erased += 1
            continue
        for ref in legacy:
            ref.update({retention.EXPIRY_FIELD: expiry})
        kept += 1
    if erased:
        logger.info("expired guests erased", extra={"fields": {"guests": erased}})
    return erased, kept


def _live_session_expiry(user_id: str, now: datetime) -> datetime | None:
    """The expiry of the guest's session if it is still live."""
    from google.cloud.firestore import FieldFilter

    query = (
        clients.firestore()
        .collection(sessions.COLLECTION)
        .where(filter=FieldFilter("userId", "==", user_id))
    )
    expiries = [(s.to_dict() or {}).get("expiresAt") for s in query.stream()]
    live = [e for e in expiries if isinstance(e, datetime) and e > now]
    return max(live, default=None)


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
            spend.release_recorded(snapshot.id)
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
    spend.release_recorded(snapshot.id)  # what the dead run reserved and never settled
    outbox.deliver(chat_events.TOPIC, event, timeout=PUBLISH_SECONDS)
    return True
