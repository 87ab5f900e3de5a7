"""The command line itself: --json on every command, --version, help with examples, error
reports with the platform's details, and exit statuses that tell failures apart."""

from __future__ import annotations

import argparse
import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from agent_platform_cli.main import main, parser
from tests.agent_platform_cli.conftest import run_cli
from tests.agent_platform_cli.fake_platform import AGENT, OTHER_AGENT, FakePlatform, answer

SESSION = {"sessionId": "ses_1", "userId": "usr_1", "expiresAt": "2026-12-02T03:31:25Z"}
ROUTE = {
    "persona": "Elro",
    "confidence": 0.82,
    "secondary": "Lua",
    "scores": {"Lua": 0.1, "Elro": 0.82, "Riri": 0.04, "Nana": 0.04},
    "resonanceKey": "curious-medium-inquiry",
    "reasoning": "Elro (0.82): tone curious",
}
RUN = {
    "runId": "ltr_1",
    "scenario": "light",
    "startedAt": "2026-12-01T10:00:00Z",
    "totals": {"requests": 19, "failures": 0, "elapsedSeconds": 3.1, "rps": 6.1},
    "endpoints": {
        "POST /v1/sessions": {
            "requests": 19,
            "failures": 0,
            "failureRatio": 0.0,
            "p50Ms": 11,
            "p95Ms": 17,
            "p99Ms": 17,
            "maxMs": 20,
            "rps": 6.1,
        }
    },
    "verdict": "pass",
    "breaches": [],
    "regression": False,
    "regressions": [],
}
ALERT = {
    "id": "alr_1",
    "status": "firing",
    "severity": "warning",
    "summary": "p95 over budget",
    "lastSeenAt": "2026-12-01T10:00:00Z",
    "count": 3,
}
BASE_URL = "(the platform's URL)"


@pytest.fixture
def platform(guest: FakePlatform) -> FakePlatform:
    """The guest's routes and the others every command uses."""
    guest.on("GET", "/v1/sessions/current", answer(200, SESSION))
    guest.on("DELETE", "/v1/sessions/current", answer(204, b""))
    guest.on("POST", "/v1/agents", answer(201, AGENT))
    guest.on("DELETE", f"/v1/agents/{AGENT['id']}", answer(204, b""))
    guest.on("POST", "/v1/personas/route", answer(200, ROUTE))
    guest.on("POST", "/v1/loadtests/runs", answer(201, RUN))
    guest.on("GET", "/v1/loadtests/runs", answer(200, {"runs": [RUN]}))
    guest.on("GET", "/v1/alerts", answer(200, {"alerts": [ALERT]}))
    return guest


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["session", "show", "--json"], SESSION),
        (["agents", "list", "--json"], {"agents": [AGENT, OTHER_AGENT]}),
        (["--json", "agents", "list"], {"agents": [AGENT, OTHER_AGENT]}),
        (["agents", "create", "Helper", "--json"], AGENT),
        (["agents", "delete", "Helper", "--json"], AGENT),
        (["route", "why is p95 up?", "--json"], ROUTE),
        (["loadtest", "run", "--duration", "0.1", "--json"], RUN),
        (["loadtest", "list", "--json"], {"runs": [RUN]}),
        (["alerts", "list", "--json"], {"alerts": [ALERT]}),
        (["operator", "clear", "--json"], {"ok": True, "baseUrl": BASE_URL}),
        (["session", "end", "--json"], {"ok": True, "baseUrl": BASE_URL}),
    ],
)
def test_json_prints_what_the_api_answered(
    platform: FakePlatform, argv: list[str], expected: dict[str, Any]
) -> None:
    result = run_cli(*argv)

    assert result.status == 0, result.err
    printed = json.loads(result.out)
    if printed.get("baseUrl") == platform.url:
        printed["baseUrl"] = BASE_URL
    assert printed == expected


def test_session_new_with_json_keeps_the_token_out_of_the_output(platform: FakePlatform) -> None:
    result = run_cli("session", "new", "--json")

    assert result.status == 0
    assert json.loads(result.out) == {
        "sessionId": "ses_1",
        "userId": "usr_1",
        "expiresAt": "2026-12-02T03:31:25Z",
    }
    assert "gst_secret_token_value" not in result.out + result.err


def test_chat_with_json_prints_one_event_per_line(platform: FakePlatform) -> None:
    result = run_cli("chat", "Helper", "--json", stdin="hello\n")

    lines = [json.loads(line) for line in result.out.splitlines()]
    assert result.status == 0
    assert [line["event"] for line in lines] == [
        "conversation",
        "message.created",
        "message.delta",
        "message.delta",
        "message.completed",
        "done",
    ]
    assert lines[0]["data"]["id"] == "cnv_1"
    assert "".join(line["data"]["text"] for line in lines if line["event"] == "message.delta") == (
        "Hello!"
    )


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])

    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"agent-platform {version('agent-platform')}\n"


@pytest.mark.parametrize("argv", [[], ["agents"], ["loadtest"]])
def test_a_bare_command_prints_its_help_and_exits_0(argv: list[str]) -> None:
    result = run_cli(*argv)

    assert result.status == 0
    assert result.out.startswith(f"usage: agent-platform {' '.join(argv)}".rstrip() + " ")
    assert "examples:" in result.out
    assert result.err == ""


def _command_paths() -> list[list[str]]:
    """Every command and action of the parser, e.g. ["agents", "create"]."""

    def below(command: argparse.ArgumentParser, path: list[str]) -> list[list[str]]:
        found = [path] if path else []
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    found.extend(below(child, [*path, name]))
        return found

    return below(parser(), [])


@pytest.mark.parametrize("path", _command_paths(), ids=" ".join)
def test_every_command_help_shows_examples(
    path: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([*path, "--help"])

    shown = capsys.readouterr().out
    assert f"examples:\n  agent-platform {path[0]}" in shown


def test_an_api_error_shows_the_platform_details_one_per_line(platform: FakePlatform) -> None:
    refusal = {
        "error": {
            "code": "invalid_request",
            "message": "invalid body: check name, model",
            "requestId": "req_1",
            "details": [
                {"field": "name", "issue": "String should have at most 100 characters"},
                {"field": "model", "issue": "not a model of this platform"},
            ],
        }
    }
    platform.on("POST", "/v1/agents", answer(400, refusal))

    result = run_cli("agents", "create", "x" * 101)

    assert result.status == 1
    assert result.err == (
        "error: invalid body: check name, model (HTTP 400, request req_1)\n"
        "  name: String should have at most 100 characters\n"
        "  model: not a model of this platform\n"
    )


def test_json_mode_prints_the_platform_error_document(platform: FakePlatform) -> None:
    refusal = {"error": {"code": "conflict", "message": "busy", "requestId": "r", "details": []}}
    platform.on("POST", "/v1/agents", answer(409, refusal))

    result = run_cli("agents", "create", "Helper", "--json")

    assert result.status == 1
    assert json.loads(result.out) == refusal
    assert result.err.startswith("error: busy (HTTP 409, request r)")


@pytest.mark.parametrize(
    ("status", "group_argv", "advice"),
    [
        (500, ["agents", "list"], "the platform's logs name this failure by its request id"),
        (401, ["agents", "list"], "start a new session with 'agent-platform session new'"),
        (401, ["alerts", "list"], "check the token with 'agent-platform operator set'"),
    ],
)
def test_an_error_ends_with_a_hint_of_what_to_do(
    platform: FakePlatform, status: int, group_argv: list[str], advice: str
) -> None:
    failure = {"error": {"code": "x", "message": "it failed", "requestId": "req_9"}}
    platform.on("GET", "/v1/agents", answer(status, failure))
    platform.on("GET", "/v1/alerts", answer(status, failure))

    result = run_cli(*group_argv)

    assert result.status == 1
    assert result.err == f"error: it failed (HTTP {status}, request req_9); {advice}\n"


def test_loadtest_run_exits_4_when_the_verdict_is_fail(platform: FakePlatform) -> None:
    failing = {**RUN, "verdict": "fail", "breaches": ["p95 of POST /v1/sessions over 500 ms"]}
    platform.on("POST", "/v1/loadtests/runs", answer(201, failing))

    failed = run_cli("loadtest", "run", "--duration", "0.1")
    passed_run = {**RUN}
    platform.on("POST", "/v1/loadtests/runs", answer(201, passed_run))
    passed = run_cli("loadtest", "run", "--duration", "0.1")

    assert failed.status == 4
    assert "Run ltr_1 (light): FAIL" in failed.out
    assert "SLO breach: p95 of POST /v1/sessions over 500 ms" in failed.out
    assert passed.status == 0


def test_json_mode_names_the_errors_found_on_this_side(home: Path) -> None:
    no_session = run_cli("agents", "list", "--json")
    unreachable = run_cli("--base-url", "http://127.0.0.1:9", "session", "new", "--json")

    assert no_session.status == 1
    assert json.loads(no_session.out)["error"]["code"] == "command"
    assert unreachable.status == 3
    assert json.loads(unreachable.out)["error"]["code"] == "unreachable"
    assert unreachable.err.startswith("error: cannot reach http://127.0.0.1:9")
