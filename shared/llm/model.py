"""The model layer: Claude through the `anthropic` SDK, or a built-in offline model.

With no API key configured (neither `ANTHROPIC_API_KEY` nor `ANTHROPIC_API_KEY_SECRET`)
every call answers from a deterministic offline model, streamed in chunks, labelled
`offline`. `anthropic` is imported only when a real call is made: it costs ~1.4 s, which
a cold start that only lists conversations should not pay.

Failures surface as `ModelUnavailable` (503: rate limit, overload, timeout, connection)
or `ModelFailed` (502: server error, refused request, stream cut), each with an `error_code`
and a `retry_after`, after the SDK's own few retries.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from shared.core import log
from shared.llm import budget as budgets
from shared.llm.budget import Budget
from shared.llm.errors import ModelError, ModelFailed, ModelUnavailable
from shared.llm.offline import estimate_tokens, offline_continuation, paced_chunks
from shared.llm.settings import (
    OFFLINE_MODEL,
    chat_answer_deadline_seconds,
    get_model_settings,
    is_configured,
)

__all__ = [
    "ModelError",
    "ModelFailed",
    "ModelUnavailable",
    "chat_answer_deadline_seconds",
    "get_model_settings",
]
logger = log.get_logger("model")


@dataclass
class ModelReply:
    text: str
    model: str
    input_tokens: int
    output_tokens: int
    stop_reason: str | None
    latency_ms: float
    cache_read_tokens: int = 0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # `tool_use` blocks


class ModelStream:
    """A streamed answer: iterate for text chunks; usage fills in as the stream goes.

    Nothing is sent until the first `next()`, and then only once `budget` covers the call
    (`shared.llm.budget`); it hears what the call spent when the stream ends. `close()`
    (or closing the iterator) stops generation and releases the connection; the text so
    far stays in `text`.

    With a `prefill` (the start of the answer, written already) the model continues it:
    the request ends with it as the assistant's turn (the Messages API continues a final
    assistant turn), the chunks are what follows it, and `text` is the whole answer,
    prefill included. The API refuses a final assistant turn that ends in whitespace, so
    that is sent without it and taken off the continuation's start instead.
    """

    def __init__(
        self,
        system: str,
        messages: list[dict[str, Any]],
        model: str,
        max_tokens: int,
        *,
        budget: Budget,
        prefill: str = "",
    ) -> None:
        self.system, self.messages, self.requested_model = system, messages, model
        self.max_tokens, self.budget, self.prefill = max_tokens, budget, prefill
        self.offline = model == OFFLINE_MODEL or not is_configured()
        self.model = OFFLINE_MODEL if self.offline else model
        self.input_tokens = self.output_tokens = self.cache_read_tokens = 0
        self.stop_reason: str | None = None
        self.parts: list[str] = []
        self.first_chunk_ms: float | None = None
        self._started = 0.0
        self._finished: float | None = None
        self._chunks = self._offline_chunks() if self.offline else self._api_chunks()

    def __iter__(self) -> Iterator[str]:
        self._started = time.perf_counter()
        budgets.cover(self.budget, self.request())  # refused: nothing is sent
        try:
            for chunk in self._chunks:
                if self.first_chunk_ms is None:
                    self.first_chunk_ms = (time.perf_counter() - self._started) * 1000
                self.parts.append(chunk)
                yield chunk
        finally:
            self._finished = time.perf_counter()
            self._chunks.close()  # stops the model when the consumer stops early
            self.budget.spent(self.input_tokens + self.output_tokens)

    def close(self) -> None:
        self._chunks.close()

    @property
    def text(self) -> str:
        return self.prefill + "".join(self.parts)

    @property
    def latency_ms(self) -> float:
        end = self._finished if self._finished is not None else time.perf_counter()
        return round((end - self._started) * 1000, 1) if self._started else 0.0

    def reply(self) -> ModelReply:
        return ModelReply(
            self.text,
            self.model,
            self.input_tokens,
            self.output_tokens,
            self.stop_reason,
            self.latency_ms,
            self.cache_read_tokens,
        )

    def _offline_chunks(self) -> Generator[str, None, None]:
        text = offline_continuation(self.system, self.messages, self.prefill)
        self.input_tokens = estimate_tokens(self.system + json.dumps(self.turns()))
        if not text:  # the prefill was the whole answer
            self.stop_reason = "end_turn"
            return
        self.stop_reason = yield from paced_chunks(text, self.max_tokens, self._count_output)

    def _count_output(self, tokens: int) -> None:
        self.output_tokens = tokens

    def _api_chunks(self) -> Generator[str, None, None]:
        import anthropic

        from shared.llm.anthropic_api import call, translate

        raw = call(
            lambda client: client.messages.create(stream=True, **self.request()),
        )
        stopped = False
        joint = _Joint(self.prefill)
        try:
            for event in raw:
                if event.type == "message_start":
                    self.model = event.message.model or self.model
                    self._usage(event.message.usage)
                elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                    if text := joint.after(event.delta.text):
                        yield text
                elif event.type == "message_delta":
                    self.stop_reason = event.delta.stop_reason
                    self._usage(event.usage)
                elif event.type == "message_stop":
                    stopped = True
        except anthropic.APIError as exc:
            raise translate(exc) from None
        except Exception as exc:  # noqa: BLE001 - the transport broke mid-stream
            logger.warning("model stream broke", extra={"fields": {"error": repr(exc)[:200]}})
            if "Timeout" in type(exc).__name__:
                raise ModelUnavailable("model_timeout", "the model stalled mid-answer") from None
            raise ModelFailed("model_stream_cut", "the model's stream was cut") from None
        finally:
            raw.close()
        if not stopped:
            raise ModelFailed("model_stream_cut", "the model's stream ended before its end")

    def _usage(self, usage: Any) -> None:
        cached = (getattr(usage, "cache_read_input_tokens", 0) or 0) + (
            getattr(usage, "cache_creation_input_tokens", 0) or 0
        )
        if getattr(usage, "input_tokens", None) is not None:
            self.input_tokens = usage.input_tokens + cached
            self.cache_read_tokens = getattr(usage, "cache_read_input_tokens", 0) or 0
        self.output_tokens = getattr(usage, "output_tokens", 0) or self.output_tokens

    def request(self) -> dict[str, Any]:
        return build_request(self.system, self.turns(), self.requested_model, self.max_tokens)

    def turns(self) -> list[dict[str, Any]]:
        """The messages sent: the conversation, then the prefill as the assistant's turn."""
        sent = self.prefill.rstrip()
        return [*self.messages, {"role": "assistant", "content": sent}] if sent else self.messages


class _Joint:
    """Where a continuation meets its prefill: the whitespace the prefill ended with (not
    sent, see `ModelStream`) is taken off the continuation's start once, when the model
    writes it; other leading whitespace goes too, since the prefill already ends in some."""

    def __init__(self, prefill: str) -> None:
        self.trailing = prefill[len(prefill.rstrip()) :] if prefill.strip() else ""
        self.held = ""
        self.joined = not self.trailing

    def after(self, chunk: str) -> str:
        if self.joined:
            return chunk
        self.held += chunk
        if not self.held.strip():
            return ""  # only whitespace so far: wait to see how much
        self.joined = True
        lead = len(self.held) - len(self.held.lstrip())
        cut = len(self.trailing) if self.held[:lead].startswith(self.trailing) else lead
        return self.held[cut:]


def build_request(
    system: str, messages: list[dict[str, Any]], model: str, max_tokens: int
) -> dict[str, Any]:
    """Messages API arguments; the system prompt is a cached block (prompt caching)."""
    request: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
    }
    if system:
        request["system"] = [
            {"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}
        ]
    return request


def stream(
    system: str,
    messages: list[dict[str, Any]],
    model: str,
    max_tokens: int = 1024,
    *,
    budget: Budget,
    prefill: str = "",
) -> ModelStream:
    """A streamed answer (see `ModelStream`), continuing `prefill` when given; the request
    starts on first iteration."""
    return ModelStream(system, messages, model, max_tokens, budget=budget, prefill=prefill)


def complete(
    system: str,
    messages: list[dict[str, Any]],
    model: str,
    max_tokens: int = 1024,
    *,
    budget: Budget,
    timeout: float | None = None,
    tools: list[dict[str, Any]] | None = None,
    tool_choice: dict[str, Any] | None = None,
) -> ModelReply:
    """One whole answer (the Messages API's JSON form; the offline model when no key),
    covered by `budget` first. `timeout` (seconds, no retries) bounds a short call that has
    a fallback of its own; otherwise the client's timeout and retries apply. With `tools`,
    the reply's `tool_calls` hold the `tool_use` blocks (online only)."""
    if model == OFFLINE_MODEL or not is_configured():
        answer = stream(system, messages, model, max_tokens, budget=budget)
        for _ in answer:
            pass
        return answer.reply()
    from shared.llm.anthropic_api import call

    request = build_request(system, messages, model, max_tokens)
    if tools:
        request["tools"] = tools
        request["tool_choice"] = tool_choice or {"type": "auto"}
    budgets.cover(budget, request)
    started = time.perf_counter()
    spent = 0
    try:
        message = call(
            lambda client: (
                client if timeout is None else client.with_options(timeout=timeout, max_retries=0)
            ).messages.create(**request)
        )
        usage = message.usage
        cached = (usage.cache_read_input_tokens or 0) + (usage.cache_creation_input_tokens or 0)
        spent = usage.input_tokens + cached + usage.output_tokens
    finally:
        budget.spent(spent)
    return ModelReply(
        text="".join(block.text for block in message.content if block.type == "text"),
        model=message.model,
        input_tokens=usage.input_tokens + cached,
        output_tokens=usage.output_tokens,
        stop_reason=message.stop_reason,
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
        cache_read_tokens=usage.cache_read_input_tokens or 0,
        tool_calls=[
            {"name": block.name, "input": block.input}
            for block in message.content
            if block.type == "tool_use"
        ],
    )


_warm_up_pid: int | None = None


def warm_up() -> None:
    """Import the SDK in a background thread, once per process, when a key is configured.

    Called on a worker's first request (never at import: gunicorn forks workers after
    loading the app, and a fork during an import in another thread can deadlock the child).
    A conversation is usually created before its first message, so the ~1.4 s import is
    mostly done by the time a message needs it.
    """
    global _warm_up_pid  # noqa: PLW0603 - once per process
    if _warm_up_pid == os.getpid() or not is_configured():
        return
    _warm_up_pid = os.getpid()
    threading.Thread(target=_warm, name="anthropic-warm-up", daemon=True).start()


def _warm() -> None:
    try:
        from shared.llm import anthropic_api

        anthropic_api.client()
    except Exception as exc:  # noqa: BLE001 - a failed warm-up only costs the first message
        logger.warning("model warm-up failed", extra={"fields": {"error": repr(exc)[:200]}})
