"""Agents: CRUD, the dashboard totals and erasure (`agents`, HTTP). Run statistics come
from `functions/agent_stats` (Pub/Sub), so these routes alone load this module."""

from __future__ import annotations

import functions_framework
from flask import Request
from werkzeug.wrappers import Response

from shared.agents import models, store
from shared.agents.models import AgentCreate, AgentPublic
from shared.core import log
from shared.identity import auth
from shared.tools import registry as tools
from shared.web.api import Api, Call

log.configure("agents")
api = Api("agents", auth=auth.authenticate, claim=auth.claim).serve_framework_errors()
AGENTS, AGENT = "/v1/agents", "/v1/agents/<agent_id>"


@api.route(
    AGENTS, methods=["POST"], body=AgentCreate, response=AgentPublic, status=201, errors=[429]
)
def create_agent(call: Call) -> AgentPublic:
    """Create an agent owned by the caller."""
    tools.check_agent_tools(call.body.tools)
    principal = call.principal
    return store.create_agent(principal.user_id, call.body, principal.expires_at).public()


@api.read(AGENTS, query=models.AgentListQuery, response=models.AgentPage)
def list_agents(call: Call) -> models.AgentPage:
    """The caller's agents, newest first, one page at a time."""
    query: models.AgentListQuery = call.query
    return store.agent_page(call.principal.user_id, query.limit, query.page_token)


@api.read(AGENT, response=models.AgentPublic)
def get_agent(call: Call) -> models.AgentPublic:
    """One of the caller's agents, with its run statistics."""
    record = store.get_owned_agent(call.principal.user_id, call.params["agent_id"])
    return store.with_stats([record])[0]


@api.route(
    AGENT, methods=["PATCH"], body=models.AgentUpdate, response=models.AgentPublic, errors=[412]
)
def update_agent(call: Call) -> models.AgentPublic:
    """Change the fields present in the body; the others keep their values."""
    tools.check_agent_tools(call.body.tools)
    user, if_match = call.principal.user_id, call.request.headers.get("If-Match")
    record = store.update_agent(user, call.params["agent_id"], call.body, if_match)
    return store.with_stats([record])[0]


@api.route(AGENT, methods=["DELETE"], status=204, errors=[412])
def delete_agent(call: Call) -> None:
    """Delete the agent for good; its conversations answer 404 from now on."""
    if_match = call.request.headers.get("If-Match")
    store.delete_agent(call.principal.user_id, call.params["agent_id"], if_match)


@api.read("/v1/dashboard/stats", response=models.DashboardStats)
def dashboard_stats(call: Call) -> models.DashboardStats:
    """Totals over the caller's agents."""
    return store.dashboard(call.principal.user_id)


@api.route("/v1/me", methods=["DELETE"], status=204, errors=[503])
def erase_me(call: Call) -> None:
    """Erase all your data at once; your tokens stop working."""
    from shared.chat import erasure  # only this route pays for the chat package

    erasure.erase_guest(call.principal.user_id)
    auth.forget(call.principal.token_hash)


@functions_framework.http
def agents(request: Request) -> Response:
    return api(request)
