"""The loadtest function through functions-framework, against the emulators and a fake target."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from infra.local.emulators import Emulators
from shared.core import state
from shared.core.models import utcnow
from shared.loadtest import runs as loadtest_runs
from tests.conftest import LoadedFunction, load_function
from tests.functions.loadtest.fake_target import FakePlatform, serve
from tests.support.faults import frozen
from tests.support.pubsub import pull_events, subscribe

ADMIN = "test-admin-token-0123456789"
OPERATOR = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
def function(firestore_db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[LoadedFunction]:
    monkeypatch.setenv("ADMIN_TOKEN", ADMIN)
    monkeypatch.setenv("LOADTEST_MAX_DURATION_SECONDS", "2")
    monkeypatch.setenv("LOADTEST_REGRESSION_MIN_REQUESTS", "1")
    state.reset()
    yield load_function("functions/loadtest", "loadtest")
    monkeypatch.undo()
    state.reset()


@pytest.fixture
def client(function: LoadedFunction) -> Any:
    return function.app.test_client()


@pytest.fixture
def fake() -> FakePlatform:
    return FakePlatform()


@pytest.fixture
def target(fake: FakePlatform) -> Iterator[str]:
    with serve(fake) as url:
        yield url


def start(client: Any, target: str, **fields: Any) -> Any:
    body = {"scenario": "light", "targetBaseUrl": target, "maxRequests": 30, **fields}
    return client.post("/v1/loadtests/runs", json=body, headers=OPERATOR)


def test_runs_need_the_operator_token(client: Any) -> None:
    guest = {"Authorization": "Bearer gst_" + "A" * 43}

    assert client.get("/v1/loadtests/runs").status_code == 401
    assert client.get("/v1/loadtests/runs", headers=guest).status_code == 401
    assert client.post("/v1/loadtests/runs", json={"scenario": "light"}).status_code == 401


def test_a_run_reports_every_endpoint_it_called(
    client: Any, target: str, fake: FakePlatform
) -> None:
    response = start(client, target, durationSeconds=1, users=2)

    assert response.status_code == 201, response.get_data(as_text=True)
    run = response.get_json()
    assert run["totals"]["requests"] == fake.total <= 30
    assert run["endpoints"]["POST /v1/sessions"]["requests"] == 2
    for figures in run["endpoints"].values():
        assert figures["p50Ms"] <= figures["p95Ms"] <= figures["p99Ms"] <= figures["maxMs"]
    assert run["verdict"] == "pass"
    assert run["regression"] is False


def test_a_run_is_stored_listed_and_readable(client: Any, target: str) -> None:
    run = start(client, target, durationSeconds=0.5, users=1).get_json()

    listed = client.get("/v1/loadtests/runs?scenario=light", headers=OPERATOR).get_json()
    single = client.get(f"/v1/loadtests/runs/{run['runId']}", headers=OPERATOR)

    assert [item["runId"] for item in listed["runs"]] == [run["runId"]]
    assert single.status_code == 200
    assert single.get_json()["totals"] == run["totals"]


def test_a_run_is_published_to_loadtest_results(client: Any, target: str) -> None:
    subscription = subscribe("loadtest-results")

    run = start(client, target, durationSeconds=0.5, users=1).get_json()

    published = pull_events(subscription)
    assert [event.type for event in published] == ["loadtest.completed"]
    data = published[0].data
    assert (data["runId"], data["scenario"], data["verdict"]) == (run["runId"], "light", "pass")
    assert data["regression"] is False
    assert data["breaches"] == []


def test_failures_break_the_slo_and_fail_the_verdict(client: Any) -> None:
    # Every virtual user's first request creates its session, so this route is always hit,
    # however slowly the machine runs the scenario's think times.
    failing = FakePlatform(failing=("POST /v1/sessions",))
    with serve(failing) as url:
        run = start(client, url, durationSeconds=1, users=2, maxRequests=40).get_json()

    assert run["verdict"] == "fail"
    assert any(b.startswith("POST /v1/sessions: failure ratio") for b in run["breaches"])


def test_slower_than_previous_runs_is_a_regression(client: Any, firestore_db: Any) -> None:
    earlier = utcnow() - timedelta(hours=1)
    fast = {"requests": 50, "failures": 0, "failureRatio": 0.0, "p50Ms": 0.01, "p95Ms": 0.01}
    fast |= {"p99Ms": 0.01, "maxMs": 0.01, "rps": 10.0}
    firestore_db.collection("loadtest_runs").document("ltr_old").set(
        {"scenario": "light", "startedAt": earlier, "endpoints": {"POST /v1/sessions": fast}}
    )
    slow = FakePlatform(delay_seconds=0.05)
    with serve(slow) as url:
        run = start(client, url, durationSeconds=0.5, users=1).get_json()

    assert run["regression"] is True
    assert run["baselineRuns"] == 1
    assert run["regressions"][0].startswith("POST /v1/sessions: p95")


def test_targets_outside_the_allow_list_are_refused(client: Any) -> None:
    response = start(client, "https://www.example.com")

    assert response.status_code == 422
    assert "LOADTEST_ALLOWED_TARGETS" in response.get_json()["error"]["message"]


def test_an_unknown_scenario_is_a_400(client: Any) -> None:
    response = client.post("/v1/loadtests/runs", json={"scenario": "huge"}, headers=OPERATOR)

    assert response.status_code == 400
    assert response.get_json()["error"]["details"][0]["field"] == "scenario"


def test_an_unknown_run_is_a_404(client: Any) -> None:
    response = client.get("/v1/loadtests/runs/ltr_missing", headers=OPERATOR)

    assert response.status_code == 404


def test_a_second_run_on_a_busy_instance_is_a_409(client: Any, target: str) -> None:
    with loadtest_runs._one_run_at_a_time:
        response = start(client, target)

    assert response.status_code == 409


# -- the run route's own budget (LOADTEST_RUN_DEADLINE_SECONDS) ---------------------------


def wait_until_the_run_is_over(seconds: float = 15) -> None:
    """The handler keeps running after its 503; it holds the one-run lock until done."""
    give_up = time.monotonic() + seconds
    while loadtest_runs._one_run_at_a_time.locked() and time.monotonic() < give_up:
        time.sleep(0.1)
    time.sleep(0.5)  # past the run: where it would store its record


def test_a_run_with_firestore_frozen_is_503_within_its_budget(
    client: Any, target: str, emulators: Emulators, settings: Callable[..., None]
) -> None:
    settings(LOADTEST_RUN_DEADLINE_SECONDS="2")

    with frozen(emulators.firestore_port):
        started = time.monotonic()
        response = start(client, target, durationSeconds=0.5, users=1)
        elapsed = time.monotonic() - started
        wait_until_the_run_is_over()

    assert response.status_code == 503, response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) >= 1
    assert response.get_json()["error"]["code"] == "unavailable"
    assert elapsed < 3.5


def test_a_run_that_outlives_its_budget_is_503_and_stores_nothing(
    client: Any, target: str, firestore_db: Any, settings: Callable[..., None]
) -> None:
    settings(LOADTEST_RUN_DEADLINE_SECONDS="1")

    started = time.monotonic()
    response = start(client, target, durationSeconds=2, users=1)
    elapsed = time.monotonic() - started
    wait_until_the_run_is_over()

    assert response.status_code == 503, response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) >= 1
    assert elapsed < 2
    assert list(firestore_db.collection("loadtest_runs").stream()) == []
    assert list(firestore_db.collection("outbox").stream()) == []
