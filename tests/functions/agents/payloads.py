"""Golden `chat-events` payloads (tests/data/agents/), retargeted at a test's agent."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.messaging.events import Event

DATA = Path(__file__).resolve().parents[2] / "data" / "agents"


def golden_event(
    name: str,
    *,
    agent_id: str,
    user_id: str,
    event_id: str | None = None,
    finished_at: datetime | None = None,
    **data: Any,
) -> Event:
    """The envelope in `<name>.json` for this agent and user; `event_id` fresh unless given."""
    envelope = json.loads((DATA / f"{name}.json").read_text())
    envelope["id"] = event_id or "evt_" + secrets.token_hex(16)
    envelope["data"].update(agentId=agent_id, userId=user_id, **data)
    if finished_at is not None:
        envelope["data"]["finishedAt"] = finished_at.isoformat()
    return Event.model_validate(envelope)
