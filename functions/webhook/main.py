"""The GitHub webhook: verified deliveries become deploy events on `deploy-events`."""

from __future__ import annotations

import json

import functions_framework
from flask import Request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from shared.core import errors, log
from shared.core.models import ApiModel
from shared.github import deliveries as github
from shared.github import normalise as github_events
from shared.web.api import Api, Call, Reply

log.configure("webhook")
api = Api("webhook")
functions_framework.errorhandler(HTTPException)(api.framework_error)
settings = github.get_webhook_settings()


class DeliveryAccepted(ApiModel):
    delivery_id: str
    event: str
    outcome: str
    event_type: str | None = None
    event_id: str | None = None
    reason: str = ""
    duplicate: bool = False


@api.route(
    "/v1/webhooks/github",
    methods=["POST"],
    auth=None,
    raw_body=True,
    max_body_bytes=settings.github_webhook_max_bytes,
    response=DeliveryAccepted,
    status=202,
    errors=[400, 401, 413, 415],
)
def github_delivery(call: Call) -> Reply:
    """Receive a GitHub delivery: 202 when accepted, 200 for ping and redeliveries."""
    headers = call.request.headers
    # The signature is checked before anything in the body is looked at.
    if not github.signature_valid(
        call.raw_body, headers.get("X-Hub-Signature-256"), github.signing_secrets()
    ):
        raise errors.Unauthenticated("X-Hub-Signature-256 is missing or does not match the body")
    event_name = headers.get("X-GitHub-Event", "").strip()
    delivery_id = headers.get("X-GitHub-Delivery", "").strip()
    if not event_name or not delivery_id or len(delivery_id) > 200:
        raise errors.InvalidRequest("X-GitHub-Event and X-GitHub-Delivery headers are required")
    try:
        payload = json.loads(call.raw_body)
    except (ValueError, UnicodeDecodeError):
        raise errors.MalformedJson("the delivery body is not JSON") from None
    if not isinstance(payload, dict):
        raise errors.InvalidRequest("the delivery body must be a JSON object")
    result = github_events.normalise(
        event_name, delivery_id, payload, settings.github_branch_environments
    )
    action = str(payload.get("action") or "")
    try:
        event = github.record(delivery_id, event_name, action, result)
    except github.DuplicateDelivery:
        body = DeliveryAccepted(
            delivery_id=delivery_id, event=event_name, outcome="duplicate", duplicate=True
        )
        return Reply(body, 200)
    body = DeliveryAccepted(
        delivery_id=delivery_id,
        event=event_name,
        outcome=result.outcome,
        event_type=result.event_type,
        event_id=event.id if event else None,
        reason=result.reason,
    )
    return Reply(body, 200 if result.outcome == "ping" else 202)


@functions_framework.http
def webhook(request: Request) -> Response:
    return api(request)
