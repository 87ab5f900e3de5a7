"""The registry's tools over MCP (Streamable HTTP), with the official `mcp` SDK's server.

`tools/list` answers the tools the caller may use and `tools/call` runs one as the caller
(`shared.tools.registry`). The transport is stateless with JSON responses: every POST
stands alone (no session to keep between requests or instances), which is what a
request-per-instance platform can serve. The function is a WSGI function like the others:
`handle` hands one HTTP request to the SDK's ASGI session manager in a short event loop
and answers what it wrote.

Callers authenticate with the platform's bearer tokens: a guest session token, or the
operator token (`ADMIN_TOKEN`) when one is configured.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from werkzeug.wrappers import Request, Response

from shared.core import errors
from shared.identity import auth
from shared.tools import registry
from shared.tools.registry import Caller

_caller: ContextVar[Caller] = ContextVar("mcp_caller")
# The SDK logs each stateless request's manager start and stop at INFO: noise here.
logging.getLogger("mcp").setLevel(logging.WARNING)


def authenticate(request: Request) -> Caller:
    """The operator (the `ADMIN_TOKEN` bearer, if set) or the guest of a live session."""
    if auth.bears_admin_token(request):
        return Caller(operator=True)
    return Caller(user_id=auth.authenticate(request).user_id)


async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
    return types.ListToolsResult(
        tools=[
            types.Tool(
                name=tool.name,
                description=tool.description,
                input_schema=tool.input_schema(),
                annotations=types.ToolAnnotations(
                    read_only_hint=not tool.changes, destructive_hint=tool.changes
                ),
            )
            for tool in registry.available(_caller.get())
        ]
    )


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    # Firestore calls block; a request has its own event loop, so nothing else waits.
    outcome = registry.execute(_caller.get(), params.name, params.arguments or {})
    structured = outcome.result if isinstance(outcome.result, dict) else None
    return types.CallToolResult(
        content=[types.TextContent(text=outcome.text())],
        structured_content=structured,
        is_error=outcome.is_error,
    )


SERVER: Server[Any] = Server(
    "agent-platform",
    version="1.0.0",
    instructions="The agent platform's tools: your agents, persona routing and, for "
    "operators, deploys, alerts, silences and load tests.",
    on_list_tools=list_tools,
    on_call_tool=call_tool,
)


def _scope(request: Request) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": request.query_string,
        "root_path": "",
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in request.headers.items()
        ],
        "client": (request.remote_addr or "", 0),
        "server": ("function", 80),
    }


def handle(request: Request, body: bytes, caller: Caller) -> Response:
    """Serve one MCP HTTP request for `caller` and answer the SDK's response."""
    status = 500
    headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []

    async def exchange() -> None:
        answered = anyio.Event()
        sent_body = False

        async def receive() -> MutableMapping[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await answered.wait()  # the client stays until the answer is written
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers.extend(
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in message.get("headers", [])
                )
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    answered.set()

        manager = StreamableHTTPSessionManager(app=SERVER, stateless=True, json_response=True)
        async with manager.run():
            await manager.handle_request(_scope(request), receive, send)

    token = _caller.set(caller)
    try:
        anyio.run(exchange)
    finally:
        _caller.reset(token)
    body_out = b"".join(chunks)
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    if status >= 400 and not content_type.startswith("application/json"):
        # The transport refused the request in plain text (a missing Accept or
        # Content-Type): answer in the contract's JSON error shape instead.
        refused = body_out.decode(errors="replace").strip()[:200]
        raise errors.for_status(status)(f"MCP request refused: {refused}")
    kept = [(k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")]
    return Response(body_out, status=status, headers=kept)
