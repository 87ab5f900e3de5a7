"""The load runner's arithmetic and bounds, against a fake target on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from shared.core import errors
from shared.loadtest.runner import (
    Budget,
    EndpointStats,
    EndpointSummary,
    Limits,
    UserBehaviour,
    VirtualUser,
)
from shared.loadtest.runner import execute as run_load
from shared.loadtest.runs import (
    LoadtestRunCreate,
    LoadtestSettings,
    check_target,
    limits_for,
    regressions_against,
    slo_breaches,
)
from shared.loadtest.scenarios import SCENARIOS
from tests.functions.loadtest.fake_target import FakePlatform, serve

LONG = 60.0  # a duration no test reaches: those runs end by request budget


@pytest.fixture
def fake() -> FakePlatform:
    return FakePlatform()


@pytest.fixture
def target(fake: FakePlatform) -> Iterator[str]:
    with serve(fake) as url:
        yield url


def limits(**overrides: float) -> Limits:
    values = {"duration_seconds": LONG, "max_requests": 20, "users": 2, "spawn_rate": 100.0}
    values.update(overrides)
    return Limits(
        duration_seconds=float(values["duration_seconds"]),
        max_requests=int(values["max_requests"]),
        users=int(values["users"]),
        spawn_rate=float(values["spawn_rate"]),
    )


async def get_ok(user: VirtualUser) -> None:
    await user.call("GET /ok", "GET", "/ok")


async def get_fail(user: VirtualUser) -> None:
    await user.call("GET /fail", "GET", "/fail")


def summary(**values: float) -> EndpointSummary:
    base = {"requests": 100, "failures": 0, "failure_ratio": 0.0, "p50_ms": 10.0}
    base |= {"p95_ms": 20.0, "p99_ms": 30.0, "max_ms": 40.0, "rps": 5.0}
    base |= values
    return EndpointSummary.model_validate(base)


# -- statistics ----------------------------------------------------------------------


def test_endpoint_stats_percentiles_follow_the_recorded_latencies() -> None:
    stats = EndpointStats()
    for millis in range(1, 101):
        stats.record(millis / 1000, ok=True)

    result = stats.summary(elapsed_seconds=4.0)

    # HDR histograms keep 3 significant digits: values are within 0.1 %.
    assert result.p50_ms == pytest.approx(50, rel=1e-3)
    assert result.p95_ms == pytest.approx(95, rel=1e-3)
    assert result.p99_ms == pytest.approx(99, rel=1e-3)
    assert result.max_ms == 100.0
    assert result.requests == 100
    assert result.rps == 25.0


def test_endpoint_stats_count_failures_and_their_ratio() -> None:
    stats = EndpointStats()
    for index in range(8):
        stats.record(0.01, ok=index % 4 != 0)

    result = stats.summary(elapsed_seconds=2.0)

    assert (result.requests, result.failures, result.failure_ratio) == (8, 2, 0.25)


def test_empty_endpoint_stats_summarise_to_zeroes() -> None:
    result = EndpointStats().summary(elapsed_seconds=0.0)

    assert (result.requests, result.p99_ms, result.rps, result.failure_ratio) == (0, 0, 0, 0)


def test_budget_refuses_what_would_exceed_it() -> None:
    budget = Budget(3)

    assert budget.take(2)
    assert not budget.take(2)
    assert budget.take()
    assert budget.exhausted


# -- the runner against a fake target ---------------------------------------------------


def test_run_sends_exactly_the_request_budget(fake: FakePlatform, target: str) -> None:
    behaviour = UserBehaviour(tasks=[(get_ok, 3), (get_fail, 1)])

    run = run_load(target, behaviour, limits(max_requests=25, users=3), seed=7)

    totals = run.totals()
    assert fake.total == 25
    assert totals.requests == 25
    assert totals.stopped_by == "requests"
    assert totals.failures == fake.hits["GET /fail"]
    assert {name: s.requests for name, s in run.summaries().items()} == {
        "GET /ok": fake.hits["GET /ok"],
        "GET /fail": fake.hits["GET /fail"],
    }


def test_run_stops_at_its_duration_when_the_budget_is_large(
    fake: FakePlatform, target: str
) -> None:
    behaviour = UserBehaviour(tasks=[(get_ok, 1)], wait_seconds=(0.01, 0.02))

    run = run_load(target, behaviour, limits(duration_seconds=0.3, max_requests=100_000))

    assert run.totals().stopped_by == "duration"
    assert 0 < run.totals().requests == fake.total < 100_000


def test_rps_is_requests_over_elapsed_time(target: str) -> None:
    run = run_load(target, UserBehaviour(tasks=[(get_ok, 1)]), limits(max_requests=10))

    totals = run.totals()
    assert totals.rps == pytest.approx(totals.requests / run.elapsed_seconds, rel=1e-2)
    assert run.summaries()["GET /ok"].rps == pytest.approx(totals.rps, rel=1e-2)


def test_unreachable_target_counts_every_attempt_as_a_failure() -> None:
    transport = httpx.AsyncHTTPTransport(retries=0)
    behaviour = UserBehaviour(tasks=[(get_ok, 1)])

    run = run_load(
        "http://127.0.0.1:9", behaviour, limits(max_requests=4, users=1), transport=transport
    )

    assert run.totals().requests == 4
    assert run.totals().failures == 4


def test_cleanup_reserved_at_creation_fits_inside_the_budget(
    fake: FakePlatform, target: str
) -> None:
    async def setup(user: VirtualUser) -> None:
        user.reserve()
        await user.call("POST /v1/sessions", "POST", "/v1/sessions", expect=(201,))

    async def teardown(user: VirtualUser) -> None:
        await user.call(
            "DELETE /v1/sessions/current", "DELETE", "/v1/sessions/current", cleanup=True
        )

    behaviour = UserBehaviour(tasks=[(get_ok, 1)], setup=setup, teardown=teardown)

    run_load(target, behaviour, limits(max_requests=9, users=2))

    assert fake.total == 9
    assert fake.hits["POST /v1/sessions"] == fake.hits["DELETE /v1/sessions/current"] == 2


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenarios_use_one_session_per_user_and_clean_up(
    fake: FakePlatform, target: str, name: str
) -> None:
    scenario = SCENARIOS[name]
    bounds = limits(max_requests=60, users=3, duration_seconds=2.0)
    behaviour = scenario.behaviour("offline")

    run_load(target, behaviour, bounds, seed=1)

    assert fake.hits["POST /v1/sessions"] == 3
    assert fake.hits["DELETE /v1/sessions/current"] == 3
    assert fake.hits["DELETE /v1/agents/{agentId}"] == fake.hits["POST /v1/agents"]
    assert (
        fake.hits["DELETE /v1/conversations/{conversationId}"]
        == fake.hits["POST /v1/conversations"]
    )
    assert fake.total <= 60


def test_scenario_agents_use_the_model_they_are_given(target: str) -> None:
    sent: list[str] = []

    class Recording(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == "POST" and request.url.path == "/v1/agents":
                sent.append(httpx.Response(200, content=request.content).json()["model"])
            return await super().handle_async_request(request)

    behaviour = SCENARIOS["spike"].behaviour("offline")
    run_load(target, behaviour, limits(max_requests=80, users=2), transport=Recording(), seed=3)

    assert sent
    assert set(sent) == {"offline"}


def test_a_user_whose_session_is_refused_sends_nothing_else() -> None:
    failing = FakePlatform(failing=("POST /v1/sessions",))
    with serve(failing) as url:
        run_load(url, SCENARIOS["light"].behaviour("offline"), limits(users=2))

    assert failing.total == failing.hits["POST /v1/sessions"] == 2


# -- limits, targets, verdicts and regressions ------------------------------------------


def test_limits_are_clamped_to_the_hard_caps() -> None:
    settings = LoadtestSettings(max_duration_seconds=30, max_requests=100, max_users=5)
    request = LoadtestRunCreate(
        scenario="heavy", duration_seconds=600, users=500, max_requests=10**6
    )

    bounds = limits_for(request, settings)

    assert (bounds.duration_seconds, bounds.users, bounds.max_requests) == (30, 5, 100)


def test_limits_default_to_the_scenario_shape() -> None:
    bounds = limits_for(LoadtestRunCreate(scenario="light"), LoadtestSettings())

    assert bounds.users == SCENARIOS["light"].users
    assert bounds.duration_seconds == SCENARIOS["light"].duration_seconds


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://localhost:1234/", "http://[::1]:8080"]
)
def test_loopback_targets_are_allowed_by_default(url: str) -> None:
    assert check_target(url, LoadtestSettings().allowed_targets) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1.attacker.test:8080",
        "https://api.example.test",
        "http://10.0.0.5:8080",
        "http://localhost@evil.test",
    ],
)
def test_other_targets_are_refused(url: str) -> None:
    with pytest.raises(errors.PlatformError):
        check_target(url, LoadtestSettings().allowed_targets)


def test_an_allow_list_entry_with_a_port_admits_only_that_port() -> None:
    allowed = ["https://api.example.test:443"]

    assert check_target("https://api.example.test:443", allowed)
    with pytest.raises(errors.Unprocessable):
        check_target("https://api.example.test:8443", allowed)


def test_breaches_name_each_metric_over_its_slo() -> None:
    settings = LoadtestSettings(slo_p95_ms=100, slo_p99_ms=200, slo_failure_ratio=0.01)
    endpoints = {
        "GET /v1/agents": summary(p95_ms=150.0, p99_ms=150.0),
        "POST /v1/sessions": summary(failures=5, failure_ratio=0.05),
        "GET /v1/sessions/current": summary(),
    }

    breaches = slo_breaches(endpoints, settings)

    assert breaches == [
        "GET /v1/agents: p95 150ms > 100ms",
        "POST /v1/sessions: failure ratio 0.05 > 0.01",
    ]


def test_per_endpoint_slo_overrides_replace_the_default() -> None:
    settings = LoadtestSettings(slo_p95_ms=100, slo_overrides={"GET /v1/agents": {"p95Ms": 500}})

    assert slo_breaches({"GET /v1/agents": summary(p95_ms=400.0)}, settings) == []


def test_regression_compares_with_the_median_of_previous_runs() -> None:
    settings = LoadtestSettings(regression_ratio=1.5, regression_min_requests=20)
    previous = [{"GET /v1/agents": summary(p95_ms=p95)} for p95 in (10.0, 20.0, 1000.0)]

    worse = regressions_against({"GET /v1/agents": summary(p95_ms=31.0)}, previous, settings)
    within = regressions_against({"GET /v1/agents": summary(p95_ms=29.0)}, previous, settings)

    assert worse == ["GET /v1/agents: p95 31ms vs median 20ms of 3 runs"]
    assert within == []


def test_regression_needs_enough_requests_and_a_previous_run() -> None:
    settings = LoadtestSettings(regression_min_requests=20)
    slow = {"GET /v1/agents": summary(p95_ms=900.0)}

    assert regressions_against(slow, [], settings) == []
    assert (
        regressions_against(
            {"GET /v1/agents": summary(p95_ms=900.0, requests=5)},
            [{"GET /v1/agents": summary(p95_ms=10.0)}],
            settings,
        )
        == []
    )


def test_failure_ratio_regression_ignores_tiny_absolute_changes() -> None:
    settings = LoadtestSettings(regression_ratio=1.5)
    previous = [{"POST /v1/agents": summary()}]

    tiny = regressions_against(
        {"POST /v1/agents": summary(failures=1, failure_ratio=0.005)}, previous, settings
    )
    large = regressions_against(
        {"POST /v1/agents": summary(failures=10, failure_ratio=0.1)}, previous, settings
    )

    assert tiny == []
    assert large == ["POST /v1/agents: failure ratio 0.1 vs median 0 of 1 runs"]
