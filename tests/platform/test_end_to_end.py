"""The platform's user journeys through `make run`'s stack: gateway, functions, emulators,
push subscriptions, and the local stand-ins for Anthropic and Slack.

The last test reads everything the stack logged during these journeys and looks for the
secrets and tokens they used.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from shared.github import deliveries as github
from tests.conftest import E2E_ADMIN_TOKEN, ROOT, RunningStack, StackPeers

pytestmark = pytest.mark.e2e

DATA = ROOT / "tests" / "data"
# Every bearer token handed out during these journeys, for the log check at the end.
TOKENS_SEEN: list[str] = []


@pytest.fixture(scope="module")
def http(local_stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_stack.url, timeout=30) as client:
        yield client


def new_session(http: httpx.Client) -> dict[str, str]:
    created = http.post("/v1/sessions")
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    TOKENS_SEEN.append(token)
    return {"Authorization": f"Bearer {token}"}


def eventually(check: Callable[[], Any], timeout: float = 15) -> Any:
    """Poll until `check` returns something truthy; the last value otherwise."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(0.25)
        value = check()
    return value


def sse_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for frame in response.text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        if "event" in fields:
            found.append((fields["event"], json.loads(fields.get("data", "{}"))))
    return found


def chat_once(http: httpx.Client, headers: dict[str, str], model: str) -> tuple[str, list]:
    agent = http.post("/v1/agents", json={"name": "E2E", "model": model}, headers=headers)
    assert agent.status_code == 201, agent.text
    agent_id = agent.json()["id"]
    conversation = http.post("/v1/conversations", json={"agentId": agent_id}, headers=headers)
    assert conversation.status_code == 201, conversation.text
    streamed = http.post(
        f"/v1/conversations/{conversation.json()['id']}/messages",
        json={"content": "Plan the release for Friday, please."},
        headers={**headers, "Accept": "text/event-stream"},
    )
    assert streamed.status_code == 200
    assert streamed.headers["content-type"].startswith("text/event-stream")
    return agent_id, sse_events(streamed)


def test_streamed_chat_with_the_offline_model_counts_a_run(http: httpx.Client) -> None:
    headers = new_session(http)

    agent_id, events = chat_once(http, headers, "offline")

    names = [name for name, _ in events]
    assert names[0] == "message.created"
    assert "message.delta" in names
    assert names[-2:] == ["message.completed", "done"]
    completed = dict(events)["message.completed"]
    assert json.dumps(completed).count("offline") >= 1
    total_runs = eventually(
        lambda: http.get(f"/v1/agents/{agent_id}", headers=headers).json()["stats"]["totalRuns"]
    )
    assert total_runs == 1


def test_streamed_chat_with_an_api_key_goes_through_the_sdk(
    http: httpx.Client, stack_peers: StackPeers
) -> None:
    headers = new_session(http)
    stack_peers.messages_api.reset()

    _, events = chat_once(http, headers, "claude-sonnet-4-6")

    text = "".join(data.get("text", "") for name, data in events if name == "message.delta")
    assert text == stack_peers.messages_api.reply
    keys = {request.api_key for request in stack_peers.messages_api.requests}
    assert keys == {stack_peers.secrets["ANTHROPIC_API_KEY"]}


def test_persona_routing_and_answer(http: httpx.Client) -> None:
    headers = new_session(http)

    routed = http.post(
        "/v1/personas/route",
        json={"message": "Our p95 latency doubled after the deploy; which metric moved first?"},
        headers=headers,
    )
    answered = http.post("/v1/personas/chat", json={"message": "I feel stuck."}, headers=headers)

    assert routed.status_code == 200
    assert abs(sum(routed.json()["scores"].values()) - 1) < 1e-9
    assert answered.status_code == 200
    assert answered.json()["persona"] in {"Lua", "Elro", "Riri", "Nana"}


def test_merged_openapi_covers_every_prefix(http: httpx.Client) -> None:
    paths = set(http.get("/v1/openapi.json").json()["paths"])

    for prefix in (
        "/v1/sessions",
        "/v1/agents",
        "/v1/dashboard",
        "/v1/conversations",
        "/v1/personas",
    ):
        assert any(path.startswith(prefix) for path in paths), prefix


def operator_alerts(http: httpx.Client, source: str) -> list[dict[str, Any]]:
    answer = http.get("/v1/alerts", headers={"Authorization": f"Bearer {E2E_ADMIN_TOKEN}"})
    assert answer.status_code == 200, answer.text
    return [alert for alert in answer.json()["alerts"] if alert["source"] == source]


def test_signed_push_to_main_becomes_a_deploy_alert_and_a_slack_post(
    http: httpx.Client, stack_peers: StackPeers
) -> None:
    body = (DATA / "github" / "push.json").read_bytes()
    secret = stack_peers.secrets["GITHUB_WEBHOOK_SECRET"].encode()

    delivered = http.post(
        "/v1/webhooks/github",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": github.signature_for(body, secret),
        },
    )

    assert delivered.status_code == 202, delivered.text
    assert eventually(lambda: operator_alerts(http, "deploy"))
    assert eventually(lambda: any("Deploy" in text for text in stack_peers.slack.texts()))


def test_incident_fires_then_resolves(
    http: httpx.Client, local_stack: RunningStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.cloud import pubsub_v1

    opened = json.loads((DATA / "monitoring" / "incident_open.json").read_text())
    closed = json.loads((DATA / "monitoring" / "incident_closed.json").read_text())
    # Cloud Monitoring's side: publish to the stack's own Pub/Sub emulator.
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{local_stack.ports[2]}")
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(local_stack.project, "monitoring-incidents")

    publisher.publish(topic, json.dumps(opened).encode()).result(timeout=10)
    firing = eventually(
        lambda: [a for a in operator_alerts(http, "monitoring") if a["status"] == "firing"]
    )
    publisher.publish(topic, json.dumps(closed).encode()).result(timeout=10)
    resolved = eventually(
        lambda: [a for a in operator_alerts(http, "monitoring") if a["status"] == "resolved"]
    )

    assert firing
    assert resolved
    assert resolved[0]["id"] == firing[0]["id"]


def test_retries_with_a_key_replay_and_a_stream_resumes_through_the_gateway(
    http: httpx.Client, stack_peers: StackPeers
) -> None:
    auth = new_session(http)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    agents = [http.post("/v1/agents", json={"name": "Once"}, headers={**auth, **key}) for _ in "ab"]
    conversation = http.post(
        "/v1/conversations", json={"agentId": agents[0].json()["id"]}, headers=auth
    ).json()
    url = f"/v1/conversations/{conversation['id']}/messages"
    send = {**auth, "Accept": "text/event-stream", "Idempotency-Key": uuid.uuid4().hex}
    calls_before = len(stack_peers.messages_api.requests)

    first = http.post(url, json={"content": "hello"}, headers=send)
    replay = http.post(url, json={"content": "hello"}, headers=send)
    events = sse_events(first)
    created_id = first.text.split("\n", 1)[0]  # `id: 0` of message.created
    resumed = http.get(first.headers["content-location"], headers={**auth, "Last-Event-ID": "0"})
    listed = http.get("/v1/agents", headers=auth).json()["agents"]

    assert agents[0].json() == agents[1].json() and len(listed) == 1
    assert agents[1].headers["idempotent-replayed"] == "true"
    assert len(stack_peers.messages_api.requests) == calls_before + 1
    assert replay.headers["idempotent-replayed"] == "true"
    text = "".join(d["text"] for name, d in events if name == "message.delta")
    assert created_id == "id: 0" and text
    assert "".join(d["text"] for n, d in sse_events(resumed) if n == "message.delta") == text
    assert "".join(d["text"] for n, d in sse_events(replay) if n == "message.delta") == text


def test_no_secret_or_token_reaches_the_logs(
    local_stack: RunningStack, stack_peers: StackPeers
) -> None:
    logs = "\n".join(local_stack.output)
    secrets = [value for value in stack_peers.secrets.values() if value]

    assert TOKENS_SEEN, "the journeys above should have created sessions"
    assert len(logs) > 10_000, "the stack should have logged the journeys"
    leaked = [value[:12] + "..." for value in [*secrets, *TOKENS_SEEN] if value in logs]
    assert leaked == []
