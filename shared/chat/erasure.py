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

import contextlib
from collections.abc import Callable
from functools import partial

from shared.agents import store as agents
from shared.agents import totals
from shared.chat import conversations
from shared.core import errors
from shared.gcp import clients
from shared.identity import sessions
from shared.limits import quotas, spend
from shared.web import idempotency, pools

# Agents and conversations are erased this many at a time: a guest at the caps (100
# agents, 500 conversations) is a few thousand small commits.
_ERASING = ("erasure", 8)


def _all_done(work: list[Callable[[], None]]) -> None:
    """Run `work` on the erasure pool with the request's context (its deadline too)."""
    for future in [pools.submit(*_ERASING, run) for run in work]:
        future.result()


def erase_guest(user_id: str) -> dict[str, int]:
    """Erase the guest's data; what was erased, by kind."""
    from google.api_core.exceptions import NotFound
    from google.cloud.firestore import FieldFilter

    db = clients.firestore()
    erased = {"agents": 0, "conversations": 0, "sessions": 0}

    def delete_agent(agent_id: str) -> None:
        with contextlib.suppress(errors.NotFound, NotFound):  # deleted meanwhile: done
            agents.delete_agent(user_id, agent_id)

    while True:
        records, _ = agents.list_agents(user_id, 100)
        _all_done([partial(delete_agent, record.id) for record in records])
        erased["agents"] += len(records)
        if len(records) < 100:
            break
    mine = FieldFilter("userId", "==", user_id)
    found = [
        conversations.ConversationRecord.from_document(snapshot.id, snapshot.to_dict() or {})
        for snapshot in db.collection(conversations.COLLECTION).where(filter=mine).stream()
    ]
    _all_done([partial(conversations.erase, record) for record in found])
    erased["conversations"] = len(found)
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
