"""`make run` end to end: the stack starts, serves the session flow, and stops cleanly."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.local.emulators import port_open
from infra.manifest import load
from tests.conftest import E2E_ADMIN_TOKEN, RunningStack, start_stack, stop_stack

pytestmark = pytest.mark.e2e
OPERATOR = {"Authorization": f"Bearer {E2E_ADMIN_TOKEN}"}


def test_session_flow_through_the_gateway(local_stack: RunningStack) -> None:
    with httpx.Client(base_url=local_stack.url, timeout=10) as http:
        created = http.post("/v1/sessions")
        assert created.status_code == 201
        headers = {"Authorization": f"Bearer {created.json()['token']}"}

        assert http.get("/v1/sessions/current", headers=headers).status_code == 200
        assert http.delete("/v1/sessions/current", headers=headers).status_code == 204
        refused = http.get("/v1/sessions/current", headers=headers)

    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"


def test_gateway_answers_contract_errors_as_json(local_stack: RunningStack) -> None:
    with httpx.Client(base_url=local_stack.url, timeout=10) as http:
        unknown = http.get("/v1/nowhere")
        malformed = http.post(
            "/v1/sessions", content=b"{oops", headers={"Content-Type": "application/json"}
        )
        oversized = http.post(
            "/v1/sessions",
            content=b" " * (100 * 1024),
            headers={"Content-Type": "application/json"},
        )

    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "malformed_json")
    assert (oversized.status_code, oversized.json()["error"]["code"]) == (413, "payload_too_large")


def test_merged_openapi_lists_the_session_routes(local_stack: RunningStack) -> None:
    document = httpx.get(f"{local_stack.url}/v1/openapi.json", timeout=10).json()

    assert {"/v1/sessions", "/v1/sessions/current"} <= set(document["paths"])


def test_function_logs_are_streamed_with_their_names(local_stack: RunningStack) -> None:
    httpx.post(f"{local_stack.url}/v1/sessions", timeout=10)

    assert any(line.strip().startswith("guest-session |") for line in local_stack.output)


def test_the_stack_calls_the_sweep_as_cloud_scheduler_would(local_stack: RunningStack) -> None:
    swept: list[str] = []
    for _ in range(100):
        swept = [line for line in local_stack.output if "sweep: {" in line]
        if swept:
            break
        time.sleep(0.1)

    assert swept, "no sweep within 10 s at SWEEP_SECONDS=2"
    assert '"pendingFailed"' in swept[0]


def test_sigint_stops_every_process_and_frees_the_ports() -> None:
    stack = start_stack()
    function_ports = range(stack.ports[3], stack.ports[3] + len(load().functions))
    # `make run` defaults to readable lines and names each function's port.
    httpx.post(f"{stack.url}/v1/sessions", timeout=10)
    access = [""]
    for _ in range(100):
        access = [line for line in stack.output if "POST /v1/sessions 201" in line]
        if access:
            break
        time.sleep(0.1)
    banner = [line for line in stack.output if f"127.0.0.1:{stack.ports[3]}" in line]

    code = stop_stack(stack)

    assert access and "{" not in access[0] and "ms" in access[0] and "req=" in access[0]
    assert banner and "/v1/" in "\n".join(stack.output[stack.output.index(banner[0]) :])

    assert code == 0
    assert [port for port in [*stack.ports[:3], *function_ports] if port_open(port)] == []


def test_the_console_is_served_at_the_root_and_announced(local_stack: RunningStack) -> None:
    page = httpx.get(f"{local_stack.url}/", timeout=10)
    unknown = httpx.get(f"{local_stack.url}/v1/unknown", timeout=10)

    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    assert any(f"Console: {local_stack.url}/" in line for line in local_stack.output)


def held_ports(stack: RunningStack) -> list[int]:
    function_ports = range(stack.ports[3], stack.ports[3] + len(load().functions))
    return [port for port in [*stack.ports[:3], *function_ports] if port_open(port)]


def test_kill_9_of_make_run_leaves_no_process_and_frees_every_port() -> None:
    stack = start_stack(command=["make", "--no-print-directory", "-s", "run"])
    stack_pid = int(
        subprocess.run(
            ["pgrep", "-P", str(stack.process.pid), "-f", "infra.local.stack"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[0]
    )
    children = descendants(stack_pid)
    assert len(children) >= len(load().functions)

    stack.process.send_signal(signal.SIGKILL)  # make itself, hard
    stack.process.wait(10)
    deadline = time.monotonic() + 15
    while (held_ports(stack) or alive([stack_pid, *children])) and time.monotonic() < deadline:
        time.sleep(0.25)

    assert held_ports(stack) == []
    assert alive([stack_pid, *children]) == []


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    listing = subprocess.run(
        ["ps", "-eo", "pid=,ppid="], check=True, capture_output=True, text=True
    )
    pairs = [tuple(int(v) for v in line.split()) for line in listing.stdout.splitlines() if line]
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in pairs if ppid == parent]
        found += children
        frontier += children
    return found


def alive(pids: list[int]) -> list[int]:
    living = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
        except (FileNotFoundError, IndexError):
            continue
        if state != "Z":
            living.append(pid)
    return living


@pytest.mark.parametrize(
    ("name", "value"),
    [("X-Note", "café ☕"), ("Authorization", "Bearer gst_ünïcode"), ("Origin", "https://é.test")],
)
def test_non_ascii_header_values_get_json_answers_with_security_headers(
    local_stack: RunningStack, name: str, value: str
) -> None:
    response = httpx.get(
        f"{local_stack.url}/v1/sessions/current",
        headers={name: value.encode()},
        timeout=10,
    )

    assert response.status_code < 500
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"]
    assert "error" in response.json() or "sessionId" in response.json()


def test_keep_alive_connections_idle_past_two_seconds_are_never_dropped(
    local_stack: RunningStack,
) -> None:
    statuses = []
    with httpx.Client(base_url=local_stack.url, timeout=10) as http:
        for _ in range(4):
            statuses.append(http.get("/v1/openapi.json").status_code)
            statuses.append(http.post("/v1/sessions").status_code)
            time.sleep(2.05)  # just past gunicorn's default keep-alive of 2 s

    assert statuses == [200, 201] * 4


def wait_for_line(stack: RunningStack, text: str) -> None:
    """Until the stack has printed `text` (its output is read on another thread)."""
    for _ in range(200):
        if any(text in line for line in stack.output):
            return
        time.sleep(0.05)


def test_ready_means_ready_and_a_clean_run_prints_no_traceback_and_no_error() -> None:
    stack = start_stack()
    with httpx.Client(base_url=stack.url, timeout=60) as http:
        session = http.post("/v1/sessions")  # at once: "ready" promised it would work
        token = session.json().get("token", "") if session.status_code == 201 else ""
        agent = http.post(
            "/v1/agents", json={"name": "First"}, headers={"Authorization": f"Bearer {token}"}
        )

    code = stop_stack(stack)
    wait_for_line(stack, "make run: stopped")

    assert (session.status_code, agent.status_code, code) == (201, 201, 0), session.text
    assert [line for line in stack.output if "Traceback" in line or "ERROR" in line] == []
    assert stack.output[-1].startswith("make run: stopped in ")


def test_a_load_test_started_here_targets_this_stack(local_stack: RunningStack) -> None:
    run = {"scenario": "light", "durationSeconds": 1, "users": 1, "maxRequests": 4}

    answer = httpx.post(
        f"{local_stack.url}/v1/loadtests/runs", json=run, headers=OPERATOR, timeout=120
    )

    assert answer.status_code == 201, answer.text
    assert answer.json()["targetBaseUrl"] == local_stack.url
    assert answer.json()["totals"]["requests"] > 0


async def start_loadtest_over_mcp(url: str) -> Any:
    """The official Python MCP client, as an operator, calling `start_loadtest`."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    arguments = {"scenario": "light", "durationSeconds": 1, "users": 1, "maxRequests": 4}
    async with (
        httpx2.AsyncClient(headers=OPERATOR, timeout=120) as http_client,
        Client(streamable_http_client(url, http_client=http_client)) as client,
    ):
        return await client.call_tool("start_loadtest", arguments)


def test_start_loadtest_runs_through_the_python_mcp_client(local_stack: RunningStack) -> None:
    import anyio

    called = anyio.run(start_loadtest_over_mcp, f"{local_stack.url}/mcp")

    assert called.is_error is False, called.content
    run = f"{local_stack.url}/v1/loadtests/runs/{called.structured_content['runId']}"
    stored = httpx.get(run, headers=OPERATOR, timeout=10)
    assert stored.json()["targetBaseUrl"] == local_stack.url
    assert stored.json()["totals"]["requests"] > 0
