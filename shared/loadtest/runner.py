"""A bounded asynchronous load runner: virtual users on httpx, latencies in HDR histograms.

Every run stops at whichever comes first: its duration or its request budget. The budget is
taken before a request is sent (never after), so a run sends at most `max_requests`
requests including each user's clean-up, which is reserved when the thing to clean up is
created. Latencies go into one HDR histogram per endpoint (microseconds, 3 significant
digits), as wrk2 does, so p99 of a long run costs the same memory as p50.
Why not Locust itself: docs/decisions/2026-11-load-runner.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import Field

from shared.core.models import ApiModel
from shared.messaging.topics.loadtest_results import EndpointSummary

if TYPE_CHECKING:
    # Imported when a run starts: listing runs should not pay for the HTTP client.
    import httpx
    from hdrh.histogram import HdrHistogram

# Histogram range: 1 microsecond to 10 minutes.
_LOWEST_US = 1
_HIGHEST_US = 600_000_000
_SIGNIFICANT_DIGITS = 3
# Time left for clean-up after the load phase ends, and for in-flight requests.
TEARDOWN_GRACE_SECONDS = 10.0


class StopUser(Exception):
    """The run is over for this virtual user: out of time or out of request budget."""


class RunTotals(ApiModel):
    requests: int
    failures: int
    elapsed_seconds: float
    rps: float
    stopped_by: str = Field(description="`duration`, `requests` or `users` (all users done).")


def _new_histogram() -> HdrHistogram:
    from hdrh.histogram import HdrHistogram

    return HdrHistogram(_LOWEST_US, _HIGHEST_US, _SIGNIFICANT_DIGITS)


@dataclass
class EndpointStats:
    """Counts and a latency histogram for one endpoint name."""

    histogram: HdrHistogram = field(default_factory=_new_histogram)
    requests: int = 0
    failures: int = 0
    max_seconds: float = 0.0

    def record(self, seconds: float, ok: bool) -> None:
        self.requests += 1
        if not ok:
            self.failures += 1
        self.max_seconds = max(self.max_seconds, seconds)
        micros = min(max(round(seconds * 1_000_000), _LOWEST_US), _HIGHEST_US)
        self.histogram.record_value(micros)

    def percentile_ms(self, percentile: float) -> float:
        """The percentile, never above the exact maximum (HDR buckets round up)."""
        if self.requests == 0:
            return 0.0
        value = float(self.histogram.get_value_at_percentile(percentile)) / 1000.0
        return min(value, self.max_seconds * 1000.0)

    def summary(self, elapsed_seconds: float) -> EndpointSummary:
        return EndpointSummary(
            requests=self.requests,
            failures=self.failures,
            failure_ratio=round(self.failures / self.requests, 6) if self.requests else 0.0,
            p50_ms=round(self.percentile_ms(50), 3),
            p95_ms=round(self.percentile_ms(95), 3),
            p99_ms=round(self.percentile_ms(99), 3),
            max_ms=round(self.max_seconds * 1000.0, 3),
            rps=round(self.requests / elapsed_seconds, 3) if elapsed_seconds > 0 else 0.0,
        )


class Budget:
    """The requests a run may still send. Single event loop, so no lock is needed."""

    def __init__(self, max_requests: int) -> None:
        self.max_requests = max_requests
        self.taken = 0

    def take(self, count: int = 1) -> bool:
        if self.taken + count > self.max_requests:
            return False
        self.taken += count
        return True

    @property
    def exhausted(self) -> bool:
        return self.taken >= self.max_requests


@dataclass(frozen=True)
class Limits:
    """The bounds of one run, already clamped to the hard caps."""

    duration_seconds: float
    max_requests: int
    users: int
    spawn_rate: float
    request_timeout_seconds: float = 10.0


class VirtualUser:
    """One simulated client: its own state, sending requests through the shared runner."""

    def __init__(self, index: int, run: Run, rng: random.Random) -> None:
        self.index = index
        self.run = run
        self.rng = rng
        self.state: dict[str, Any] = {}
        self.headers: dict[str, str] = {}
        self.reserved = 0  # budget already taken for clean-up requests

    def reserve(self) -> None:
        """Take one request of budget now for a clean-up call made at teardown."""
        if not self.run.budget.take():
            self.run.stopped_by = self.run.stopped_by or "requests"
            raise StopUser("request budget spent")
        self.reserved += 1

    def release(self) -> None:
        """Give back a reservation whose clean-up is not needed (the create failed)."""
        if self.reserved > 0:
            self.reserved -= 1
            self.run.budget.taken -= 1

    async def call(
        self,
        name: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        expect: Sequence[int] = (200, 201, 204),
        cleanup: bool = False,
    ) -> httpx.Response | None:
        """Send one request and record it under `name`; None when it failed in transport.

        `cleanup` requests spend budget reserved earlier and may run after the load phase.
        """
        if cleanup:
            if self.reserved <= 0:
                return None
            self.reserved -= 1
        else:
            if self.run.load_over():
                raise StopUser("duration reached")
            if not self.run.budget.take():
                self.run.stopped_by = self.run.stopped_by or "requests"
                raise StopUser("request budget spent")
        return await self.run.send(
            name,
            method=method,
            path=path,
            body=json,
            headers={**self.headers, **(headers or {})},
            expect=expect,
        )


Task = Callable[[VirtualUser], Awaitable[None]]


@dataclass(frozen=True)
class UserBehaviour:
    """What a virtual user does: once at start, weighted tasks in a loop, once at the end."""

    tasks: Sequence[tuple[Task, int]]
    wait_seconds: tuple[float, float] = (0.0, 0.0)
    setup: Task | None = None
    teardown: Task | None = None


class Run:
    """One bounded run against one base URL."""

    def __init__(
        self,
        base_url: str,
        limits: Limits,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        seed: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.limits = limits
        self.budget = Budget(limits.max_requests)
        self.stats: dict[str, EndpointStats] = {}
        self.stopped_by = ""
        self._transport = transport
        self._rng = random.Random(seed)  # noqa: S311 - load shaping, not security
        self._client: httpx.AsyncClient | None = None
        self._started = 0.0
        self._load_ends = 0.0
        self._hard_end = 0.0
        self.elapsed_seconds = 0.0

    def load_over(self) -> bool:
        return time.monotonic() >= self._load_ends

    async def send(
        self,
        name: str,
        *,
        method: str,
        path: str,
        body: Any,
        headers: dict[str, str],
        expect: Sequence[int],
    ) -> httpx.Response | None:
        import httpx

        assert self._client is not None
        timeout = max(
            0.05, min(self.limits.request_timeout_seconds, self._hard_end - time.monotonic())
        )
        stats = self.stats.setdefault(name, EndpointStats())
        started = time.perf_counter()
        try:
            response = await self._client.request(
                method, path, json=body, headers=headers, timeout=timeout
            )
        except httpx.HTTPError:
            stats.record(time.perf_counter() - started, ok=False)
            return None
        stats.record(time.perf_counter() - started, ok=response.status_code in expect)
        return response

    async def _user(self, user: VirtualUser, behaviour: UserBehaviour) -> None:
        tasks = [task for task, _ in behaviour.tasks]
        weights = [weight for _, weight in behaviour.tasks]
        try:
            if behaviour.setup is not None:
                await behaviour.setup(user)
            while tasks and not self.load_over():
                await user.rng.choices(tasks, weights)[0](user)
                low, high = behaviour.wait_seconds
                pause = user.rng.uniform(low, high) if high > 0 else 0.0
                await asyncio.sleep(min(pause, max(0.0, self._load_ends - time.monotonic())))
        except StopUser:
            pass
        finally:
            if behaviour.teardown is not None:
                with contextlib.suppress(StopUser):
                    await behaviour.teardown(user)

    async def execute(self, behaviour: UserBehaviour) -> None:
        import httpx

        limits = self.limits
        self._started = time.monotonic()
        self._load_ends = self._started + limits.duration_seconds
        self._hard_end = self._load_ends + TEARDOWN_GRACE_SECONDS
        pool = httpx.Limits(max_connections=max(limits.users, 1) * 2)
        async with httpx.AsyncClient(
            base_url=self.base_url, transport=self._transport, limits=pool, follow_redirects=False
        ) as client:
            self._client = client
            running: list[asyncio.Task[None]] = []
            interval = 1.0 / limits.spawn_rate if limits.spawn_rate > 0 else 0.0
            for index in range(limits.users):
                if self.load_over() or self.budget.exhausted:
                    break
                user = VirtualUser(index, self, random.Random(self._rng.random()))  # noqa: S311
                running.append(asyncio.create_task(self._user(user, behaviour)))
                if interval and index + 1 < limits.users:
                    await asyncio.sleep(interval)
            remaining = self._hard_end - time.monotonic()
            _, pending = (
                await asyncio.wait(running, timeout=max(remaining, 0.0))
                if running
                else (set(), set())
            )
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        self.elapsed_seconds = time.monotonic() - self._started
        if not self.stopped_by:
            self.stopped_by = "duration" if self.load_over() else "users"

    def summaries(self) -> dict[str, EndpointSummary]:
        return {
            name: stats.summary(self.elapsed_seconds) for name, stats in sorted(self.stats.items())
        }

    def totals(self) -> RunTotals:
        requests = sum(stats.requests for stats in self.stats.values())
        failures = sum(stats.failures for stats in self.stats.values())
        elapsed = self.elapsed_seconds
        return RunTotals(
            requests=requests,
            failures=failures,
            elapsed_seconds=round(elapsed, 3),
            rps=round(requests / elapsed, 3) if elapsed > 0 else 0.0,
            stopped_by=self.stopped_by,
        )


def execute(
    base_url: str,
    behaviour: UserBehaviour,
    limits: Limits,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    seed: int | None = None,
) -> Run:
    """Run to completion on a fresh event loop (safe in a gunicorn worker thread)."""
    run = Run(base_url, limits, transport=transport, seed=seed)
    asyncio.run(run.execute(behaviour))
    return run
