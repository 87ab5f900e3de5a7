"""The operator tools on the stack `make run` started (no model key: the offline reader plans):
an operator asks in plain words for the status of every function, reads the last errors of
one and restarts one and sees it come back, through POST /v1/ops/commands, MCP (the
official Python client) and the CLI; what has no local equivalent says so."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.manifest import load
from tests.conftest import E2E_ADMIN_TOKEN, RunningStack, start_stack, stop_stack

pytestmark = pytest.mark.e2e
OPERATOR = {"Authorization": f"Bearer {E2E_ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    """`make run` without a model key, as a laptop runs it (text log lines)."""
    running = start_stack({"OFFLINE_CHUNK_DELAY_MS": "0"})
    yield running
    stop_stack(running)


@pytest.fixture(scope="module")
def http(stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=180, headers=OPERATOR) as client:
        yield client


def ask(http: httpx.Client, text: str) -> dict[str, Any]:
    answer = http.post("/v1/ops/commands", json={"text": text})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def confirm(http: httpx.Client, command: dict[str, Any]) -> dict[str, Any]:
    answer = http.post(f"/v1/ops/commands/{command['id']}/confirm")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def function_port(stack: RunningStack, name: str) -> int:
    """The function's own port, from the banner `make run` prints."""
    for line in stack.output:
        found = re.match(rf"\s+{re.escape(name)}\s+127\.0\.0\.1:(\d+)\s", line)
        if found:
            return int(found.group(1))
    raise AssertionError(f"{name} is not in the banner")


def test_the_status_of_every_function_in_plain_words(http: httpx.Client) -> None:
    http.post("/v1/sessions", headers={})  # one request through the gateway to count

    body = ask(http, "how are the functions doing?")

    assert (body["status"], body["plan"]["tool"], body["plannedBy"]) == (
        "done",
        "platform_status",
        "offline",
    )
    report = body["result"]
    assert report["source"] == "local-stack"
    listed = {f["function"]: f for f in report["functions"]}
    assert set(listed) == {entry.name for entry in load().functions}
    sessions = listed["guest-session"]
    assert sessions["servingRevision"] == "guest-session-local-00001"
    assert sessions["ready"] is True and sessions["requests"] >= 1
    assert sessions["manifest"] == {"minInstances": 0, "maxInstances": 20}
    assert "requests" not in listed["agents-stats"]  # a Pub/Sub entry: not counted
    assert "Pub/Sub pushes bypass the gateway" in listed["agents-stats"]["note"]


def test_the_last_errors_of_one_function_in_plain_words(
    stack: RunningStack, http: httpx.Client
) -> None:
    # A malformed incident pushed to alerts-incidents: it is logged as an error and dropped.
    push = {
        "subscription": "projects/demo-agent-platform-e2e/subscriptions/alerts-incidents",
        "message": {
            "data": base64.b64encode(b"not an incident").decode(),
            "messageId": "e2e-poison-1",
            "publishTime": "2026-12-08T00:00:00Z",
        },
    }
    port = function_port(stack, "alerts-incidents")
    topic = "projects/demo-agent-platform-e2e/topics/monitoring-incidents"
    pushed = httpx.post(f"http://127.0.0.1:{port}/{topic}", json=push, timeout=30)
    assert pushed.status_code < 300, pushed.text

    body = ask(http, "show the last errors of the alerts-incidents function")

    assert body["plan"]["arguments"] == {
        "function": "alerts-incidents",
        "severity": "ERROR",
        "minutes": 60,
        "limit": 20,
    }
    [entry, *_] = body["result"]["entries"]
    assert entry["function"] == "alerts-incidents" and entry["severity"] == "ERROR"
    assert "poison incident dropped" in entry["message"]
    korean = ask(http, "웹훅 함수 로그 보여줘")
    assert korean["plan"]["arguments"]["function"] == "webhook"
    assert korean["status"] == "done"


def test_a_restart_waits_for_confirmation_then_the_function_comes_back(
    http: httpx.Client,
) -> None:
    planned = ask(http, "restart the webhook function")
    assert planned["status"] == "awaiting_confirmation"
    before = ask(http, "how is the webhook doing")["result"]["functions"][0]

    done = confirm(http, planned)

    assert done["status"] == "done", done
    result = done["result"]
    assert result["previousRevision"] == before["servingRevision"]
    assert result["revision"] != result["previousRevision"] and result["ready"] is True
    after = ask(http, "how is the webhook doing")["result"]["functions"][0]
    assert after["servingRevision"] == result["revision"]
    assert after["coldStarts"] == before["coldStarts"] + 1 and after["ready"] is True
    served = http.post("/v1/webhooks/github", json={}, headers={})
    assert 400 <= served.status_code < 500  # the new process answers (unsigned: refused)
    assert served.json()["error"]["code"]
    changed = ask(http, "what changed in the last hour")["result"]
    assert {"function": "webhook", "revision": result["revision"]}.items() <= next(
        r for r in changed["revisions"] if r["function"] == "webhook"
    ).items()


def test_what_has_no_local_equivalent_says_so(http: httpx.Client) -> None:
    rolled = confirm(http, ask(http, "roll back the webhook"))
    scaled = confirm(http, ask(http, "채팅 최소 인스턴스 2로"))

    assert rolled["status"] == scaled["status"] == "failed"
    assert rolled["error"].startswith("no local equivalent")
    assert scaled["error"].startswith("no local equivalent")


async def mcp_calls(url: str) -> tuple[Any, Any]:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with (
        httpx2.AsyncClient(headers=OPERATOR, timeout=180) as http_client,
        Client(streamable_http_client(url, http_client=http_client)) as client,
    ):
        status = await client.call_tool("platform_status", {"function": "console"})
        restarted = await client.call_tool("restart_function", {"function": "console"})
    return status, restarted


def test_status_and_a_restart_through_the_python_mcp_client(stack: RunningStack) -> None:
    import anyio

    status, restarted = anyio.run(mcp_calls, f"{stack.url}/mcp")

    assert status.is_error is False
    [console] = status.structured_content["functions"]
    assert console["function"] == "console"
    assert restarted.is_error is False, restarted.content
    assert restarted.structured_content["ready"] is True
    assert restarted.structured_content["previousRevision"] == console["servingRevision"]
    assert httpx.get(f"{stack.url}/", timeout=30).status_code == 200  # it serves again


def test_the_cli_asks_in_plain_words_and_confirms_with_yes(
    stack: RunningStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.agent_platform_cli.conftest import run_cli

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("AGENT_PLATFORM_URL", stack.url)
    assert run_cli("operator", "set", stdin=E2E_ADMIN_TOKEN + "\n").status == 0

    status = run_cli("ops", "how is chat doing")
    unconfirmed = run_cli("ops", "restart the persona router")
    restarted = run_cli("ops", "restart the persona router", "--yes", "--json")

    assert status.status == 0, status.err
    assert status.out.splitlines()[0] == "local-stack, last 60 min"
    assert any(line.split()[:2] == ["chat", "chat-local-00001"] for line in status.out.splitlines())
    assert unconfirmed.status == 5 and "Run it?" not in unconfirmed.err
    assert restarted.status == 0, restarted.err
    command = json.loads(restarted.out)
    assert command["status"] == "done" and command["result"]["ready"] is True
    assert command["result"]["revision"] == "persona-router-local-00002"


def test_the_typescript_mcp_client_reads_a_function_s_errors(stack: RunningStack) -> None:
    """`@modelcontextprotocol/sdk` from npm (root package.json, installed by `make test`)."""
    import subprocess

    from tests.conftest import ROOT

    if not (ROOT / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir():
        pytest.fail("run `make node_modules/.installed-stamp` (npm ci) first", pytrace=False)
    arguments = json.dumps({"function": "chat", "severity": "ERROR", "minutes": 30})

    command = ["node", "tests/support/mcp_client.mjs", f"{stack.url}/mcp", E2E_ADMIN_TOKEN]
    finished = subprocess.run(
        [*command, "function_logs", arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )

    assert finished.returncode == 0, finished.stderr
    answer = json.loads(finished.stdout.strip().splitlines()[-1])
    assert {"platform_status", "function_logs", "restart_function"} <= set(answer["tools"])
    assert answer["result"]["isError"] is False
    logs = answer["result"]["structuredContent"]
    assert logs["source"] == "local-stack" and "severity>=ERROR" in logs["query"]
