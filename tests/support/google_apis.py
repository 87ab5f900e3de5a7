"""Local servers that speak Google's APIs as the operator tools' client libraries call them.

- `FakeCloudRun`: the Cloud Run Admin API v2 REST surface the `run_v2` clients use with
  `transport="rest"`: `GET` and `PATCH /v2/projects/*/locations/*/services/*` (the update
  answers a long-running `Operation` whose metadata is the service, and needs the etag the
  service was read with) and `GET .../services/*/revisions` (paged). Resources are kept as
  the library's own types and written with its JSON mapping (camelCase, int64 as strings,
  enums as names, or numbers when the client asks `$alt=json;enum-encoding=int`). An update
  of the template makes a revision, as Cloud Run does; an update of the traffic moves it.
- `FakeLogging`: Cloud Logging's `POST /v2/entries:list` (JSON API), answering the entries
  a test put there, paged by `pageSize`.
- `FakeMonitoring`: Cloud Monitoring's `google.monitoring.v3.MetricService/ListTimeSeries`
  over gRPC (the `monitoring_v3` library has no REST transport), answering the series a
  test put there for the metric type the filter names.

Each records what it was asked, and answers errors as the APIs do when told to `fail`:
REST as `{"error": {"code", "message", "status"}}` with the HTTP status, gRPC with its
status code and details.
"""

from __future__ import annotations

import abc
import json
import re
import threading
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grpc
from google.cloud import monitoring_v3, run_v2

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


class _JsonServer(abc.ABC):
    """A threaded HTTP server whose `route` answers (status, JSON body); each fake API
    defines `route`."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.failures: dict[tuple[str, str], tuple[int, str]] = {}  # (method, path regex)
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail(self, method: str, path: str, status: int, message: str = "refused") -> None:
        """Answer `status` to `method` on paths matching the regex `path` until `recover`."""
        with self.lock:
            self.failures[(method, path)] = (status, message)

    def recover(self) -> None:
        with self.lock:
            self.failures.clear()

    @abc.abstractmethod
    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
        """The answer to one request: (status, JSON body)."""

    def start(self) -> _JsonServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def do_PATCH(self) -> None:
                self._answer("PATCH")

            def _answer(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                query = parse_qs(parts.query)
                with fake.lock:
                    fake.requests.append(Recorded(method, parts.path, query, body))
                    failure = next(
                        (
                            answer
                            for (m, pattern), answer in fake.failures.items()
                            if m == method and re.search(pattern, parts.path)
                        ),
                        None,
                    )
                if failure is not None:
                    status, text = failure
                    payload: Any = {
                        "error": {"code": status, "message": text, "status": STATUS_NAMES[status]}
                    }
                else:
                    try:
                        status, payload = fake.route(method, parts.path, query, body)
                    except LookupError as exc:
                        status, payload = (
                            404,
                            {"error": {"code": 404, "message": str(exc), "status": "NOT_FOUND"}},
                        )
                data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


# -- Cloud Run Admin API v2 ----------------------------------------------------------------

SUCCEEDED = run_v2.Condition.State.CONDITION_SUCCEEDED
LATEST = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
REVISION = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION


def _ready() -> list[run_v2.Condition]:
    return [run_v2.Condition(type_="Ready", state=SUCCEEDED)]


class FakeCloudRun(_JsonServer):
    """Services and their revisions, in projects/PROJECT/locations/REGION."""

    def __init__(self, project: str, region: str) -> None:
        super().__init__()
        self.location = f"projects/{project}/locations/{region}"
        self.services: dict[str, run_v2.Service] = {}
        self.revisions: dict[str, list[run_v2.Revision]] = {}
        self.reconcile_reads = 0  # GETs after an update that still answer `reconciling`
        self.page_size = 2  # revisions per page when the client names none
        self._pending: dict[str, int] = {}
        self._clock = datetime.now(UTC) - timedelta(hours=2)

    def _tick(self) -> datetime:
        self._clock += timedelta(minutes=7)
        return self._clock

    def add_service(
        self, name: str, revisions: int = 1, min_instances: int = 0, max_instances: int = 10
    ) -> run_v2.Service:
        """A service serving the latest of `revisions` revisions (all ready)."""
        path = f"{self.location}/services/{name}"
        service = run_v2.Service(
            name=path,
            generation=revisions,
            observed_generation=revisions,
            template=run_v2.RevisionTemplate(
                scaling=run_v2.RevisionScaling(
                    min_instance_count=min_instances, max_instance_count=max_instances
                ),
                containers=[run_v2.Container(image=f"europe-docker.pkg.dev/p/{name}:build-1")],
                service_account=f"fn-{name}@p.iam.gserviceaccount.com",
            ),
            traffic=[run_v2.TrafficTarget(type_=LATEST, percent=100)],
            terminal_condition=run_v2.Condition(type_="Ready", state=SUCCEEDED),
            etag=f'"{name}-1"',
        )
        self.services[name] = service
        self.revisions[name] = []
        for number in range(1, revisions + 1):
            self._new_revision(name, number)
        self._settle(name)
        return service

    def _new_revision(self, name: str, generation: int) -> str:
        service = self.services[name]
        revision = f"{name}-{generation:05d}-{'abcdefghij'[generation % 10] * 3}"
        self.revisions[name].append(
            run_v2.Revision(
                name=f"{service.name}/revisions/{revision}",
                service=name,
                create_time=self._tick(),
                scaling=service.template.scaling,
                containers=service.template.containers,
                annotations=dict(service.template.annotations),
                conditions=_ready(),
                generation=1,
            )
        )
        service.latest_created_revision = f"{service.name}/revisions/{revision}"
        service.latest_ready_revision = service.latest_created_revision
        return revision

    def _settle(self, name: str) -> None:
        service = self.services[name]
        statuses = []
        for target in service.traffic:
            revision = target.revision if target.type_ == REVISION else ""
            statuses.append(
                run_v2.TrafficTargetStatus(
                    type_=target.type_, revision=revision, percent=target.percent
                )
            )
        service.traffic_statuses = statuses

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
        ints = "enum-encoding=int" in ",".join(query.get("$alt", []))
        match = re.fullmatch(rf"/v2/{re.escape(self.location)}/services/([^/]+)(/revisions)?", path)
        if match is None:
            raise LookupError(f"no route {method} {path}")
        name, revisions = match.group(1), match.group(2)
        if name not in self.services:
            raise LookupError(f"Resource '{self.location}/services/{name}' was not found")
        if revisions and method == "GET":
            return 200, self._list_revisions(name, query, ints)
        if method == "GET":
            return 200, self._get(name, ints)
        if method == "PATCH":
            return self._patch(name, body, ints)
        raise LookupError(f"no route {method} {path}")

    def _json(self, message: Any, ints: bool) -> dict[str, Any]:
        text = type(message).to_json(
            message,
            use_integers_for_enums=ints,
            always_print_fields_with_no_presence=False,
            indent=0,
        )
        value: dict[str, Any] = json.loads(text)
        return value

    def _get(self, name: str, ints: bool) -> dict[str, Any]:
        service = self.services[name]
        if self._pending.get(name):
            self._pending[name] -= 1
            shown = run_v2.Service(service)
            shown.reconciling = True
            shown.observed_generation = service.generation - 1
            return self._json(shown, ints)
        return self._json(service, ints)

    def _patch(self, name: str, body: Any, ints: bool) -> tuple[int, dict[str, Any]]:
        sent = run_v2.Service.from_json(json.dumps(body))
        current = self.services[name]
        if sent.etag and sent.etag != current.etag:
            return 409, {
                "error": {
                    "code": 409,
                    "message": "etag mismatch: the service was changed meanwhile",
                    "status": "ABORTED",
                }
            }
        template_changed = run_v2.RevisionTemplate.to_json(
            sent.template, sort_keys=True
        ) != run_v2.RevisionTemplate.to_json(current.template, sort_keys=True)
        current.template = sent.template
        current.traffic = sent.traffic
        current.generation = int(current.generation) + 1
        current.observed_generation = current.generation
        current.etag = f'"{name}-{current.generation}"'
        if template_changed:
            if current.template.revision:
                current.template.revision = ""
            self._new_revision(name, int(current.generation))
        self._settle(name)
        self._pending[name] = self.reconcile_reads
        metadata = self._json(current, ints)
        metadata["@type"] = "type.googleapis.com/google.cloud.run.v2.Service"
        operation = {
            "name": f"{self.location}/operations/op-{name}-{current.generation}",
            "metadata": metadata,
            "done": False,
        }
        return 200, operation

    def _list_revisions(self, name: str, query: dict[str, list[str]], ints: bool) -> dict[str, Any]:
        size = int(query.get("pageSize", [self.page_size])[-1])
        start = int(query.get("pageToken", ["0"])[-1] or 0)
        newest_first = sorted(self.revisions[name], key=lambda r: r.create_time, reverse=True)
        page = newest_first[start : start + size]
        answer: dict[str, Any] = {"revisions": [self._json(r, ints) for r in page]}
        if start + size < len(newest_first):
            answer["nextPageToken"] = str(start + size)
        return answer

    def serving(self, name: str) -> str:
        """The revision that takes all the traffic now (short name)."""
        service = self.services[name]
        target = service.traffic[0]
        if target.type_ == REVISION:
            return str(target.revision)
        return str(service.latest_ready_revision).rsplit("/", 1)[-1]


# -- Cloud Logging -------------------------------------------------------------------------


class FakeLogging(_JsonServer):
    def __init__(self) -> None:
        super().__init__()
        self.entries: list[dict[str, Any]] = []  # LogEntry JSON, newest first

    def add(
        self,
        service: str,
        severity: str,
        message: str | None = None,
        *,
        text: str | None = None,
        http: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        log = "stdout" if message else "requests"
        entry: dict[str, Any] = {
            "logName": f"projects/p/logs/run.googleapis.com%2F{log}",
            "resource": {
                "type": "cloud_run_revision",
                "labels": {
                    "service_name": service,
                    "revision_name": f"{service}-00001-aaa",
                    "location": "europe-west1",
                    "project_id": "p",
                    "configuration_name": service,
                },
            },
            "timestamp": (at or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
            "receiveTimestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "severity": severity,
            "insertId": f"id{len(self.entries)}",
        }
        if message is not None:
            entry["jsonPayload"] = {"message": message, "severity": severity}
        if text is not None:
            entry["textPayload"] = text
        if http is not None:
            entry["httpRequest"] = http
        self.entries.append(entry)

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
        if (method, path) != ("POST", "/v2/entries:list"):
            raise LookupError(f"no route {method} {path}")
        if not body or not body.get("resourceNames"):
            return 400, {
                "error": {
                    "code": 400,
                    "message": "resourceNames: at least one resource name is required",
                    "status": "INVALID_ARGUMENT",
                }
            }
        size = int(body.get("pageSize") or 50)
        start = int(body.get("pageToken") or 0)
        page = self.entries[start : start + size]
        answer: dict[str, Any] = {"entries": page}
        if start + size < len(self.entries):
            answer["nextPageToken"] = str(start + size)
        return 200, answer


# -- Cloud Monitoring (gRPC) ---------------------------------------------------------------


@dataclass
class FakeMonitoring:
    series: dict[str, list[monitoring_v3.TimeSeries]] = field(default_factory=dict)
    requests: list[monitoring_v3.ListTimeSeriesRequest] = field(default_factory=list)
    failure: tuple[grpc.StatusCode, str] | None = None
    _server: Any = None
    port: int = 0

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def add(
        self,
        metric: str,
        service: str,
        *,
        ints: list[int] | None = None,
        doubles: list[float] | None = None,
        counts: list[int] | None = None,
        labels: dict[str, str] | None = None,
    ) -> None:
        now = datetime.now(UTC)
        points = []
        for value in ints or []:
            points.append(monitoring_v3.Point(value=monitoring_v3.TypedValue(int64_value=value)))
        for value in doubles or []:
            points.append(monitoring_v3.Point(value=monitoring_v3.TypedValue(double_value=value)))
        for value in counts or []:
            distribution = {"count": value}
            points.append(
                monitoring_v3.Point(value=monitoring_v3.TypedValue(distribution_value=distribution))
            )
        for point in points:
            point.interval = monitoring_v3.TimeInterval(end_time=now)
        self.series.setdefault(metric, []).append(
            monitoring_v3.TimeSeries(
                metric={"type": metric, "labels": labels or {}},
                resource={"type": "cloud_run_revision", "labels": {"service_name": service}},
                points=points,
            )
        )

    def _list(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        if self.failure is not None:
            context.abort(*self.failure)
        found = re.search(r'metric\.type = "([^"]+)"', request.filter)
        if not request.name.startswith("projects/") or found is None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a filter must name a metric type")
        return monitoring_v3.ListTimeSeriesResponse(time_series=self.series.get(found.group(1), []))

    def start(self) -> FakeMonitoring:
        handler = grpc.method_handlers_generic_handler(
            "google.monitoring.v3.MetricService",
            {
                "ListTimeSeries": grpc.unary_unary_rpc_method_handler(
                    self._list,
                    request_deserializer=monitoring_v3.ListTimeSeriesRequest.deserialize,
                    response_serializer=monitoring_v3.ListTimeSeriesResponse.serialize,
                )
            },
        )
        self._server = grpc.server(futures.ThreadPoolExecutor(4))
        self._server.add_generic_rpc_handlers((handler,))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(0)


@contextmanager
def google_apis(
    project: str, region: str
) -> Iterator[tuple[FakeCloudRun, FakeLogging, FakeMonitoring]]:
    run, logging_api, monitoring = FakeCloudRun(project, region), FakeLogging(), FakeMonitoring()
    run.start()
    logging_api.start()
    monitoring.start()
    try:
        yield run, logging_api, monitoring
    finally:
        run.stop()
        logging_api.stop()
        monitoring.stop()
