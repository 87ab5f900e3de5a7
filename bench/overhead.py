"""What the platform adds on top of its dependency: chat's time to first byte over the
model server's own, and `GET /v1/agents` over the bare Firestore query it runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from typing import Any

import httpx

from bench.procs import Client, Server, summary

CHAT_MODEL = "claude-sonnet-4-5"


def _first_delta(chunks: Iterator[bytes], marker: bytes, started: float) -> tuple[float, float]:
    """Seconds from `started` to the first body byte and to the first chunk with `marker`."""
    first_byte = 0.0
    seen = b""
    for chunk in chunks:
        if not first_byte and chunk:
            first_byte = time.perf_counter() - started
        seen += chunk
        if marker in seen:
            return first_byte, time.perf_counter() - started
    raise RuntimeError(f"the stream ended without {marker!r}: {seen[-300:]!r}")


def direct_model(base_url: str, samples: int) -> list[float]:
    """Time to the first text delta straight from the fake Messages API (ms)."""
    body = {
        "model": CHAT_MODEL,
        "max_tokens": 64,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    times = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for _ in range(samples):
            started = time.perf_counter()
            with client.stream("POST", "/v1/messages", json=body) as response:
                chunks = response.iter_raw()
                _first_delta(chunks, b"content_block_delta", started)
                for _ in chunks:
                    pass
            times.append((time.perf_counter() - started) * 1000)
    return times


def chat_first_byte(
    chat: Server, agents: Server, token: str, *, samples: int, delay_ms: float, model_url: str
) -> dict[str, Any]:
    """SSE chat: time to the first `message.delta`, minus the model's own first delta."""
    headers = {"Authorization": f"Bearer {token}"}
    agent = Client(agents.port).request(
        "POST",
        "/v1/agents",
        {"name": "bench chat", "systemPrompt": "Be brief.", "model": CHAT_MODEL},
        headers,
    )
    if agent.status != 201:
        return {"skipped": f"POST /v1/agents answered {agent.status}: {agent.body[:200]!r}"}
    first_bytes: list[float] = []
    deltas: list[float] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{chat.port}", timeout=60) as client:
        conversation_id = ""
        for index in range(samples + 3):
            if index % 10 == 0:  # a fresh conversation keeps the history (and prompt) short
                made = client.post(
                    "/v1/conversations", headers=headers, json={"agentId": agent.json()["id"]}
                )
                if made.status_code != 201:
                    return {
                        "skipped": f"POST /v1/conversations: {made.status_code} {made.text[:200]}"
                    }
                conversation_id = made.json()["id"]
            started = time.perf_counter()
            with client.stream(
                "POST",
                f"/v1/conversations/{conversation_id}/messages",
                json={"content": "Say hello."},
                headers={**headers, "Accept": "text/event-stream"},
            ) as response:
                if response.status_code != 200:
                    response.read()
                    problem = f"{response.status_code} {response.text[:200]}"
                    return {"skipped": f"POST .../messages answered {problem}"}
                chunks = response.iter_raw()
                first_byte, to_delta = _first_delta(chunks, b"event: message.delta", started)
                for _ in chunks:
                    pass
            if index >= 3:  # warm-up
                first_bytes.append(first_byte * 1000)
                deltas.append(to_delta * 1000)
    direct = direct_model(model_url, samples)
    return {
        "modelFirstChunkDelayMs": delay_ms,
        "chatFirstByteMs": summary(first_bytes),
        "chatFirstDeltaMs": summary(deltas),
        "modelDirectFirstDeltaMs": summary(direct),
        "addedOverDelayMs": round(statistics.median(deltas) - delay_ms, 2),
        "addedOverDirectMs": round(statistics.median(deltas) - statistics.median(direct), 2),
    }


def agents_over_query(agents: Server, token: str, user_id: str, samples: int) -> dict[str, Any]:
    """`GET /v1/agents` (HTTP, one client) against the same query run in-process (ms)."""
    from google.cloud.firestore import FieldFilter, Query

    from shared.gcp import clients

    query = (
        clients.firestore()
        .collection("agents")
        .where(filter=FieldFilter("userId", "==", user_id))
        .order_by("createdAt", direction=Query.DESCENDING)
        .order_by("__name__", direction=Query.DESCENDING)
        .limit(21)
    )
    bare: list[float] = []
    http: list[float] = []
    client = Client(agents.port)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        for index in range(samples + 5):
            started = time.perf_counter()
            count = len(list(query.stream()))
            query_ms = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            answer = client.request("GET", "/v1/agents?limit=20", None, headers)
            http_ms = (time.perf_counter() - started) * 1000
            if answer.status != 200:
                return {"skipped": f"GET /v1/agents answered {answer.status}"}
            if index >= 5:
                bare.append(query_ms)
                http.append(http_ms)
    finally:
        client.close()
    return {
        "documents": count,
        "platformMs": summary(http),
        "bareQueryMs": summary(bare),
        "addedMs": round(statistics.median(http) - statistics.median(bare), 2),
    }


def sessions_over_create(sessions_server: Server, samples: int) -> dict[str, Any]:
    """`POST /v1/sessions` (HTTP, one client) against the same `create` run in-process (ms)."""
    import hashlib
    import secrets
    from datetime import timedelta

    from shared.core.models import utcnow
    from shared.gcp import clients

    collection = clients.firestore().collection("sessions")
    bare: list[float] = []
    http: list[float] = []
    client = Client(sessions_server.port)
    try:
        for index in range(samples + 5):
            now = utcnow()
            record: dict[str, Any] = {"sessionId": "ses_" + secrets.token_hex(12)}
            record["userId"] = "usr_bench"
            record |= {"createdAt": now, "expiresAt": now + timedelta(hours=24)}
            document = hashlib.sha256(secrets.token_bytes(32)).hexdigest()
            started = time.perf_counter()
            collection.document(document).create(record)
            create_ms = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            answer = client.request("POST", "/v1/sessions")
            http_ms = (time.perf_counter() - started) * 1000
            if answer.status != 201:
                return {"skipped": f"POST /v1/sessions answered {answer.status}"}
            if index >= 5:
                bare.append(create_ms)
                http.append(http_ms)
    finally:
        client.close()
    return {
        "platformMs": summary(http),
        "bareCreateMs": summary(bare),
        "addedMs": round(statistics.median(http) - statistics.median(bare), 2),
    }
