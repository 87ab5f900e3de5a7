"""Dashboard counters for guests whose agents predate them, recounted once.

`agent_totals/{userId}` and the guest's agent meter (`limits/user_<id>_agents`) are kept
as agents and runs change (`shared.agents.totals`); a guest whose agents were created
before the counters existed has none, so the dashboard would show zeros. `recount()`
counts such a guest's agents and their runs (from the stat shards) and creates the
totals document; a guest who has one is left alone. Run by operators with
`python -m tools.backfill_totals` (docs/deploy.md). A write that lands while a guest is
being recounted may be counted twice or not at all: run it once, after the deploy that
introduced the counters.
"""

from __future__ import annotations

from google.api_core.exceptions import AlreadyExists

from shared.agents import stats as agent_stats
from shared.agents import store, totals
from shared.core.models import utcnow
from shared.gcp import clients
from shared.limits import spend


def recount(user_id: str) -> bool:
    """Create the guest's totals from their agents if they have none; True if created."""
    from google.cloud.firestore import FieldFilter

    db = clients.firestore()
    if totals.totals_ref(user_id).get().exists:
        return False
    mine = FieldFilter("userId", "==", user_id)
    records = [
        store.AgentRecord.from_document(s.id, s.to_dict() or {})
        for s in db.collection(store.COLLECTION).where(filter=mine).stream()
    ]
    runs = agent_stats.read_stats([store.agent_ref(record.id) for record in records]).values()
    batch = db.batch()
    batch.create(
        totals.totals_ref(user_id),
        {
            "activeAgents": sum(1 for record in records if record.active),
            "totalRuns": sum(stats.total_runs for stats in runs),
            "successfulRuns": sum(stats.successful_runs for stats in runs),
        },
    )
    count = {"count": len(records), "updatedAt": utcnow()}
    batch.set(spend.guest_count(user_id, "agents").ref, count, merge=True)
    try:
        batch.commit()
    except AlreadyExists:  # counted meanwhile by the live path: that one is right
        return False
    return True


def recount_all() -> dict[str, int]:
    """Recount every guest with agents but no totals; guests seen and recounted."""
    db = clients.firestore()
    owners = {
        str((s.to_dict() or {}).get("userId"))
        for s in db.collection(store.COLLECTION).select(["userId"]).stream()
    }
    recounted = sum(1 for user_id in sorted(owners) if recount(user_id))
    return {"guests": len(owners), "recounted": recounted}
