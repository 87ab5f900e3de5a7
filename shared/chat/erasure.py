"""Erasing everything of a guest: `DELETE /v1/me`.

At once: every agent, every conversation with its messages (the `agent.deleted` events
the agent deletions stage then find nothing left; erasing them here keeps the guest's
counters from being touched again after they are gone), every session of the guest
(every token is refused from then on), the guest's counters and quota document, and the
stored answers of its `Idempotency-Key`s (a retry must not replay what was erased). The
guest's daily token meters are spend records of the deployment; they expire with
their day (TTL).
"""

from __future__ import annotations

from shared.agents import store as agents
from shared.agents import totals
from shared.chat import conversations
from shared.gcp import clients
from shared.identity import sessions
from shared.limits import quotas, spend
from shared.web import idempotency


def erase_guest(user_id: str) -> dict[str, int]:
    """Erase the guest's data; what was erased, by kind."""
    from google.cloud.firestore import FieldFilter

    db = clients.firestore()
    erased = {"agents": 0, "conversations": 0, "sessions": 0}
    while True:
        records, _ = agents.list_agents(user_id, 100)
        for record in records:
            agents.delete_agent(user_id, record.id)
        erased["agents"] += len(records)
        if len(records) < 100:
            break
    mine = FieldFilter("userId", "==", user_id)
    for snapshot in db.collection(conversations.COLLECTION).where(filter=mine).stream():
        conversation = conversations.ConversationRecord.from_document(
            snapshot.id, snapshot.to_dict() or {}
        )
        conversations.erase(conversation)
        erased["conversations"] += 1
    batch = db.batch()
    batch.delete(quotas.quota_ref(user_id))
    batch.delete(totals.totals_ref(user_id))
    for what in ("agents", "conversations"):
        batch.delete(spend.guest_count(user_id, what).ref)
    for snapshot in db.collection(sessions.COLLECTION).where(filter=mine).stream():
        batch.delete(snapshot.reference)
        erased["sessions"] += 1
    batch.commit()
    erased["idempotencyKeys"] = idempotency.forget(f"user:{user_id}")
    return erased
