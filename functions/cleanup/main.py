"""Cleanup: what a deletion leaves to do in the background, and the scheduled sweeps.

Two entry points: `on_agent_event` (Pub/Sub push from `agent-events`, deployed as
`agent-cleanup`): a deleted agent's conversations and their messages are erased; and
`sweep` (HTTP, operators only, deployed as `sweep`): Cloud Scheduler's `POST /v1/sweeps`
runs one bounded pass of `shared.chat.sweeps`.
"""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent
from flask import Request
from werkzeug.wrappers import Response

from shared.chat import conversations, sweeps
from shared.chat.models import SweepResult
from shared.core import log
from shared.identity.auth import authenticate_operator
from shared.messaging import events
from shared.messaging.events import Event
from shared.messaging.topics import agent_events
from shared.web.api import Api, Call

log.configure("cleanup")
logger = log.get_logger("cleanup")
sweeps.get_sweep_settings()  # a bad SWEEP_* setting stops the function at start
api = Api("sweep", auth=authenticate_operator).serve_framework_errors()


def erase_for(event: Event, attributes: dict[str, str]) -> None:
    if event.type != agent_events.DELETED:
        logger.info("event type ignored", extra={"fields": {"eventId": event.id}})
        return
    try:
        deleted = event.data_as(agent_events.AgentDeletedData)
    except ValueError as exc:
        logger.error("poison agent event dropped", extra={"fields": {"reason": str(exc)[:300]}})
        return
    erased = conversations.erase_agent_conversations(deleted.user_id, deleted.agent_id)
    logger.info(
        "deleted agent's conversations erased",
        extra={"fields": {"agentId": deleted.agent_id, "conversations": erased}},
    )


@functions_framework.cloud_event
def on_agent_event(cloud_event: CloudEvent) -> None:
    """Erase a deleted agent's conversations and messages (`agent.deleted`).

    Retried: any Firestore failure raises, so Pub/Sub redelivers (then dead-letters).
    Dropped as poison (logged, acknowledged): a message that is not a platform event, or
    data that is not `AgentDeletedData`. Ignored: other event types.
    Deduplicated: not needed, erasing is idempotent (a redelivery finds nothing left).
    """
    events.consume(cloud_event, erase_for)


@api.route(
    "/v1/sweeps",
    methods=["POST"],
    response=SweepResult,
    deadline=sweeps.sweep_deadline_seconds,  # a page of each sweep: a budget of its own
    tags=["sweeps"],
)
def run_sweeps(call: Call) -> SweepResult:
    """Run one bounded pass of every sweep (Cloud Scheduler, every 10 minutes)."""
    return sweeps.run_sweeps()


@functions_framework.http
def sweep(request: Request) -> Response:
    return api(request)
