"""Alerts: the operator API over alerts and silences (`alerts`, HTTP). The alerts come in
through `functions/alert_intake` (Pub/Sub), so these routes alone load this module."""

from __future__ import annotations

import functions_framework
from flask import Request
from werkzeug.wrappers import Response

from shared.alerts import records, silences
from shared.alerts.silences import SilenceCreate, SilenceList, SilencePublic
from shared.core import log
from shared.identity.auth import authenticate_operator
from shared.web.api import Api, Call

log.configure("alerts")
api = Api("alerts", auth=authenticate_operator).serve_framework_errors()
SILENCES = "/v1/alerts/silences"


@api.route("/v1/alerts", query=records.AlertQuery, response=records.AlertList)
def list_alerts(call: Call) -> records.AlertList:
    """Alerts, most recently seen first."""
    return records.list_alerts(call.query)


@api.route(SILENCES, methods=["POST"], body=SilenceCreate, response=SilencePublic, status=201)
def create_silence(call: Call) -> SilencePublic:
    """Silence alerts whose labels match, for a time window."""
    return silences.create(call.body)


@api.route(SILENCES, response=SilenceList)
def list_silences(call: Call) -> SilenceList:
    """Silences, newest first, with their status (pending, active, expired)."""
    return SilenceList(silences=silences.list_all())


@api.route(SILENCES + "/<silence_id>", methods=["DELETE"], status=204, errors=[404, 412])
def expire_silence(call: Call) -> None:
    """End a silence now (it stays on record)."""
    silences.expire(call.params["silence_id"], call.request.headers.get("If-Match"))


@api.route("/v1/alerts/<alert_id>", response=records.AlertPublic, errors=[404])
def get_alert(call: Call) -> records.AlertPublic:
    """One alert with its latest notifications."""
    return records.get_alert(call.params["alert_id"])


@functions_framework.http
def alerts(request: Request) -> Response:
    return api(request)
