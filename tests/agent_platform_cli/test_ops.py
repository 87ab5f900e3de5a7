"""`agent-platform ops "<text>"`: a read runs at once and is shown; a change is shown, then
runs only once confirmed (the prompt, --yes or --confirm ID); exit statuses and --json
follow the CLI's conventions."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from agent_platform_cli.main import main
from tests.agent_platform_cli.conftest import Run, run_cli
from tests.agent_platform_cli.fake_platform import FakePlatform, answer

COMMAND_ID = "opc_0123456789abcdef01234567"
CONFIRM = f"/v1/ops/commands/{COMMAND_ID}/confirm"
STATUS = {
    "source": "local-stack",
    "minutes": 60,
    "functions": [
        {
            "function": "chat",
            "servingRevision": "chat-local-00001",
            "ready": True,
            "instances": {"minInstances": 1, "maxInstances": 1},
            "manifest": {"minInstances": 1, "maxInstances": 40},
            "requests": 12,
            "errors5xx": 1,
            "p95Ms": 812.4,
            "coldStarts": 1,
            "note": "make run runs one process per function",
        }
    ],
}
RESTART_PLAN = {
    "tool": "restart_function",
    "arguments": {"function": "webhook"},
    "summary": "restart_function(function=webhook)",
    "changes": True,
}
RESTARTED = {
    "function": "webhook",
    "action": "restart",
    "previousRevision": "webhook-local-00001",
    "revision": "webhook-local-00002",
    "ready": True,
    "seconds": 4.8,
}


def command(status: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": COMMAND_ID,
        "text": "…",
        "status": status,
        "plannedBy": "offline",
        "requestedBy": "operator (token)",
        "createdAt": "2026-12-08T01:00:00Z",
        **fields,
    }


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def at_a_terminal(*argv: str, typed: str, capsys: pytest.CaptureFixture[str]) -> Run:
    status = main(list(argv), stdin=Terminal(typed))
    captured = capsys.readouterr()
    return Run(status, captured.out, captured.err)


@pytest.fixture
def planned(guest: FakePlatform) -> FakePlatform:
    """A platform that plans a restart and runs it when confirmed."""
    guest.on(
        "POST", "/v1/ops/commands", answer(201, command("awaiting_confirmation", plan=RESTART_PLAN))
    )
    guest.on("POST", CONFIRM, answer(200, command("done", plan=RESTART_PLAN, result=RESTARTED)))
    return guest


def test_a_read_runs_at_once_and_shows_the_status_table(guest: FakePlatform) -> None:
    plan = {
        "tool": "platform_status",
        "arguments": {},
        "summary": "platform_status()",
        "changes": False,
    }
    guest.on("POST", "/v1/ops/commands", answer(201, command("done", plan=plan, result=STATUS)))

    result = run_cli("ops", "how is chat doing")

    assert result.status == 0, result.err
    [sent] = guest.sent("POST", "/v1/ops/commands")
    assert sent.json() == {"text": "how is chat doing"}
    assert sent.headers["Authorization"] == "Bearer operator-token"
    lines = result.out.splitlines()
    assert lines[0] == "local-stack, last 60 min"
    assert lines[1].split() == [
        "FUNCTION",
        "REVISION",
        "READY",
        "INSTANCES",
        "REQUESTS",
        "5XX",
        "P95",
        "MS",
        "COLD",
    ]
    assert lines[3].split() == ["chat", "chat-local-00001", "yes", "1-1", "12", "1", "812", "1"]
    assert "note: make run runs one process per function" in result.out
    assert guest.sent("POST", CONFIRM) == []


def test_a_change_is_not_run_without_a_terminal_or_yes(planned: FakePlatform) -> None:
    result = run_cli("ops", "restart the webhook")

    assert result.status == 5
    assert "Plan: restart_function(function=webhook) (changes the platform" in result.err
    assert f"agent-platform ops --confirm {COMMAND_ID}" in result.err
    assert planned.sent("POST", CONFIRM) == []


def test_yes_runs_the_change_and_shows_what_it_did(planned: FakePlatform) -> None:
    result = run_cli("ops", "restart the webhook", "--yes")

    assert result.status == 0, result.err
    assert len(planned.sent("POST", CONFIRM)) == 1
    assert result.out.strip() == (
        "Restarted webhook: webhook-local-00001 -> webhook-local-00002 (ready in 4.8 s)."
    )


@pytest.mark.parametrize(
    ("typed", "runs"), [("y\n", True), ("네\n", True), ("n\n", False), ("", False)]
)
def test_at_a_terminal_the_prompt_decides(
    planned: FakePlatform, capsys: pytest.CaptureFixture[str], typed: str, runs: bool
) -> None:
    result = at_a_terminal("ops", "restart the webhook", typed=typed, capsys=capsys)

    assert "Run it? [y/N] " in result.err
    assert (result.status, len(planned.sent("POST", CONFIRM))) == ((0, 1) if runs else (5, 0))


def test_confirm_runs_a_planned_command_by_its_id(planned: FakePlatform) -> None:
    result = run_cli("ops", "--confirm", COMMAND_ID)

    assert result.status == 0
    assert planned.sent("POST", "/v1/ops/commands") == []
    assert "Restarted webhook" in result.out


def test_json_prints_the_command_as_the_api_answered_it(planned: FakePlatform) -> None:
    confirmed = run_cli("ops", "restart the webhook", "--yes", "--json")
    declined = run_cli("ops", "restart the webhook", "--json")

    assert json.loads(confirmed.out)["result"] == RESTARTED
    assert json.loads(declined.out)["status"] == "awaiting_confirmation"
    assert declined.status == 5


def test_no_plan_exits_1_with_the_reason(guest: FakePlatform) -> None:
    refused = command("unrecognised", plan=None, reason="negated: the command says not to do it")
    guest.on("POST", "/v1/ops/commands", answer(201, refused))

    text = run_cli("ops", "don't restart chat")
    as_json = run_cli("ops", "don't restart chat", "--json")

    assert text.status == as_json.status == 1
    assert text.err.strip() == "error: no plan: negated: the command says not to do it"
    assert json.loads(as_json.out) == refused  # one document: the command itself


def test_a_change_that_failed_exits_1_with_the_tool_s_error(planned: FakePlatform) -> None:
    failed = command("failed", plan=RESTART_PLAN, error="no local equivalent: make run ...")
    planned.on("POST", CONFIRM, answer(200, failed))

    result = run_cli("ops", "restart the webhook", "--yes")

    assert result.status == 1
    assert "error: restart_function failed: no local equivalent" in result.err


def test_log_entries_are_shown_one_a_line_cleaned_of_terminal_controls(
    guest: FakePlatform,
) -> None:
    plan = {
        "tool": "function_logs",
        "arguments": {},
        "summary": "function_logs()",
        "changes": False,
    }
    logs = {
        "source": "cloud-run",
        "query": "…",
        "entries": [
            {
                "time": "2026-12-08T01:02:03.456Z",
                "function": "chat",
                "severity": "ERROR",
                "message": "model stalled \x1b]0;owned\x07\nTraceback (most recent call last):",
            }
        ],
    }
    guest.on("POST", "/v1/ops/commands", answer(201, command("done", plan=plan, result=logs)))

    result = run_cli("ops", "chat errors")

    assert result.out.splitlines() == [
        "2026-12-08 01:02:03  ERROR    chat  model stalled ",
        "    Traceback (most recent call last):",
    ]


@pytest.mark.parametrize(
    "argv", [["ops"], ["ops", "  "], ["ops", "status", "--confirm", COMMAND_ID]]
)
def test_a_command_needs_its_text_or_an_id_but_not_both(
    guest: FakePlatform, argv: list[str]
) -> None:
    assert run_cli(*argv).status == 2


def test_without_an_operator_token_it_says_how_to_set_one(home: Any) -> None:
    result = run_cli("ops", "how is chat doing")

    assert result.status == 1 and "agent-platform operator set" in result.err
