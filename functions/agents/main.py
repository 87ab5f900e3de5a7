"""Agents: CRUD of the caller's agents, the dashboard totals, and run statistics.

Two entry points: `agents` (HTTP, /v1/agents and /v1/dashboard) and `on_chat_event`
(Pub/Sub push from `chat-events`, deployed as `agents-stats`).
"""

from __future__ import annotations

from typing import Any

import functions_framework
from cloudevents.http import CloudEvent
from flask import Request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from shared.agents import stats as agent_stats
from shared.agents import store as agent_store
from shared.agents.store import (
    AgentCreate,
    AgentListQuery,
    AgentPage,
    AgentPublic,
    AgentUpdate,
    DashboardStats,
)
from shared.core import ids, log
from shared.identity.sessions import Principal
from shared.messaging import events
from shared.messaging.topics.chat_events import RUN_COMPLETED, RUN_FAILED, ChatRunData
from shared.web.api import Api, Call

log.configure("agents")
logger = log.get_logger("agents")
api = Api("agents")
functions_framework.errorhandler(HTTPException)(api.framework_error)


def _user(call: Call) -> str:
    principal: Principal = call.principal
    return principal.user_id


@api.route("/v1/agents", methods=["POST"], body=AgentCreate, response=AgentPublic, status=201)
def create_agent(call: Call) -> AgentPublic:
    """Create an agent owned by the caller."""
    return agent_store.create_agent(_user(call), call.body).public()


@api.route("/v1/agents", query=AgentListQuery, response=AgentPage)
def list_agents(call: Call) -> AgentPage:
    """The caller's agents, newest first, one page at a time."""
    query: AgentListQuery = call.query
    records, next_token = agent_store.list_agents(_user(call), query.limit, query.page_token)
    return AgentPage(agents=agent_store.with_stats(records), next_page_token=next_token)


@api.route("/v1/agents/<agent_id>", response=AgentPublic)
def get_agent(call: Call) -> AgentPublic:
    """One of the caller's agents, with its run statistics."""
    record = agent_store.get_owned_agent(_user(call), call.params["agent_id"])
    return agent_store.with_stats([record])[0]


@api.route("/v1/agents/<agent_id>", methods=["PATCH"], body=AgentUpdate, response=AgentPublic)
def update_agent(call: Call) -> AgentPublic:
    """Change the fields present in the body; the others keep their values."""
    record = agent_store.update_agent(_user(call), call.params["agent_id"], call.body)
    return agent_store.with_stats([record])[0]


@api.route("/v1/agents/<agent_id>", methods=["DELETE"], status=204)
def delete_agent(call: Call) -> None:
    """Delete the agent for good; its conversations answer 404 from now on."""
    agent_store.delete_agent(_user(call), call.params["agent_id"])


@api.route("/v1/dashboard/stats", response=DashboardStats)
def dashboard_stats(call: Call) -> DashboardStats:
    """Totals over the caller's agents."""
    return agent_store.dashboard(_user(call))


@functions_framework.http
def agents(request: Request) -> Response:
    return api(request)


def count_run(event: events.Event, attributes: dict[str, str]) -> None:
    """Validate a decoded chat event and count it; what cannot count is logged and acked."""
    if event.type not in (RUN_COMPLETED, RUN_FAILED):
        logger.info("event type ignored", extra={"fields": _about(event)})
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
    result = agent_stats.record_run(agent_store.agent_ref(run.agent_id), event, run)
    if result == "dropped":
        logger.info("run of a missing agent dropped", extra={"fields": _about(event)})


def _about(event: events.Event) -> dict[str, Any]:
    return {"eventId": event.id, "eventType": event.type, "subject": event.subject}


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
    events.consume(cloud_event, count_run)
