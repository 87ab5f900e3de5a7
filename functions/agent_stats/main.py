"""Agent statistics: each finished chat run counted in its agent's stats and the guest's
totals (`on_chat_event`, Pub/Sub push from `chat-events`, deployed as `agents-stats`)."""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent

from shared.agents import consumer
from shared.core import log
from shared.messaging import events

log.configure("agent_stats")


@functions_framework.cloud_event
def on_chat_event(cloud_event: CloudEvent) -> None:
    """Count a finished chat run (`chat.run.completed` / `chat.run.failed`) in its agent's stats.

    Retried: any Firestore failure raises, so Pub/Sub redelivers (then dead-letters).
    Dropped as poison (logged, acknowledged): a message that is not a platform event, data
    that is not `ChatRunData`, a malformed agent id. Ignored: other event types, and runs
    of an agent that no longer exists or belongs to another user.
    Deduplicated: the event id is recorded in `processed_events` in the same transaction
    as the counter update, so a redelivered event counts once.
    """
    events.consume(cloud_event, consumer.count_run)
