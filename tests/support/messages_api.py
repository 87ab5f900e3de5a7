"""A local HTTP server that speaks the Anthropic Messages API, for the real `anthropic` SDK.

`POST /v1/messages` answers as JSON, or as SSE when the body says `"stream": true`
(message_start, content_block_start, content_block_delta..., content_block_stop,
message_delta, message_stop). Knobs: `reply` (the text), `chunks` (how many deltas),
`first_chunk_delay` (seconds before the first byte of the body), `chunk_delay`, and
`fail` with `fail_times` (429, 500, 529 as the API sends them, "cut" for a stream that
stops mid-way, "hang" to stall past the client's timeout). Every request body and its
headers are recorded in `requests`.

Tool use, as the API speaks it: with `tool_use = {"name": ..., "input": {...}}` set, a
request that offers that tool (and allows tools: `tool_choice` not `none`) whose last
turn is the user's own text is answered with a short text block and a `tool_use` block
(streamed as `input_json_delta` pieces), `stop_reason: tool_use`; `more_tool_uses` (a
list of the same shape) adds further `tool_use` blocks to that turn. A request whose last
turn carries `tool_result` blocks is answered with text that quotes the first result
(`Tool result: ...`), `stop_reason: end_turn`.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from shared.core import state

_ERROR_TYPES = {
    401: "authentication_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass
class RecordedRequest:
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def api_key(self) -> str | None:
        """The key presented, as `x-api-key` or as a bearer token (the SDK's choice)."""
        headers = {name.lower(): value for name, value in self.headers.items()}
        if "x-api-key" in headers:
            return headers["x-api-key"]
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" else None


@dataclass
class FakeMessagesApi:
    reply: str = "Hello from the fake Messages API, streamed in a few chunks."
    chunks: int = 4
    first_chunk_delay: float = 0.0
    chunk_delay: float = 0.0
    fail: int | str | None = None
    fail_times: int = 10**9
    input_tokens: int = 42
    api_key: str | None = None  # when set, any other `x-api-key` gets a 401
    tool_use: dict[str, Any] | None = None  # {"name": ..., "input": {...}}: ask for it
    tool_use_always: bool = False  # ask for the tool again after its result, every turn
    tool_use_unoffered: bool = False  # ask for it even when the request does not offer it
    more_tool_uses: list[dict[str, Any]] = field(default_factory=list)  # in the same turn
    input_tokens_by_size: bool = False  # count input as the request's bytes / 4, not 42
    requests: list[RecordedRequest] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tool_uses: int = 0

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeMessagesApi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Small SSE writes would otherwise wait for ACKs (Nagle), ~40 ms per chunk.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake._serve(self, body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def reset(self) -> None:
        """Back to a healthy default, with the recorded requests forgotten."""
        self.fail, self.fail_times = None, 10**9
        self.first_chunk_delay = self.chunk_delay = 0.0
        self.api_key = None
        self.tool_use = None
        self.more_tool_uses = []
        self.tool_use_always = self.input_tokens_by_size = self.tool_use_unoffered = False
        self.requests.clear()

    # -- answering ----------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        recorded = RecordedRequest(body, dict(handler.headers.items()))
        with self._lock:
            self.requests.append(recorded)
            failing = self.fail is not None and self.fail_times > 0
            if failing:
                self.fail_times -= 1
        if handler.path.split("?")[0] != "/v1/messages":
            self._error(handler, 404, "not_found_error")
            return
        if self.api_key is not None and recorded.api_key != self.api_key:
            self._error(handler, 401, "authentication_error")
            return
        if failing and isinstance(self.fail, int):
            self._error(handler, self.fail, _ERROR_TYPES.get(self.fail, "api_error"))
            return
        if failing and self.fail == "hang":
            time.sleep(self.first_chunk_delay or 5)
            return
        time.sleep(self.first_chunk_delay)
        model = str(body.get("model", "claude-test"))
        turn = self._turn(body)
        turn.input_tokens = (
            len(json.dumps(body).encode()) // 4 if self.input_tokens_by_size else self.input_tokens
        )
        if body.get("stream"):
            self._stream(handler, model, turn, cut=failing and self.fail == "cut")
        else:
            self._json(handler, model, turn)

    def _turn(self, body: dict[str, Any]) -> Turn:
        """What to answer: the tool's call, text quoting a tool result, or the reply."""
        messages = body.get("messages") or [{"role": "user", "content": ""}]
        last = messages[-1].get("content")
        if isinstance(last, list) and not self.tool_use_always:
            results = [b for b in last if isinstance(b, dict) and b.get("type") == "tool_result"]
            if results:
                content = results[0].get("content")
                if isinstance(content, list):
                    content = "".join(str(part.get("text", "")) for part in content)
                return Turn(f"Tool result: {content}")
        offered = {tool.get("name") for tool in body.get("tools") or []}
        allowed = (body.get("tool_choice") or {}).get("type") != "none"
        wanted = self.tool_use is not None and (
            self.tool_use["name"] in offered or self.tool_use_unoffered
        )
        if self.tool_use is not None and wanted and allowed:
            calls = []
            for use in [self.tool_use, *self.more_tool_uses]:
                with self._lock:
                    self._tool_uses += 1
                    number = self._tool_uses
                calls.append({**use, "id": f"toolu_fake{number:06d}"})
            return Turn("Let me check.", calls[0], calls[1:])
        return Turn(self.reply)

    def _pieces(self, text: str) -> list[str]:
        size = max(1, -(-len(text) // self.chunks))
        return [text[i : i + size] for i in range(0, len(text), size)]

    def _output_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)

    def _json(self, handler: BaseHTTPRequestHandler, model: str, turn: Turn) -> None:
        content: list[dict[str, Any]] = [{"type": "text", "text": turn.text}]
        for tool in turn.tools:
            content.append({"type": "tool_use", **tool})
        payload = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": turn.stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": turn.input_tokens,
                "output_tokens": self._output_tokens(turn.text),
            },
        }
        data = json.dumps(payload).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("request-id", "req_fake")
        handler.end_headers()
        handler.wfile.write(data)

    def _error(self, handler: BaseHTTPRequestHandler, status: int, kind: str) -> None:
        data = json.dumps(
            {"type": "error", "error": {"type": kind, "message": f"fake {status}"}}
        ).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        # Milliseconds for the SDK's retries (fast tests); seconds for the platform's answer.
        handler.send_header("retry-after-ms", "5")
        handler.send_header("retry-after", "7")
        handler.end_headers()
        handler.wfile.write(data)

    def _stream(
        self, handler: BaseHTTPRequestHandler, model: str, turn: Turn, *, cut: bool
    ) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Cache-Control", "no-cache")
        handler.end_headers()

        def send(event: str, data: dict[str, Any]) -> None:
            frame = f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()
            handler.wfile.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
            handler.wfile.flush()

        pieces = self._pieces(turn.text)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            send(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_fake",
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": turn.input_tokens, "output_tokens": 1},
                    },
                },
            )
            send(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            )
            for number, piece in enumerate(pieces):
                if cut and number == len(pieces) // 2:
                    # Drop the connection without the chunked body's terminator.
                    handler.close_connection = True
                    handler.connection.shutdown(2)
                    return
                if number:
                    time.sleep(self.chunk_delay)
                send(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                )
            send("content_block_stop", {"type": "content_block_stop", "index": 0})
            for index, tool in enumerate(turn.tools, start=1):
                self._stream_tool_use(send, tool, index)
            send(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": turn.stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": self._output_tokens(turn.text)},
                },
            )
            send("message_stop", {"type": "message_stop"})
            handler.wfile.write(b"0\r\n\r\n")
            handler.wfile.flush()

    @staticmethod
    def _stream_tool_use(send: Any, tool: dict[str, Any], index: int = 1) -> None:
        """Block `index`: the tool call, its input as JSON cut into a few `input_json_delta`s."""
        send(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {
                    "type": "tool_use",
                    "id": tool["id"],
                    "name": tool["name"],
                    "input": {},
                },
            },
        )
        text = json.dumps(tool.get("input") or {})
        size = max(1, len(text) // 3)
        for start in range(0, len(text), size):
            send(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {
                        "type": "input_json_delta",
                        "partial_json": text[start : start + size],
                    },
                },
            )
        send("content_block_stop", {"type": "content_block_stop", "index": index})


@dataclass
class Turn:
    text: str
    tool: dict[str, Any] | None = None  # {"id", "name", "input"}
    more: list[dict[str, Any]] = field(default_factory=list)  # further calls in the turn
    input_tokens: int = 0

    @property
    def tools(self) -> list[dict[str, Any]]:
        return [self.tool, *self.more] if self.tool is not None else []

    @property
    def stop_reason(self) -> str:
        return "tool_use" if self.tool is not None else "end_turn"


def point_model_at(monkeypatch: Any, fake: FakeMessagesApi | None, **env: str) -> None:
    """Configure `shared.llm.model` for the fake server (or, with None, the offline model)."""

    if fake is None:
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
        monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    else:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
    monkeypatch.delenv("ANTHROPIC_API_KEY_SECRET", raising=False)
    monkeypatch.setenv("OFFLINE_CHUNK_DELAY_MS", "0")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    state.reset()
