"""The registry's tools over MCP (Streamable HTTP), with the official `mcp` SDK's server.

`tools/list` answers the tools the caller may use and `tools/call` runs one as the caller
(`shared.tools.registry`). The transport is stateless with JSON responses: every POST
stands alone (no session to keep between requests or instances), which is what a
request-per-instance platform can serve. The function is a WSGI function like the others:
`handle` hands one HTTP request to the SDK's ASGI session manager in a short event loop
and answers what it wrote.

Callers authenticate with the platform's bearer tokens: a guest session token, or the
operator token (`ADMIN_TOKEN`) when one is configured. A request from a browser must come
from an origin of `MCP_ALLOWED_ORIGINS`.

What reaches the client is the protocol's answer or the platform's error, never an
exception's text: a message that is not one JSON-RPC request, notification or response is
refused here (-32700, -32600) before the SDK sees it; a tool the caller may not use is
-32602; a dependency that fails while a tool runs is the edge's 503 with Retry-After.
"""

from __future__ import annotations

import json
import logging
from collections.abc import MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from werkzeug.wrappers import Request, Response

from shared.core import errors
from shared.identity import auth
from shared.mcp_server.settings import get_mcp_settings
from shared.tools import registry
from shared.tools.registry import Caller

# The SDK logs each stateless request's manager start and stop at INFO: noise here.
logging.getLogger("mcp").setLevel(logging.WARNING)


@dataclass
class _Exchange:
    """One HTTP request's MCP exchange: who calls, and a failure to answer as HTTP."""

    caller: Caller
    failure: Exception | None = None


_exchange: ContextVar[_Exchange] = ContextVar("mcp_exchange")


def check_origin(request: Request) -> None:
    """No `Origin` (desktop and command-line clients) or one of `MCP_ALLOWED_ORIGINS`."""
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/") not in get_mcp_settings().allowed_origins:
        raise errors.OriginNotAllowed(f"origin {origin[:100]!r} is not in MCP_ALLOWED_ORIGINS")


def authenticate(request: Request) -> Caller:
    """The operator (the `ADMIN_TOKEN` bearer, if set) or the guest of a live session,
    from an allowed origin."""
    check_origin(request)
    if auth.bears_admin_token(request):
        return Caller(operator=True, requested_by="operator (token) over MCP")
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
            for tool in registry.available(_exchange.get().caller)
        ]
    )


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    exchange = _exchange.get()
    try:
        registry.find(exchange.caller, params.name)
    except errors.NotFound as exc:
        raise MCPError(types.INVALID_PARAMS, exc.message) from None
    try:
        # On a worker thread: the handler blocks on Firestore, and a tool may run an event
        # loop of its own (`start_loadtest`), which this loop's thread cannot.
        outcome = await anyio.to_thread.run_sync(
            registry.execute, exchange.caller, params.name, params.arguments or {}
        )
    except Exception as exc:  # noqa: BLE001 - answered by `handle` as the edge answers it
        exchange.failure = exc
        raise MCPError(types.INTERNAL_ERROR, "the tool could not run") from None
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


def _rpc_error(code: int, message: str, message_id: Any = None, status: int = 400) -> Response:
    body = {"jsonrpc": "2.0", "id": message_id, "error": {"code": code, "message": message}}
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _is_id(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def refusal(body: bytes) -> Response | None:
    """The JSON-RPC error for a body that is not one JSON-RPC 2.0 message, or None.

    The SDK would answer these with its validation dump (and take `"id": null` for a
    notification); MCP 2025-06-18 has no batches.
    """
    try:
        message = json.loads(body)
    except ValueError:
        return _rpc_error(types.PARSE_ERROR, "Parse error: the body is not JSON")
    if isinstance(message, list):
        return _rpc_error(types.INVALID_REQUEST, "Invalid Request: batches are not supported")
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return _rpc_error(types.INVALID_REQUEST, "Invalid Request: expected a JSON-RPC 2.0 object")
    if "method" in message:
        if "id" in message and not _is_id(message["id"]):
            return _rpc_error(
                types.INVALID_REQUEST, "Invalid Request: id must be a string or an integer"
            )
        message_id = message.get("id")
        if not isinstance(message["method"], str) or not message["method"]:
            return _rpc_error(
                types.INVALID_REQUEST, "Invalid Request: method must be a string", message_id
            )
        if "params" in message and not isinstance(message["params"], dict):
            return _rpc_error(
                types.INVALID_PARAMS, "Invalid params: expected an object", message_id
            )
        return None
    # A response to the server: an id, and a result or an error.
    if not _is_id(message.get("id")) or ("result" in message) == ("error" in message):
        return _rpc_error(
            types.INVALID_REQUEST,
            "Invalid Request: expected a request (method) or a response (id with result or error)",
        )
    return None


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


def _speaks_json(request: Request) -> bool:
    """Whether the transport would read the body: JSON sent, and JSON accepted. Otherwise
    the SDK refuses the headers first, as the transport says (406, 415)."""
    sent = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    accepted = [
        kind.split(";")[0].strip().lower() for kind in request.headers.get("Accept", "").split(",")
    ]
    json_accepted = any(kind in ("application/json", "application/*", "*/*") for kind in accepted)
    return sent == "application/json" and json_accepted


def handle(request: Request, body: bytes, caller: Caller) -> Response:
    """Serve one MCP HTTP request for `caller` and answer the SDK's response."""
    refused = refusal(body) if _speaks_json(request) else None
    if refused is not None:
        return refused
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

    state = _Exchange(caller)
    token = _exchange.set(state)
    try:
        anyio.run(exchange)
    finally:
        _exchange.reset(token)
    if state.failure is not None:
        # A dependency failed while the tool ran: the edge answers it as for any route
        # (503 with Retry-After when transient, otherwise a 500 that names only the
        # request id), not as a JSON-RPC error carrying the exception's text.
        raise state.failure
    body_out = b"".join(chunks)
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    if status >= 400 and not content_type.startswith("application/json"):
        # The transport refused the request in plain text (a missing Accept or
        # Content-Type): answer in the contract's JSON error shape instead.
        refused_text = body_out.decode(errors="replace").strip()[:200]
        raise errors.for_status(status)(f"MCP request refused: {refused_text}")
    kept = [(k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")]
    return Response(body_out, status=status, headers=kept)
