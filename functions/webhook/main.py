"""The GitHub webhook: verified deliveries become deploy events on `deploy-events`."""

from __future__ import annotations

import functions_framework
from flask import Request
from werkzeug.wrappers import Response

from shared.core import log
from shared.github import deliveries
from shared.github.models import DELIVERY_HEADERS, DeliveryAccepted, GitHubDelivery
from shared.web.api import Api, Call, Reply

log.configure("webhook")
settings = deliveries.get_webhook_settings()
api = Api("webhook").serve_framework_errors()


@api.route(
    "/v1/webhooks/github",
    methods=["POST"],
    public=True,  # GitHub signs the body instead (X-Hub-Signature-256)
    raw_body=True,
    body=GitHubDelivery,
    headers=DELIVERY_HEADERS,
    max_body_bytes=settings.github_webhook_max_bytes,
    response=DeliveryAccepted,
    status=202,
    also=[
        (
            200,
            "A ping, or a delivery already received: the same delivery id, or the same signed "
            "body under another id (nothing is done again)",
        )
    ],
    errors=[400, 401, 413, 415],
    deadline=deliveries.webhook_deadline_seconds,  # well under GitHub's 10 s
)
def github_delivery(call: Call) -> Reply:
    """Receive a GitHub delivery: 202 when accepted, 200 for ping, redeliveries and replays."""
    answer, status = deliveries.receive(call.raw_body, call.request.headers)
    return Reply(answer, status)


@functions_framework.http
def webhook(request: Request) -> Response:
    return api(request)
