"""What the console's browser tests do to a page: load it, make agents and conversations
through the API the page itself uses, answer routes with canned bodies, run axe-core."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import ROOT

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

# A fetch with this page's guest token, from inside the page.
_API = """async ([method, path, body]) => {
  const session = JSON.parse(localStorage.getItem("agentPlatform.session"));
  const response = await fetch(path, {
    method,
    headers: {Authorization: "Bearer " + session.token, "Content-Type": "application/json"},
    body: body === null ? undefined : JSON.stringify(body),
  });
  return {status: response.status, body: response.status === 204 ? null : await response.json()};
}"""


@dataclass
class Console:
    """A page of the console with everything the browser reported while it was open."""

    page: Any
    url: str
    messages: list[str] = field(default_factory=list)

    def errors(self, *allowed: str) -> list[str]:
        return [m for m in self.messages if not any(text in m for text in allowed)]

    def load(self, path: str = "/") -> Any:
        response = self.page.goto(self.url + path)
        self.page.wait_for_selector("body[data-ready=true]")
        self.page.wait_for_selector("#session-status[data-state=active]")
        return response

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The API answer's body for a request with this page's guest token (2xx only)."""
        answer = self.page.evaluate(_API, [method, path, body])
        assert answer["status"] < 300, answer
        return answer["body"]

    def create_agent(self, name: str) -> str:
        """An agent made through the API (the page learns of it when a view refreshes)."""
        body = {"name": name, "systemPrompt": "", "persona": "auto", "model": "claude-sonnet-4-6"}
        return str(self.api("POST", "/v1/agents", body)["id"])

    def create_agent_with_form(self, name: str) -> None:
        page = self.page
        page.get_by_role("button", name="New agent").click()
        page.get_by_label("Name", exact=True).fill(name)
        page.get_by_role("button", name="Create").click()
        page.get_by_role("heading", name=name).wait_for()

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's violations on the page as it is now: `[{id, impact, nodes}]`."""
        if not self.page.evaluate("typeof window.axe === 'object'"):
            # Evaluated through the DevTools protocol: the page's CSP does not apply.
            self.page.evaluate(AXE.read_text())
        return list(
            self.page.evaluate(
                """async () => (await axe.run(document, {resultTypes: ["violations"]}))
                .violations.map((v) => ({id: v.id, impact: v.impact,
                  nodes: v.nodes.map((n) => n.target.join(" ") + " " + n.failureSummary)}))"""
            )
        )


def fulfil_json(route: Any, body: Any, status: int = 200) -> None:
    route.fulfill(status=status, content_type="application/json", body=json.dumps(body))


def endpoint(p50: float, p95: float, p99: float, requests: int = 40, failures: int = 0) -> dict:
    return {
        "requests": requests,
        "failures": failures,
        "failureRatio": failures / requests,
        "p50Ms": p50,
        "p95Ms": p95,
        "p99Ms": p99,
        "maxMs": p99 + 10,
        "rps": requests / 15,
    }


def loadtest_run(
    run_id: str,
    started: datetime,
    endpoints: dict[str, dict[str, Any]],
    breaches: list[str] | None = None,
    scenario: str = "light",
) -> dict[str, Any]:
    """A load-test run as `GET /v1/loadtests/runs` answers it."""
    requests = sum(summary["requests"] for summary in endpoints.values())
    return {
        "runId": run_id,
        "scenario": scenario,
        "targetBaseUrl": "http://127.0.0.1:8080",
        "startedAt": started.isoformat().replace("+00:00", "Z"),
        "finishedAt": (started + timedelta(seconds=15)).isoformat().replace("+00:00", "Z"),
        "durationSeconds": 15.0,
        "users": 5,
        "spawnRate": 5.0,
        "maxRequests": 5000,
        "spendModelTokens": False,
        "totals": {
            "requests": requests,
            "failures": 0,
            "elapsedSeconds": 15.0,
            "rps": requests / 15,
            "stoppedBy": "duration",
        },
        "endpoints": endpoints,
        "verdict": "fail" if breaches else "pass",
        "breaches": breaches or [],
        "regression": False,
        "regressions": [],
        "baselineRuns": 0,
    }


CHAT = "POST /v1/conversations/{conversationId}/messages"
AGENTS = "POST /v1/agents"
SESSIONS = "POST /v1/sessions"


def failing_and_passing_runs() -> list[dict[str, Any]]:
    """Three runs, newest first: the newest failed two SLOs on two endpoints."""
    now = datetime.now(UTC).replace(microsecond=0)
    return [
        loadtest_run(
            "ltr_failed",
            now - timedelta(minutes=5),
            {
                SESSIONS: endpoint(20, 60, 90),
                AGENTS: endpoint(300, 1234, 1500),
                CHAT: endpoint(900, 1800, 2600, failures=4),
            },
            breaches=[
                f"{AGENTS}: p95 1234ms > 800ms",
                f"{CHAT}: p99 2600ms > 2000ms",
                f"{CHAT}: failure ratio 0.1 > 0.01",
            ],
        ),
        loadtest_run(
            "ltr_second",
            now - timedelta(hours=2),
            {
                SESSIONS: endpoint(20, 50, 80),
                AGENTS: endpoint(100, 300, 300),
                CHAT: endpoint(400, 700, 700),
            },
        ),
        loadtest_run(
            "ltr_first",
            now - timedelta(hours=5),
            {
                SESSIONS: endpoint(25, 55, 85),
                AGENTS: endpoint(110, 320, 330),
                CHAT: endpoint(420, 650, 650),
            },
        ),
    ]


def alerts() -> list[dict[str, Any]]:
    """Two alerts as `GET /v1/alerts` answers them."""
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return [
        {
            "id": "alr_0123456789abcdef01234567",
            "status": "firing",
            "severity": "critical",
            "source": "monitoring",
            "labels": {},
            "summary": f"Chat p95 latency above 800 ms on {CHAT}",
            "count": 3,
            "firstSeenAt": now,
            "lastSeenAt": now,
        },
        {
            "id": "alr_89abcdef0123456789abcdef",
            "status": "resolved",
            "severity": "warning",
            "source": "deploy",
            "labels": {},
            "summary": "Deploy of v1.4.2 finished",
            "count": 1,
            "firstSeenAt": now,
            "lastSeenAt": now,
        },
    ]


def answer_operator_routes(page: Any, runs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Canned operator answers: alerts and load-test runs (any token is accepted); a POST
    of a run answers the newest of `runs`. Returns what was asked, for assertions."""
    runs = failing_and_passing_runs() if runs is None else runs
    asked: dict[str, Any] = {"posted": []}

    def on_alerts(route: Any) -> None:
        fulfil_json(route, {"alerts": alerts(), "nextPageToken": None})

    def on_runs(route: Any) -> None:
        if route.request.method == "POST":
            asked["posted"].append(route.request.post_data_json)
            fulfil_json(route, runs[0], status=201)
        else:
            fulfil_json(route, {"runs": runs})

    def on_alert(route: Any) -> None:
        alert_id = route.request.url.rsplit("/", 1)[-1]
        found = next(alert for alert in alerts() if alert["id"] == alert_id)
        note = {"sentAt": found["lastSeenAt"], "channel": "slack", "title": found["summary"]}
        fulfil_json(route, {**found, "notifications": [note]})

    page.route(re.compile(r"/v1/alerts\?"), on_alerts)
    page.route(re.compile(r"/v1/alerts/alr_[0-9a-f]+$"), on_alert)
    page.route(re.compile(r"/v1/loadtests/runs(\?.*)?$"), on_runs)
    return asked
