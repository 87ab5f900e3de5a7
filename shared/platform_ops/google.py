"""The operator tools on Google Cloud: each function is a Cloud Run service of the same name.

- Cloud Run Admin API v2 (`google-cloud-run`, REST transport): a service's serving revision,
  traffic and instance bounds; a restart or a scale is an update of its revision template
  (a new revision of the same build: the same image and configuration, one annotation
  or the scaling changed); a rollback moves all traffic to the previous ready revision.
- Cloud Logging (`google-cloud-logging`, its JSON API over HTTP): `entries:list` with a
  bounded filter, newest first.
- Cloud Monitoring (`google-cloud-monitoring`, gRPC: the library has no REST transport):
  `timeSeries.list` of `run.googleapis.com/request_count` (requests and 5xx),
  `request_latencies` (p95) and `container/startup_latencies` (cold starts), aggregated
  per service over the window.

Clients are made on first use and kept (each import costs about a second, paid only by a
process that runs one of these tools). Every read is bounded by
PLATFORM_CALL_TIMEOUT_SECONDS, retries included; updates are not retried (a repeated
update would make a second revision) and are guarded by the service's etag, so a change
made meanwhile is a conflict, not an overwrite.

IAM (infra/operator_tools.tf): a narrow custom role on each function's service (get,
update, list revisions), `iam.serviceAccountUser` on each function's own service account
(deploying a revision acts as it), `roles/logging.viewer` and `roles/monitoring.viewer`.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.core import deadline, errors
from shared.core.models import utcnow
from shared.core.settings import get_settings
from shared.platform_ops.models import (
    Change,
    FunctionStatus,
    Instances,
    LogEntry,
    LogQuery,
    LogReport,
    RevisionRecord,
    StatusReport,
    TrafficShare,
)
from shared.platform_ops.settings import PlatformSettings, bounds_of

# Written on the revision template by a restart: the one change that makes a new revision.
RESTART_ANNOTATION = "agent-platform/restarted-at"
REQUESTS = "run.googleapis.com/request_count"
LATENCIES = "run.googleapis.com/request_latencies"
STARTUPS = "run.googleapis.com/container/startup_latencies"
LOGGING_SCOPE = "https://www.googleapis.com/auth/logging.read"
# Leave this much of the request's own deadline for answering after a rollout wait.
ANSWER_MARGIN_SECONDS = 3.0
MAX_WORKERS = 8


def _short(revision: str) -> str:
    """`projects/P/locations/L/services/S/revisions/R` -> `R`."""
    return revision.rsplit("/", 1)[-1]


_REQUEST_LINE = re.compile(r"^[A-Z]+ https?://\S+: ")


def _said(exc: Any) -> str:
    """The API's own message, without the request line the REST clients put first."""
    return _REQUEST_LINE.sub("", str(exc.message))[:300]


_HTTP_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED"}


def _status(exc: Any) -> str:
    """The canonical status name (PERMISSION_DENIED), whether the call went over gRPC or
    REST."""
    code = getattr(exc, "grpc_status_code", None)
    if code is not None:
        return str(code.name)
    return _HTTP_STATUS.get(getattr(exc, "code", None) or 0, type(exc).__name__)


@contextlib.contextmanager
def _answered(what: str) -> Iterator[None]:
    """Google's refusals as the platform's errors: what an operator can act on becomes the
    tool's error; an API that does not answer stays transient (503 with Retry-After)."""
    from google.api_core import exceptions as google

    try:
        yield
    except google.NotFound as exc:
        raise errors.NotFound(f"{what}: not found ({_said(exc)})") from None
    except (google.PermissionDenied, google.Unauthenticated, google.Forbidden) as exc:
        raise errors.Unprocessable(
            f"{what} was refused ({_status(exc)}): {_said(exc)}; the function's service "
            "account lacks a role (infra/operator_tools.tf)"
        ) from None
    except google.Conflict as exc:  # the etag no longer matches, or a change is running
        raise errors.Conflict(
            f"{what}: the service changed meanwhile ({_said(exc)}); read its status and ask again"
        ) from None
    except (google.BadRequest, google.FailedPrecondition, google.OutOfRange) as exc:
        raise errors.Unprocessable(f"{what} was refused ({_status(exc)}): {_said(exc)}") from None


class _Bounded:
    """A `requests` session whose every call waits at most `seconds` (the logging client's
    own default is 60 s)."""

    def __init__(self, session: Any, seconds: float) -> None:
        self.session, self.seconds = session, seconds

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        asked = kwargs.get("timeout")
        kwargs["timeout"] = (
            self.seconds if not isinstance(asked, int | float) else min(float(asked), self.seconds)
        )
        return self.session.request(method, url, **kwargs)


class GoogleAdapter:
    source = "cloud-run"

    def __init__(self, settings: PlatformSettings) -> None:
        if not settings.region:
            raise errors.Unprocessable(
                "PLATFORM_REGION is not set: the operator tools cannot find the Cloud Run "
                "services (Terraform sets it)"
            )
        self.settings = settings
        self.project = get_settings().google_cloud_project
        self.location = f"projects/{self.project}/locations/{settings.region}"
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    # -- clients -------------------------------------------------------------------------

    def _client(self, kind: str, make: Callable[[], Any]) -> Any:
        with self._lock:
            if kind not in self._clients:
                self._clients[kind] = make()
            return self._clients[kind]

    def _rest(self, endpoint: str | None) -> dict[str, Any]:
        if endpoint is None:
            return {"transport": "rest"}
        from google.auth.credentials import AnonymousCredentials

        return {
            "transport": "rest",
            "credentials": AnonymousCredentials(),
            "client_options": {"api_endpoint": endpoint},
        }

    def _services(self) -> Any:
        def make() -> Any:
            from google.cloud import run_v2

            return run_v2.ServicesClient(**self._rest(self.settings.run_endpoint))

        return self._client("services", make)

    def _revisions_client(self) -> Any:
        def make() -> Any:
            from google.cloud import run_v2

            return run_v2.RevisionsClient(**self._rest(self.settings.run_endpoint))

        return self._client("revisions", make)

    def _logging(self) -> Any:
        def make() -> Any:
            from google.cloud import logging as cloud_logging

            endpoint = self.settings.logging_endpoint
            if endpoint is None:
                import google.auth
                from google.auth.transport.requests import AuthorizedSession

                credentials, _ = google.auth.default(scopes=[LOGGING_SCOPE])
                session: Any = AuthorizedSession(credentials)
                options = None
            else:
                import requests

                session = requests.Session()
                options = {"api_endpoint": endpoint}
            return cloud_logging.Client(
                project=self.project,
                _http=_Bounded(session, self.settings.call_timeout_seconds),
                _use_grpc=False,
                client_options=options,
            )

        return self._client("logging", make)

    def _metrics(self) -> Any:
        def make() -> Any:
            from google.cloud import monitoring_v3

            endpoint = self.settings.monitoring_endpoint
            if endpoint is None:
                return monitoring_v3.MetricServiceClient()
            import grpc
            from google.cloud.monitoring_v3.services.metric_service.transports import (
                MetricServiceGrpcTransport,
            )

            channel = grpc.insecure_channel(endpoint)
            return monitoring_v3.MetricServiceClient(
                transport=MetricServiceGrpcTransport(channel=channel)
            )

        return self._client("metrics", make)

    def _read(self) -> dict[str, Any]:
        """A read's `retry` and `timeout`: retried while transient, within the bound."""
        from google.api_core import retry

        seconds = self.settings.call_timeout_seconds
        left = deadline.remaining()
        if left is not None:
            seconds = max(1.0, min(seconds, left - 1.0))
        return {
            "retry": retry.Retry(predicate=retry.if_transient_error, timeout=seconds),
            "timeout": seconds,
        }

    # -- Cloud Run -----------------------------------------------------------------------

    def _path(self, name: str) -> str:
        return f"{self.location}/services/{name}"

    def _service(self, name: str) -> Any:
        with _answered(f"reading Cloud Run service {name}"):
            return self._services().get_service(name=self._path(name), **self._read())

    def _update(self, name: str, service: Any, what: str) -> int:
        """Send the changed service (with the etag it was read with); answers the
        generation the change will have."""
        with _answered(f"{what} of {name}"):
            operation = self._services().update_service(
                service=service, retry=None, timeout=self.settings.call_timeout_seconds
            )
        metadata = getattr(operation, "metadata", None)
        reported = int(getattr(metadata, "generation", 0) or 0)
        return max(reported, int(service.generation) + 1)

    def _await(self, name: str, generation: int) -> tuple[Any, bool, float]:
        """The service once it has reconciled `generation`, or as it is when the wait
        ends: (service, whether the change is ready, seconds waited)."""
        started = time.monotonic()
        wait = self.settings.rollout_wait_seconds
        left = deadline.remaining()
        if left is not None:
            wait = max(0.0, min(wait, left - ANSWER_MARGIN_SECONDS))
        until = started + wait
        while True:
            service = self._service(name)
            if int(service.observed_generation) >= generation and not service.reconciling:
                return service, _succeeded(service), time.monotonic() - started
            if time.monotonic() + self.settings.rollout_poll_seconds > until:
                return service, False, time.monotonic() - started
            time.sleep(self.settings.rollout_poll_seconds)

    def _status_of(self, name: str, service: Any) -> FunctionStatus:
        traffic = _traffic(service)
        scaling = service.template.scaling
        bounds = bounds_of(name)
        return FunctionStatus(
            function=name,
            serving_revision=max(traffic, key=lambda t: t.percent).revision if traffic else None,
            traffic=traffic,
            ready=_succeeded(service),
            instances=Instances(
                min_instances=int(scaling.min_instance_count),
                max_instances=int(scaling.max_instance_count) or None,
            ),
            manifest=Instances(
                min_instances=bounds.min_instances, max_instances=bounds.max_instances
            ),
        )

    def status(self, names: list[str], minutes: int) -> StatusReport:
        with ThreadPoolExecutor(MAX_WORKERS) as pool:
            figures = pool.submit(self._figures, names, minutes)
            services = {name: pool.submit(self._service_or_none, name) for name in names}
            found = {name: future.result() for name, future in services.items()}
            measured = figures.result()
        report = []
        for name in names:
            service = found[name]
            if service is None:
                bounds = bounds_of(name)
                status = FunctionStatus(
                    function=name,
                    instances=Instances(),
                    manifest=Instances(
                        min_instances=bounds.min_instances, max_instances=bounds.max_instances
                    ),
                    note=f"Cloud Run has no service {name} in {self.settings.region}",
                )
            else:
                status = self._status_of(name, service)
            report.append(status.model_copy(update=measured.get(name, _NO_TRAFFIC)))
        return StatusReport(source=self.source, minutes=minutes, functions=report)

    def _service_or_none(self, name: str) -> Any:
        try:
            return self._service(name)
        except errors.NotFound:
            return None

    def _require_latest(self, name: str, service: Any, action: str) -> None:
        """A change to the template deploys the latest configuration: refused while the
        traffic is pinned to another revision (a rollback), which it would undo."""
        from google.cloud import run_v2

        latest = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
        if all(t.type_ == latest for t in service.traffic if t.percent):
            return
        serving = max(_traffic(service), key=lambda t: t.percent, default=None)
        raise errors.Conflict(
            f"{name} serves revision {serving.revision if serving else '?'} by a fixed traffic "
            f"split (a rollback): {action} deploys its latest configuration "
            f"({_short(service.latest_created_revision)}) and would undo that. Deploy a fix, or "
            "move its traffic back to the latest revision, first"
        )

    def restart(self, name: str) -> Change:
        service = self._service(name)
        self._require_latest(name, service, "a restart")
        previous = _short(service.latest_ready_revision) or None
        service.template.revision = ""  # Cloud Run names the new revision
        service.template.annotations[RESTART_ANNOTATION] = utcnow().isoformat()
        generation = self._update(name, service, "restarting")
        final, ready, seconds = self._await(name, generation)
        return Change(
            function=name,
            action="restart",
            previous_revision=previous,
            revision=_short(final.latest_ready_revision if ready else final.latest_created_revision)
            or None,
            ready=ready,
            seconds=round(seconds, 1),
            note=_pending_note(final, ready),
        )

    def scale(self, name: str, min_instances: int | None, max_instances: int | None) -> Change:
        service = self._service(name)
        scaling = service.template.scaling
        before = Instances(
            min_instances=int(scaling.min_instance_count),
            max_instances=int(scaling.max_instance_count) or None,
        )
        low = before.min_instances if min_instances is None else min_instances
        high = before.max_instances if max_instances is None else max_instances
        if high is not None and (low or 0) > high:
            raise errors.Unprocessable(
                f"{name} would keep {low} instances warm but scale to at most {high}"
            )
        after = Instances(min_instances=low, max_instances=high)
        current = _short(service.latest_ready_revision) or None
        if after == before:
            return Change(
                function=name,
                action="scale",
                previous_revision=current,
                revision=current,
                ready=True,
                instances=after,
                previous_instances=before,
                seconds=0.0,
                note="nothing to change: it already scales so",
            )
        self._require_latest(name, service, "scaling")
        scaling.min_instance_count = low or 0
        scaling.max_instance_count = high or 0
        service.template.revision = ""
        generation = self._update(name, service, "scaling")
        final, ready, seconds = self._await(name, generation)
        return Change(
            function=name,
            action="scale",
            previous_revision=current,
            revision=_short(final.latest_ready_revision if ready else final.latest_created_revision)
            or None,
            ready=ready,
            instances=after,
            previous_instances=before,
            seconds=round(seconds, 1),
            note=_pending_note(final, ready),
        )

    def _all_revisions(self, name: str) -> list[Any]:
        with _answered(f"listing the revisions of {name}"):
            pages = self._revisions_client().list_revisions(parent=self._path(name), **self._read())
            return list(pages)

    def rollback(self, name: str) -> Change:
        from google.cloud import run_v2

        service = self._service(name)
        traffic = _traffic(service)
        serving = max(traffic, key=lambda t: t.percent).revision if traffic else None
        revisions = sorted(self._all_revisions(name), key=lambda r: r.create_time, reverse=True)
        current = next((r for r in revisions if _short(r.name) == serving), None)
        if current is None:
            raise errors.Unprocessable(
                f"{name}'s serving revision ({serving or 'none'}) is not among its revisions"
            )
        earlier = [
            r for r in revisions if r.create_time < current.create_time and _revision_ready(r)
        ]
        if not earlier:
            raise errors.Unprocessable(
                f"{name} has no ready revision older than {serving} to roll back to"
            )
        target = _short(earlier[0].name)
        service.traffic = [
            run_v2.TrafficTarget(
                type_=run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION,
                revision=target,
                percent=100,
            )
        ]
        generation = self._update(name, service, "rolling back")
        final, ready, seconds = self._await(name, generation)
        shares = _traffic(final)
        moved = ready and any(t.revision == target and t.percent == 100 for t in shares)
        return Change(
            function=name,
            action="rollback",
            previous_revision=serving,
            revision=target,
            ready=moved,
            seconds=round(seconds, 1),
            note=(
                "traffic stays on this revision until the next deploy moves it to the latest"
                if moved
                else _pending_note(final, ready)
            ),
        )

    def revisions(self, names: list[str], since: datetime) -> list[RevisionRecord]:
        with ThreadPoolExecutor(MAX_WORKERS) as pool:
            listed = dict(zip(names, pool.map(self._revisions_or_none, names), strict=True))
        found = [
            RevisionRecord(
                function=name,
                revision=_short(r.name),
                created_at=r.create_time,
                ready=_revision_ready(r),
            )
            for name, revisions in listed.items()
            for r in revisions
            if r.create_time >= since
        ]
        return sorted(found, key=lambda r: r.created_at, reverse=True)

    def _revisions_or_none(self, name: str) -> list[Any]:
        try:
            return self._all_revisions(name)
        except errors.NotFound:
            return []

    # -- Cloud Monitoring ----------------------------------------------------------------

    def _series(
        self,
        metric: str,
        names: list[str],
        minutes: int,
        *,
        aligner: str,
        reducer: str,
        group: list[str],
    ) -> list[Any]:
        from google.cloud import monitoring_v3

        end = utcnow()
        services = ", ".join(json.dumps(name) for name in names)
        request = monitoring_v3.ListTimeSeriesRequest(
            name=f"projects/{self.project}",
            filter=(
                f'metric.type = "{metric}" AND resource.type = "cloud_run_revision" '
                f"AND resource.labels.service_name = one_of({services})"
            ),
            interval=monitoring_v3.TimeInterval(
                start_time=end - timedelta(minutes=minutes), end_time=end
            ),
            aggregation=monitoring_v3.Aggregation(
                alignment_period=timedelta(minutes=minutes),
                per_series_aligner=getattr(monitoring_v3.Aggregation.Aligner, aligner),
                cross_series_reducer=getattr(monitoring_v3.Aggregation.Reducer, reducer),
                group_by_fields=group,
            ),
            view=monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.FULL,
        )
        with _answered(f"reading {metric} from Cloud Monitoring"):
            return list(self._metrics().list_time_series(request=request, **self._read()))

    def _figures(self, names: list[str], minutes: int) -> dict[str, dict[str, Any]]:
        """Requests, 5xx, p95 latency and cold starts per service over the window."""
        service = "resource.label.service_name"
        figures: dict[str, dict[str, Any]] = {}

        def of(series: Any) -> dict[str, Any]:
            name = series.resource.labels.get("service_name", "")
            return figures.setdefault(name, dict(_NO_TRAFFIC))

        for series in self._series(
            REQUESTS,
            names,
            minutes,
            aligner="ALIGN_DELTA",
            reducer="REDUCE_SUM",
            group=[service, "metric.label.response_code_class"],
        ):
            count = sum(int(point.value.int64_value) for point in series.points)
            entry = of(series)
            entry["requests"] += count
            if series.metric.labels.get("response_code_class") == "5xx":
                entry["errors_5xx"] += count
        for series in self._series(
            LATENCIES,
            names,
            minutes,
            aligner="ALIGN_DELTA",
            reducer="REDUCE_PERCENTILE_95",
            group=[service],
        ):
            values = [float(point.value.double_value) for point in series.points]
            of(series)["p95_ms"] = round(max(values), 1) if values else None
        for series in self._series(
            STARTUPS, names, minutes, aligner="ALIGN_DELTA", reducer="REDUCE_SUM", group=[service]
        ):
            of(series)["cold_starts"] += sum(
                int(point.value.distribution_value.count) for point in series.points
            )
        return figures

    # -- Cloud Logging -------------------------------------------------------------------

    def logs(self, query: LogQuery) -> LogReport:
        from google.cloud import logging as cloud_logging

        names = query.functions or tuple(sorted(_known()))
        since = utcnow() - timedelta(minutes=query.minutes)
        parts = ['resource.type = "cloud_run_revision"']
        parts.append(
            "("
            + " OR ".join(f"resource.labels.service_name = {json.dumps(n)}" for n in names)
            + ")"
        )
        if query.severity != "DEFAULT":
            parts.append(f"severity >= {query.severity}")
        parts.append(f'timestamp >= "{since.strftime("%Y-%m-%dT%H:%M:%SZ")}"')
        if query.text:
            parts.append(json.dumps(query.text, ensure_ascii=False))
        text = " AND ".join(parts)
        with _answered("reading Cloud Logging"):
            entries = list(
                self._logging().list_entries(
                    resource_names=[f"projects/{self.project}"],
                    filter_=text,
                    order_by=cloud_logging.DESCENDING,
                    max_results=query.limit,
                    page_size=query.limit,
                )
            )
        return LogReport(source=self.source, query=text, entries=[_entry(e) for e in entries])


_NO_TRAFFIC: dict[str, Any] = {"requests": 0, "errors_5xx": 0, "p95_ms": None, "cold_starts": 0}


def _known() -> list[str]:
    from shared.platform_ops.settings import known_functions

    return list(known_functions())


def _succeeded(resource: Any) -> bool:
    from google.cloud import run_v2

    condition = getattr(resource, "terminal_condition", None)
    return bool(
        condition is not None and condition.state == run_v2.Condition.State.CONDITION_SUCCEEDED
    )


def _revision_ready(revision: Any) -> bool:
    from google.cloud import run_v2

    succeeded = run_v2.Condition.State.CONDITION_SUCCEEDED
    return any(c.type_ == "Ready" and c.state == succeeded for c in revision.conditions)


def _pending_note(service: Any, ready: bool) -> str | None:
    if ready:
        return None
    condition = service.terminal_condition
    if condition.message and not service.reconciling:
        return f"the change did not become ready: {condition.message[:300]}"
    return "still rolling out when the wait ended; platform_status shows when it is ready"


def _traffic(service: Any) -> list[TrafficShare]:
    latest = _short(service.latest_ready_revision)
    shares = [
        TrafficShare(revision=_short(t.revision) if t.revision else latest, percent=int(t.percent))
        for t in service.traffic_statuses
        if t.percent
    ]
    return sorted(shares, key=lambda t: -t.percent)


def _entry(entry: Any) -> LogEntry:
    labels = dict(getattr(entry.resource, "labels", None) or {})
    payload = entry.payload
    if isinstance(payload, dict):
        message = str(payload.get("message") or json.dumps(payload, default=str)[:500])
        if payload.get("stack_trace"):
            message += "\n" + str(payload["stack_trace"])
    elif payload is not None:
        message = str(payload)
    elif entry.http_request:
        request = entry.http_request
        message = (
            f"{request.get('requestMethod', '')} {request.get('requestUrl', '')} "
            f"{request.get('status', '')}"
        ).strip()
    else:
        message = ""
    timestamp = entry.timestamp or datetime.now(UTC)
    return LogEntry(
        time=timestamp,
        function=labels.get("service_name", ""),
        severity=entry.severity or "DEFAULT",
        message=message,
        revision=labels.get("revision_name"),
    )
