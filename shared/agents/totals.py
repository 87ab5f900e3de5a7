"""Per-guest totals behind the dashboard, kept as they change: O(1) reads per call.

`agent_totals/{userId}` holds `activeAgents`, `totalRuns` and `successfulRuns`; the number
of agents is the guest's agent meter (`shared.limits.spend`, `limits/user_<id>_agents`).
They change in the same commits as what they count: an agent's creation, an update that
changes its status, its deletion (which takes its runs out again), and the exactly-once
run record of the chat-events consumer (`stats.add_run`). Every change is a field
transform, so writers never read the document and never contend on it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.gcp import clients
from shared.limits import spend

COLLECTION = "agent_totals"


def totals_ref(user_id: str) -> Any:
    return clients.firestore().collection(COLLECTION).document(user_id)


def stage(
    writer: Any,
    user_id: str,
    *,
    active: int = 0,
    runs: int = 0,
    successes: int = 0,
    expires_at: datetime | None = None,
) -> None:
    """Add to the guest's totals in `writer`'s commit (a batch or a transaction);
    `expires_at` (the guest's data expiry, `shared.identity.retention`) when known."""
    from google.cloud.firestore import Increment

    changes = {"activeAgents": active, "totalRuns": runs, "successfulRuns": successes}
    fields: dict[str, Any] = {name: Increment(amount) for name, amount in changes.items() if amount}
    if expires_at is not None:
        fields["expiresAt"] = expires_at
    if fields:
        writer.set(totals_ref(user_id), fields, merge=True)


def read(user_id: str) -> dict[str, int]:
    """The guest's totals (`agents`, `activeAgents`, `totalRuns`, `successfulRuns`): two
    documents in one read, however many agents there are."""
    agents = spend.guest_count(user_id, "agents").ref
    refs = [totals_ref(user_id), agents]
    found = {s.reference.path: s.to_dict() or {} for s in clients.firestore().get_all(refs)}
    totals = found.get(refs[0].path) or {}
    names = ("activeAgents", "totalRuns", "successfulRuns")
    counted = {name: max(0, int(totals.get(name, 0))) for name in names}
    return {"agents": max(0, int((found.get(agents.path) or {}).get("count", 0))), **counted}
