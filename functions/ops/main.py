"""Ops commands for operators: plain-language requests planned onto the tool registry.

`POST /v1/ops/commands` answers the plan (and the result, when the plan only reads);
a plan that changes something runs after `POST /v1/ops/commands/{id}/confirm`, once.
"""

from __future__ import annotations

import functions_framework
from flask import Request
from werkzeug.wrappers import Response

from shared.core import log
from shared.identity.auth import authenticate_operator
from shared.ops import commands, planner, requesters
from shared.ops.models import CommandCreate, CommandPublic
from shared.platform_ops.settings import get_platform_settings
from shared.tools import registry
from shared.web.api import Api, Call

log.configure("ops")
planner.get_ops_settings()  # a bad OPS_* setting stops the function at start
get_platform_settings()  # and so does a bad PLATFORM_* one (the operator tools)
api = Api("ops", auth=authenticate_operator).serve_framework_errors()
COMMAND = "/v1/ops/commands/<command_id>"


def _operator(call: Call) -> str:
    """Who is calling, as the command records it (`shared.ops.requesters`)."""
    return requesters.requested_by(call.principal.via, call.request.headers)


@api.route(
    "/v1/ops/commands",
    methods=["POST"],
    body=CommandCreate,
    response=CommandPublic,
    status=201,
    tags=["ops"],
)
def create_command(call: Call) -> CommandPublic:
    """Plan a command; a read-only plan runs at once, a changing one awaits confirmation.
    A command no tool fits (or that says not to act) is `unrecognised` with its reason."""
    return commands.create(call.body.text, call.client_ip, _operator(call))


@api.route(COMMAND, response=CommandPublic, errors=[404], tags=["ops"])
def get_command(call: Call) -> CommandPublic:
    """A command with its plan, status and result."""
    return commands.get(call.params["command_id"])


@api.route(
    COMMAND + "/confirm",
    methods=["POST"],
    response=CommandPublic,
    errors=[404, 409],
    tags=["ops"],
    deadline=registry.call_deadline_seconds,  # a confirmed load test runs within the request
)
def confirm_command(call: Call) -> CommandPublic:
    """Run a changing plan; confirming again runs nothing and answers the stored command
    (a confirmation that loses a race waits for the winner's result)."""
    return commands.confirm(call.params["command_id"], _operator(call))


@functions_framework.http
def ops(request: Request) -> Response:
    return api(request)
