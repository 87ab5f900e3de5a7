"""The MCP server: the tool registry for MCP clients (Claude Desktop, IDEs, agents).

`POST /mcp` speaks MCP over Streamable HTTP (stateless, JSON responses); a guest session
token lists and calls guest tools, the operator token every tool.
"""

from __future__ import annotations

import functions_framework
from flask import Request
from werkzeug.wrappers import Response

from shared.core import log
from shared.mcp_server import server
from shared.platform_ops.settings import get_platform_settings
from shared.tools import registry
from shared.web.api import Api, Call

log.configure("mcp")
get_platform_settings()  # a bad PLATFORM_* setting (the operator tools) stops it at start
api = Api("mcp", auth=server.authenticate).serve_framework_errors()


# POST only: a stateless server offers no standalone SSE stream (GET answers 405, as the
# transport allows) and no session to DELETE. A `tools/call` of `start_loadtest` runs the
# scenario within the request, so the route's budget is a tool call's.
@api.route(
    "/mcp", methods=["POST"], raw_body=True, tags=["mcp"], deadline=registry.call_deadline_seconds
)
def mcp(call: Call) -> Response:
    """MCP over Streamable HTTP: JSON-RPC `initialize`, `tools/list`, `tools/call`."""
    return server.handle(call.request, call.raw_body, call.principal)


@functions_framework.http
def mcp_server(request: Request) -> Response:
    return api(request)
