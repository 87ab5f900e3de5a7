"""Outbox relay: publishes what producers staged in `outbox` but could not publish then
(`relay_outbox`, a tick on `outbox-relay` from Cloud Scheduler)."""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent

from shared.core import log
from shared.messaging import outbox

log.configure("outbox_relay")


@functions_framework.cloud_event
def relay_outbox(cloud_event: CloudEvent) -> None:
    """A tick on `outbox-relay` (Scheduler each minute; `make run` every few seconds):
    publish staged events. Nothing is poison; never retried (a failed flush leaves events
    staged for the next tick); duplicates are harmless (consumers dedupe on event ids)."""
    outbox.relay()
