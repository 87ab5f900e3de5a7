"""Load-test runs: bounded and checked before they start, judged, stored, announced.

A run's verdict compares each endpoint with the SLOs (p95, p99, failure ratio); its
regression flag compares each endpoint's p95 and failure ratio with the median of the
previous runs of the same scenario. The run document and its `loadtest.completed` event
are written in one batch (transactional outbox), so a stored run is always announced.
"""

from __future__ import annotations

import statistics
import threading
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.core import errors, ids, log, state
from shared.core.models import ApiModel, RequestModel, utcnow
from shared.core.settings import get_settings
from shared.gcp import clients
from shared.loadtest.runner import Limits, RunTotals, execute
from shared.loadtest.scenarios import OFFLINE_MODEL, SCENARIOS
from shared.messaging import events, outbox
from shared.messaging.topics import loadtest_results as results
from shared.messaging.topics.loadtest_results import EndpointSummary, LoadtestCompletedData

COLLECTION = "loadtest_runs"
logger = log.get_logger("loadtest")
_one_run_at_a_time = threading.Lock()


class LoadtestSettings(BaseSettings):
    """`LOADTEST_*` settings: the hard caps no request can exceed, SLOs, regression rule."""

    model_config = SettingsConfigDict(env_prefix="LOADTEST_", extra="ignore", frozen=True)

    target_base_url: str = Field(
        "http://127.0.0.1:8080", description="Base URL a run targets when the request names none."
    )
    # Scheme://host[:port] a run may target; no port in an entry means any port.
    allowed_targets: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://127.0.0.1", "http://localhost", "http://[::1]"],
        description="Comma-separated origins a run may target; anything else is 422.",
    )
    max_duration_seconds: float = Field(
        120.0, gt=0, le=900, description="Longest run a request may ask for."
    )
    run_deadline_seconds: float | None = Field(
        None,
        gt=0,
        le=3600,
        description=(
            "Budget of `POST /v1/loadtests/runs`: past it, 503 with Retry-After. Unset: "
            "LOADTEST_MAX_DURATION_SECONDS + LOADTEST_REQUEST_TIMEOUT_SECONDS (the last "
            "requests in flight) + REQUEST_DEADLINE_SECONDS (judging and storing the run)."
        ),
    )
    max_requests: int = Field(5000, ge=1, le=200_000, description="Most requests one run may send.")
    max_users: int = Field(50, ge=1, le=1000, description="Most virtual users one run may start.")
    request_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="Timeout of one request of a run."
    )
    slo_p95_ms: float = Field(800.0, gt=0, description="p95 latency objective per endpoint.")
    slo_p99_ms: float = Field(2000.0, gt=0, description="p99 latency objective per endpoint.")
    slo_failure_ratio: float = Field(
        0.01, ge=0, le=1, description="Failure ratio objective per endpoint."
    )
    # Per endpoint, e.g. {"POST /v1/agents": {"p95Ms": 400}}.
    slo_overrides: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description=(
            'JSON object of per-endpoint objectives, e.g. `{"POST '
            '/v1/conversations/{id}/messages": {"p95Ms": 3000}}`.'
        ),
    )
    regression_ratio: float = Field(
        1.5,
        gt=1,
        description=(
            "A run regresses when an endpoint's p95 or failure ratio is this many times the "
            "median of previous runs."
        ),
    )
    baseline_runs: int = Field(
        5, ge=1, le=50, description="How many previous runs of the scenario form the baseline."
    )
    regression_min_requests: int = Field(
        20,
        ge=1,
        description="Endpoints with fewer requests in a run are not judged for regression.",
    )
    model: str = Field("claude-haiku-4-5", description="Agents' model when tokens may be spent.")

    @field_validator("allowed_targets", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip().rstrip("/") for item in value.split(",") if item.strip()]
        return value


@state.once
def get_loadtest_settings() -> LoadtestSettings:
    return LoadtestSettings()


def run_deadline_seconds() -> float:
    """The budget of a run request: the longest run any request may ask for, and more."""
    settings = get_loadtest_settings()
    if settings.run_deadline_seconds is not None:
        return settings.run_deadline_seconds
    return (
        settings.max_duration_seconds
        + settings.request_timeout_seconds
        + get_settings().request_deadline_seconds
    )


ScenarioName = Literal["light", "medium", "heavy", "spike"]


class LoadtestRunCreate(RequestModel):
    scenario: ScenarioName
    target_base_url: str | None = Field(
        None, max_length=300, description="Base URL a run targets when the request names none."
    )
    duration_seconds: float | None = Field(None, gt=0, le=3600)
    users: int | None = Field(None, ge=1, le=10_000)
    spawn_rate: float | None = Field(None, gt=0, le=1000)
    max_requests: int | None = Field(None, ge=1, le=1_000_000)
    spend_model_tokens: bool = Field(
        False, description="Let agents use a real model; otherwise they use `offline`."
    )


class LoadtestRunPublic(ApiModel):
    run_id: str
    scenario: str
    target_base_url: str
    started_at: datetime
    finished_at: datetime
    duration_seconds: float
    users: int
    spawn_rate: float
    max_requests: int
    spend_model_tokens: bool
    totals: RunTotals
    endpoints: dict[str, EndpointSummary]
    verdict: Literal["pass", "fail"]
    breaches: list[str]
    regression: bool
    regressions: list[str]
    baseline_runs: int = Field(description="Previous runs of the scenario compared against.")


class LoadtestRunPage(ApiModel):
    runs: list[LoadtestRunPublic]


class LoadtestRunListQuery(RequestModel):
    scenario: ScenarioName | None = None
    limit: int = Field(20, ge=1, le=100)


def check_target(url: str, allowed: list[str]) -> str:
    """The base URL if its scheme, host and (when the entry names one) port are allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise errors.InvalidRequest(f"targetBaseUrl must be an http(s) URL, got {url!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise errors.InvalidRequest("targetBaseUrl must not hold credentials, query or fragment")
    for entry in allowed:
        rule = urlsplit(entry)
        if (rule.scheme, rule.hostname) == (parts.scheme, parts.hostname) and (
            rule.port is None or rule.port == parts.port
        ):
            return url.rstrip("/")
    raise errors.Unprocessable(
        f"target {parts.scheme}://{parts.netloc} is not in LOADTEST_ALLOWED_TARGETS"
    )


def limits_for(request: LoadtestRunCreate, settings: LoadtestSettings) -> Limits:
    """The scenario's shape with the run's overrides, clamped to the hard caps."""
    scenario = SCENARIOS[request.scenario]
    return Limits(
        duration_seconds=min(
            request.duration_seconds or scenario.duration_seconds, settings.max_duration_seconds
        ),
        max_requests=min(request.max_requests or settings.max_requests, settings.max_requests),
        users=min(request.users or scenario.users, settings.max_users),
        spawn_rate=request.spawn_rate or scenario.spawn_rate,
        request_timeout_seconds=settings.request_timeout_seconds,
    )


def slo_breaches(endpoints: dict[str, EndpointSummary], settings: LoadtestSettings) -> list[str]:
    breaches: list[str] = []
    for name, summary in endpoints.items():
        override = settings.slo_overrides.get(name, {})
        checks = (
            ("p95", summary.p95_ms, override.get("p95Ms", settings.slo_p95_ms), "ms"),
            ("p99", summary.p99_ms, override.get("p99Ms", settings.slo_p99_ms), "ms"),
            (
                "failure ratio",
                summary.failure_ratio,
                override.get("failureRatio", settings.slo_failure_ratio),
                "",
            ),
        )
        for metric, value, limit, unit in checks:
            if value > limit:
                breaches.append(f"{name}: {metric} {value:.4g}{unit} > {limit:g}{unit}")
    return breaches


def regressions_against(
    endpoints: dict[str, EndpointSummary],
    previous: list[dict[str, EndpointSummary]],
    settings: LoadtestSettings,
) -> list[str]:
    """Endpoints worse than the median of previous runs by more than the configured ratio."""
    found: list[str] = []
    ratio = settings.regression_ratio
    for name, summary in endpoints.items():
        if summary.requests < settings.regression_min_requests:
            continue
        earlier = [
            run[name]
            for run in previous
            if name in run and run[name].requests >= settings.regression_min_requests
        ]
        if not earlier:
            continue
        p95 = statistics.median(run.p95_ms for run in earlier)
        if summary.p95_ms > p95 * ratio:
            found.append(
                f"{name}: p95 {summary.p95_ms:.4g}ms vs median {p95:.4g}ms of {len(earlier)} runs"
            )
        failures = statistics.median(run.failure_ratio for run in earlier)
        # A floor of one point keeps 0 -> 0.1% from counting as an infinite ratio.
        if summary.failure_ratio > max(failures * ratio, failures + 0.01):
            found.append(
                f"{name}: failure ratio {summary.failure_ratio:.4g} vs median {failures:.4g}"
                f" of {len(earlier)} runs"
            )
    return found


def previous_endpoints(scenario: str, count: int) -> list[dict[str, EndpointSummary]]:
    from google.cloud.firestore import FieldFilter, Query

    query = (
        clients.firestore()
        .collection(COLLECTION)
        .where(filter=FieldFilter("scenario", "==", scenario))
        .order_by("startedAt", direction=Query.DESCENDING)
        .limit(count)
    )
    runs: list[dict[str, EndpointSummary]] = []
    for snapshot in query.stream():
        data = snapshot.to_dict() or {}
        endpoints = data.get("endpoints") or {}
        runs.append({name: EndpointSummary.model_validate(v) for name, v in endpoints.items()})
    return runs


def start_run(request: LoadtestRunCreate) -> LoadtestRunPublic:
    """Run a scenario to completion (one at a time per instance), judge, store, publish."""
    settings = get_loadtest_settings()
    base_url = check_target(
        request.target_base_url or settings.target_base_url, settings.allowed_targets
    )
    limits = limits_for(request, settings)
    model = settings.model if request.spend_model_tokens else OFFLINE_MODEL
    if not _one_run_at_a_time.acquire(blocking=False):
        raise errors.Conflict("a load test is already running on this instance; retry later")
    try:
        started_at = utcnow()
        run = execute(base_url, SCENARIOS[request.scenario].behaviour(model), limits)
        finished_at = utcnow()
    finally:
        _one_run_at_a_time.release()
    endpoints = run.summaries()
    totals = run.totals()
    breaches = slo_breaches(endpoints, settings)
    if totals.requests == 0:
        breaches.append("no request was sent")
    previous = previous_endpoints(request.scenario, settings.baseline_runs)
    regressions = regressions_against(endpoints, previous, settings)
    record = LoadtestRunPublic(
        run_id=ids.new_id("ltr"),
        scenario=request.scenario,
        target_base_url=base_url,
        started_at=started_at,
        finished_at=finished_at,
        duration_seconds=limits.duration_seconds,
        users=limits.users,
        spawn_rate=limits.spawn_rate,
        max_requests=limits.max_requests,
        spend_model_tokens=request.spend_model_tokens,
        totals=totals,
        endpoints=endpoints,
        verdict="fail" if breaches else "pass",
        breaches=breaches,
        regression=bool(regressions),
        regressions=regressions,
        baseline_runs=len(previous),
    )
    store_and_announce(record)
    return record


def store_and_announce(record: LoadtestRunPublic) -> None:
    data = LoadtestCompletedData(
        run_id=record.run_id,
        scenario=record.scenario,
        verdict=record.verdict,
        regression=record.regression,
        breaches=record.breaches,
        regressions=record.regressions,
        endpoints=record.endpoints,
    )
    event = events.new_event(results.COMPLETED, results.SOURCE, record.run_id, data)
    db = clients.firestore()
    batch = db.batch()
    batch.set(db.collection(COLLECTION).document(record.run_id), _document(record))
    outbox.stage(batch, results.TOPIC, event)
    batch.commit()
    outbox.deliver(results.TOPIC, event)
    logger.info(
        "load test completed",
        extra={
            "fields": {
                "runId": record.run_id,
                "scenario": record.scenario,
                "verdict": record.verdict,
                "regression": record.regression,
                "requests": record.totals.requests,
            }
        },
    )


def _document(record: LoadtestRunPublic) -> dict[str, Any]:
    document = record.model_dump(mode="json", by_alias=True)
    # Timestamps stay timestamps, so runs sort by time.
    document["startedAt"] = record.started_at
    document["finishedAt"] = record.finished_at
    return document


def get_run(run_id: str) -> LoadtestRunPublic:
    # Only ids this module made reach Firestore, which refuses some (`__x__`) outright.
    if not ids.is_id("ltr", run_id):
        raise errors.NotFound(f"no load-test run {run_id[:40]!r}")
    snapshot = clients.firestore().collection(COLLECTION).document(run_id).get()
    if not snapshot.exists:
        raise errors.NotFound(f"no load-test run {run_id!r}")
    return LoadtestRunPublic.model_validate(snapshot.to_dict())


def list_runs(query: LoadtestRunListQuery) -> LoadtestRunPage:
    from google.cloud.firestore import FieldFilter, Query

    collection: Any = clients.firestore().collection(COLLECTION)
    if query.scenario is not None:
        collection = collection.where(filter=FieldFilter("scenario", "==", query.scenario))
    ordered = collection.order_by("startedAt", direction=Query.DESCENDING).limit(query.limit)
    return LoadtestRunPage(
        runs=[LoadtestRunPublic.model_validate(s.to_dict()) for s in ordered.stream()]
    )
