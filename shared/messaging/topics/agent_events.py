"""The `agent-events` topic: what the agents API publishes when an agent goes away.

`agent.deleted`: the agent document is gone; its conversations and their messages are
erased in the background by the chat side (`functions/cleanup`), however many there are.
The event is staged in the outbox in the deletion's own transaction, so a crash after
the commit delays the erasure but never loses it.
"""

from __future__ import annotations

from datetime import datetime

from shared.core.models import ApiModel

TOPIC = "agent-events"
SOURCE = "/functions/agents"
DELETED = "agent.deleted"


class AgentDeletedData(ApiModel):
    agent_id: str
    user_id: str
    deleted_at: datetime
