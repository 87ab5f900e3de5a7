"""One model turn that may ask for tools (the Messages API's tool use), online or offline.

`ToolTurn` streams like `ModelStream` (iterate for text chunks) and collects the turn's
`tool_use` blocks: their input arrives as `input_json_delta` pieces, parsed when the
block stops; `stop_reason` is `tool_use` when the model waits for results. The caller
runs the tools, appends the assistant's blocks and a user turn of `tool_result` blocks,
and starts the next turn (`shared.chat.tool_runs` loops).

The offline model asks for a tool only when the last user message clearly asks for what
it gives (`ToolSpec.match`, deterministic), and answers a turn of tool results with text
that quotes them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from shared.core import log
from shared.llm.budget import Budget
from shared.llm.errors import ModelFailed, ModelUnavailable
from shared.llm.model import ModelStream, build_request
from shared.llm.offline import estimate_tokens, offline_answer, paced_chunks

logger = log.get_logger("model")
# How much of a tool result the offline model quotes back.
OFFLINE_QUOTE_CHARS = 600


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the model sees it, and how the offline model recognises a request for it."""

    name: str
    description: str
    input_schema: dict[str, Any]
    match: Callable[[str], dict[str, Any] | None] | None = None

    def api(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_schema,
        }


@dataclass
class ToolUse:
    id: str
    name: str
    input: dict[str, Any] = field(default_factory=dict)

    def block(self) -> dict[str, Any]:
        return {"type": "tool_use", "id": self.id, "name": self.name, "input": self.input}


def _last_user_content(messages: list[dict[str, Any]]) -> Any:
    return next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")


class ToolTurn(ModelStream):
    """One turn with tools; `tool_uses` and `blocks()` are complete once iteration ends.

    `allow_tools=False` still sends the definitions (a conversation holding tool blocks
    needs them) but with `tool_choice: none`, so the model must answer in text.
    """

    def __init__(
        self,
        system: str,
        messages: list[dict[str, Any]],
        model: str,
        max_tokens: int,
        tools: list[ToolSpec],
        *,
        budget: Budget,
        allow_tools: bool = True,
    ) -> None:
        self.tools, self.allow_tools = tools, allow_tools
        self.tool_uses: list[ToolUse] = []
        super().__init__(system, messages, model, max_tokens, budget=budget)

    def blocks(self) -> list[dict[str, Any]]:
        """The assistant's turn as content blocks, to send back with the results."""
        text = [{"type": "text", "text": self.text}] if self.text else []
        return text + [use.block() for use in self.tool_uses]

    def request(self) -> dict[str, Any]:
        request = build_request(self.system, self.messages, self.requested_model, self.max_tokens)
        if self.tools:
            request["tools"] = [tool.api() for tool in self.tools]
            request["tool_choice"] = {"type": "auto" if self.allow_tools else "none"}
        return request

    # -- offline ------------------------------------------------------------------------

    def _offline_chunks(self) -> Generator[str, None, None]:
        content = _last_user_content(self.messages)
        self.input_tokens = estimate_tokens(self.system + json.dumps(self.messages, default=str))
        if isinstance(content, list):  # a turn of tool results: answer with what they said
            yield from self._offline_text(_quote_results(content, self.messages))
            return
        use = self._offline_tool_use(str(content)) if self.allow_tools else None
        if use is None:
            yield from self._offline_text(offline_answer(self.system, self.messages))
            return
        self.tool_uses.append(use)
        self.output_tokens = estimate_tokens(json.dumps(use.input)) + 10
        self.stop_reason = "tool_use"

    def _offline_tool_use(self, text: str) -> ToolUse | None:
        for tool in self.tools:
            arguments = tool.match(text) if tool.match is not None else None
            if arguments is not None:
                digest = hashlib.sha256(f"{tool.name}{text}".encode()).hexdigest()[:20]
                return ToolUse(f"toolu_offline_{digest}", tool.name, arguments)
        return None

    def _offline_text(self, text: str) -> Generator[str, None, None]:
        self.stop_reason = yield from paced_chunks(text, self.max_tokens, self._count_output)

    # -- the Messages API ---------------------------------------------------------------

    def _api_chunks(self) -> Generator[str, None, None]:
        import anthropic

        from shared.llm.anthropic_api import call, translate

        raw = call(lambda client: client.messages.create(stream=True, **self.request()))
        stopped = False
        pending: dict[int, tuple[ToolUse, list[str]]] = {}  # block index -> use, JSON pieces
        try:
            for event in raw:
                if event.type == "message_start":
                    self.model = event.message.model or self.model
                    self._usage(event.message.usage)
                elif event.type == "content_block_start":
                    block = event.content_block
                    if block.type == "tool_use":
                        pending[event.index] = (ToolUse(block.id, block.name), [])
                elif event.type == "content_block_delta":
                    if event.delta.type == "text_delta":
                        yield event.delta.text
                    elif event.delta.type == "input_json_delta" and event.index in pending:
                        pending[event.index][1].append(event.delta.partial_json)
                elif event.type == "content_block_stop" and event.index in pending:
                    use, pieces = pending.pop(event.index)
                    use.input = _parsed_input("".join(pieces))
                    self.tool_uses.append(use)
                elif event.type == "message_delta":
                    self.stop_reason = event.delta.stop_reason
                    self._usage(event.usage)
                elif event.type == "message_stop":
                    stopped = True
        except anthropic.APIError as exc:
            raise translate(exc) from None
        except ModelFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - the transport broke mid-stream
            logger.warning("model stream broke", extra={"fields": {"error": repr(exc)[:200]}})
            if "Timeout" in type(exc).__name__:
                raise ModelUnavailable("model_timeout", "the model stalled mid-answer") from None
            raise ModelFailed("model_stream_cut", "the model's stream was cut") from None
        finally:
            raw.close()
        if not stopped:
            raise ModelFailed("model_stream_cut", "the model's stream ended before its end")


def _parsed_input(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        raise ModelFailed(
            "model_bad_tool_input", "the model sent a tool input that is not JSON"
        ) from None
    if not isinstance(value, dict):
        raise ModelFailed(
            "model_bad_tool_input", "the model sent a tool input that is not an object"
        )
    return value


def _quote_results(results: list[Any], messages: list[dict[str, Any]]) -> str:
    names = {
        block["id"]: block["name"]
        for message in messages
        if message["role"] == "assistant" and isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_use"
    }
    parts = []
    for result in results:
        if not isinstance(result, dict) or result.get("type") != "tool_result":
            continue
        name = names.get(result.get("tool_use_id"), "a tool")
        quoted = str(result.get("content", ""))[:OFFLINE_QUOTE_CHARS]
        verb = "failed" if result.get("is_error") else "answered"
        parts.append(f"{name} {verb}: {quoted}")
    return (
        "Here is what I found. "
        + " ".join(parts)
        + " (Offline model: set ANTHROPIC_API_KEY for answers from Claude.)"
    )


def answer_chooses_tool(
    system: str,
    text: str,
    model: str,
    tools: list[ToolSpec],
    max_tokens: int = 512,
    *,
    budget: Budget,
) -> ToolUse | None:
    """The tool (and arguments) the model picks for one request, or None if it picks none."""
    turn = ToolTurn(
        system, [{"role": "user", "content": text}], model, max_tokens, tools, budget=budget
    )
    for _ in turn:
        pass
    return turn.tool_uses[0] if turn.tool_uses else None
