"""The agents' side of `chat-events`: each finished run counts in its agent's statistics."""

from __future__ import annotations

from typing import Any

from shared.agents import stats, store
from shared.core import ids, log
from shared.messaging.events import Event
from shared.messaging.topics.chat_events import RUN_COMPLETED, RUN_FAILED, ChatRunData

logger = log.get_logger("agents")


def count_run(event: Event, attributes: dict[str, str]) -> None:
    """Validate a decoded chat event and count it; what cannot count is logged and acked."""
    if event.type not in (RUN_COMPLETED, RUN_FAILED):
        logger.debug("event type ignored", extra={"fields": _about(event)})
        return
    try:
        run = event.data_as(ChatRunData)
    except ValueError as exc:
        logger.error(
            "poison chat event dropped",
            extra={"fields": {**_about(event), "reason": str(exc)[:300]}},
        )
        return
    if not ids.is_id("agt", run.agent_id):
        logger.error("chat event names no agent", extra={"fields": _about(event)})
        return
    result = stats.record_run(store.agent_ref(run.agent_id), event, run)
    if result == "dropped":
        logger.info("run of a missing agent dropped", extra={"fields": _about(event)})


def _about(event: Event) -> dict[str, Any]:
    return {"eventId": event.id, "eventType": event.type, "subject": event.subject}
