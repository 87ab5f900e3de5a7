"""The HTTP edge every function shares.

An `Api` holds a werkzeug `Map` of routes. For each request it binds a request id and the
trace context, answers CORS preflights, enforces the body limit (413) and content type
(415), authenticates, validates the body and query into pydantic models, calls the
handler, and turns any `PlatformError` into the contract's JSON error with its status.
Every response, errors included, carries the security headers and `X-Request-Id`.

Authentication is the caller's choice: an entry point passes the authenticator its routes
use by default (`Api("agents", auth=identity.authenticate)`), so the edge knows nothing
of sessions or operators.
"""

from __future__ import annotations

import contextvars
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.exceptions import MethodNotAllowed as WerkzeugMethodNotAllowed
from werkzeug.exceptions import NotFound as WerkzeugNotFound
from werkzeug.routing import Map, MapAdapter, Rule
from werkzeug.wrappers import Request, Response

from shared.core import errors, log, trace
from shared.core.settings import get_settings
from shared.web import etags, idempotency, overlap, pools, response_headers
from shared.web.bodies import error_response, json_response
from shared.web.deadline import within as within_deadline
from shared.web.headers import SECURITY_HEADERS
from shared.web.route import Authenticator, Call, Claimer, Handler, Reply, Route

logger = log.get_logger("http")

_SECURITY_ITEMS = list(SECURITY_HEADERS.items())
CORS_ALLOWED_HEADERS = (
    "Authorization, Content-Type, X-Request-Id, traceparent, Idempotency-Key, If-Match, "
    "Last-Event-ID"
)
CORS_EXPOSED_HEADERS = (
    "X-Request-Id, Retry-After, ETag, Idempotent-Replayed, RateLimit, RateLimit-Policy"
)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_JSON_TYPES = ("application/json",)


class Api:
    """The routes of one function. Call it with the request functions-framework passes."""

    def __init__(
        self,
        title: str,
        *,
        auth: Authenticator | None = None,
        claim: Claimer | None = None,
        version: str = "1.0.0",
        component: str = "",
    ) -> None:
        self.title = title
        self.auth = auth
        self.claim = claim
        self.version = version
        self.component = component or title
        self.routes: dict[str, Route] = {}
        self.url_map = Map(strict_slashes=False, merge_slashes=False)
        self._openapi: dict[str, Any] | None = None
        self._adapter: MapAdapter | None = None
        self.route("/openapi.json", public=True, summary="This function's OpenAPI document")(
            lambda call: Reply(self.openapi())
        )

    def route(
        self,
        path: str,
        *,
        methods: Iterable[str] = ("GET",),
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        auth: Authenticator | None = None,
        public: bool = False,
        summary: str = "",
        max_body_bytes: int | None = None,
        raw_body: bool = False,
        streams: bool | Iterable[type[BaseModel]] = False,
        errors: Iterable[int] = (),
        tags: Iterable[str] = (),
        idempotent: bool | None = None,
        headers: Iterable[tuple[str, str, bool]] = (),
        also: Iterable[tuple[int, str]] = (),
        deadline: Callable[[], float] | None = None,
        overlap_auth: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Register a handler. `streams` is True or the models of the SSE events' data;
        `headers` documents request headers the handler reads (name, description,
        required), `also` other success statuses (status, meaning); `idempotent` (default:
        a POST that answers 201) takes an `Idempotency-Key`; `deadline` returns the route's
        budget in seconds when it is not REQUEST_DEADLINE_SECONDS (every route has one);
        `overlap_auth` lets a GET handler that reads only `call.principal.user_id` run while
        the session is checked (with the Api's `claim`, `shared.web.overlap`)."""
        stream_events = () if isinstance(streams, bool) else tuple(streams)
        # A route takes the Api's authenticator unless it names its own or is public.
        authenticator = None if public else auth or self.auth
        if authenticator is None and not public:
            raise ValueError(f"{path}: pass auth= (or Api(auth=...)) or mark it public=True")
        if overlap_auth and (self.claim is None or set(methods) != {"GET"} or public):
            raise ValueError(f"{path}: overlap_auth needs Api(claim=...), GET only, and auth")

        def register(handler: Handler) -> Handler:
            endpoint = f"{handler.__name__}:{len(self.routes)}"
            route = Route(
                endpoint=endpoint,
                path=path,
                methods=tuple(m.upper() for m in methods),
                handler=handler,
                summary=summary or (handler.__doc__ or "").strip().split("\n")[0],
                body=body,
                query=query,
                response=response,
                status=status,
                auth=authenticator,
                max_body_bytes=max_body_bytes,
                raw_body=raw_body,
                streams=bool(streams),
                error_statuses=tuple(errors),
                tags=tuple(tags),
                # None: a POST that creates (201) takes an Idempotency-Key.
                idempotent=idempotent
                if idempotent is not None
                else status == 201 and "POST" in [m.upper() for m in methods],
                stream_events=stream_events,
                header_params=tuple(headers),
                other_statuses=tuple(also),
                deadline=deadline,
                claim=self.claim if overlap_auth else None,
            )
            self.routes[endpoint] = route
            self.url_map.add(Rule(path, endpoint=endpoint, methods=list(route.methods)))
            self._openapi = None
            self._adapter = None
            return handler

        return register

    def read(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """A GET of the caller's own data: a route whose handler reads only
        `call.principal.user_id`, so its session is checked alongside (`overlap_auth`)."""
        return self.route(path, overlap_auth=True, **options)

    def serve_framework_errors(self) -> Api:
        """Answer what functions-framework refuses before routing as the contract says
        (see `framework_error`); call once in the entry module."""
        import functions_framework

        functions_framework.errorhandler(HTTPException)(self.framework_error)
        return self

    def openapi(self) -> dict[str, Any]:
        if self._openapi is None:
            from shared.web.openapi import build_document

            self._openapi = build_document(
                self.title, self.version, self.component, self.routes.values()
            )
        return self._openapi

    # -- request handling ---------------------------------------------------------------

    def __call__(self, request: Request) -> Response:
        started = time.perf_counter()
        incoming_id = request.headers.get("X-Request-Id", "")
        request_id = incoming_id if _REQUEST_ID.match(incoming_id) else uuid.uuid4().hex
        trace_token = trace.bind(trace.from_headers(request.headers))
        id_token = log.bind_request_id(request_id)
        headers_token = response_headers.bind()
        try:
            try:
                response = self._dispatch(request, request_id)
            except errors.PlatformError as exc:
                response = error_response(exc, request_id)
            except Exception as exc:  # noqa: BLE001 - the edge answers every failure as JSON
                response = error_response(classify(exc), request_id)
            self._finish(request, response, request_id)
            if get_settings().access_log:
                if response.is_streamed:
                    # A stream's line is written when it ends, with its real duration.
                    body, context = response.response, contextvars.copy_context()
                    response.response = _logged_when_done(body, context, request, response, started)
                else:
                    _access_log(request, response, started)
            return response
        finally:
            response_headers.unbind(headers_token)
            log.unbind_request_id(id_token)
            trace.unbind(trace_token)

    def _dispatch(self, request: Request, request_id: str) -> Response:
        # One adapter for every request: routing needs only the path and the method, which
        # are passed to `match`, not the host or scheme `bind_to_environ` would parse.
        if self._adapter is None:
            self._adapter = self.url_map.bind("function")
        adapter = self._adapter
        if request.method == "OPTIONS":
            return self._options(request, adapter)
        route, params = self._match(adapter, request.path, request.method)
        call = Call(request, params, request_id, client_ip(request))
        # Within the route's budget, or 503 with Retry-After (`shared.web.deadline`).
        budget = route.deadline() if route.deadline else get_settings().request_deadline_seconds
        return within_deadline(budget, lambda: self._handle(route, call, request))

    def _handle(self, route: Route, call: Call, request: Request) -> Response:
        claimed = route.claim(request) if route.claim is not None else None
        if claimed is None:
            if route.auth is not None:
                call.principal = route.auth(request)
            return self._run(route, call, request)
        assert route.auth is not None  # `route()` allows a claim only with an authenticator
        call.principal = claimed
        # The session check and the read run on threads of their own, and this one waits
        # for the session's verdict first: a refused one answers 401 at once, without
        # waiting for the read (whose time would tell how much the claimed owner has) or
        # showing it.
        checking = overlap.start(route.auth, request)
        reading = pools.submit(
            "overlap-read", pools.server_threads(), lambda: self._run(route, call, request)
        )
        try:
            overlap.confirm(claimed, checking)
        except BaseException:
            reading.cancel()  # not started yet: it never runs; running: its answer is dropped
            raise
        return reading.result()

    def _run(self, route: Route, call: Call, request: Request) -> Response:
        if route.status == 201 and etags.HEADER in request.headers:
            # A create has no current representation for any tag (or `*`) to match.
            raise errors.PreconditionFailed(
                f"{etags.HEADER} on a create: there is nothing yet whose ETag could match"
            )
        if route.query is not None:
            call.query = _validate(route.query, request.args.to_dict(), "query")
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            raw = _read_body(request, route)
            call.raw_body = raw
            if route.body is not None and not route.raw_body:
                call.body = _validate_body(route.body, raw)
        key = request.headers.get(idempotency.HEADER) if route.idempotent else None
        if key is not None:
            return idempotency.run(
                call,
                key,
                lambda: _to_response(route.handler(call), route.status),
                lambda location: self._replay_stream(call, location),
            )
        return _to_response(route.handler(call), route.status)

    def _match(self, adapter: MapAdapter, path: str, method: str) -> tuple[Route, dict[str, str]]:
        """The route serving `method` on `path`, or the contract's 404 / 405."""
        try:
            endpoint, params = adapter.match(path, method)
        except WerkzeugNotFound:
            raise errors.NotFound(f"no route matches {path}") from None
        except WerkzeugMethodNotAllowed as exc:
            allowed = sorted(exc.valid_methods or [])
            raise errors.MethodNotAllowed(
                f"{method} is not allowed on {path}; allowed: {', '.join(allowed)}",
                allowed=allowed,
            ) from None
        return self.routes[str(endpoint)], dict(params)

    def _replay_stream(self, first: Call, location: str) -> Response:
        """GET `location` (a stream kept by an idempotent route) for the caller the edge
        has already authenticated."""
        assert self._adapter is not None
        route, params = self._match(self._adapter, location, "GET")
        call = Call(first.request, params, first.request_id, first.client_ip)
        call.principal = first.principal
        return _to_response(route.handler(call), route.status)

    def framework_error(self, exc: HTTPException) -> Response:
        """Answer what the framework refuses before our routes run, as the contract says.

        Flask's own routing (functions-framework's catch-all rule) can refuse a path our
        `Map` would never see, e.g. one with a newline in it (`serve_framework_errors`).
        """
        request_id = uuid.uuid4().hex
        status = exc.code or 500
        kind = errors.for_status(status)
        message = "no route matches this path" if status == 404 else f"request refused: {exc.name}"
        response = error_response(kind(message), request_id)
        response.status_code = status if status < 500 else 500
        response.headers.update(SECURITY_HEADERS)
        response.headers["X-Request-Id"] = request_id
        return response

    def _options(self, request: Request, adapter: Any) -> Response:
        allowed = sorted(adapter.allowed_methods(request.path) or [])
        if not allowed:
            raise errors.NotFound(f"no route matches {request.path}")
        origin = request.headers.get("Origin")
        if origin and request.headers.get("Access-Control-Request-Method"):
            if not _origin_allowed(origin):
                raise errors.OriginNotAllowed(f"origin {origin!r} is not in ALLOWED_ORIGINS")
            response = Response(status=204)
            response.headers["Access-Control-Allow-Methods"] = ", ".join(allowed)
            response.headers["Access-Control-Allow-Headers"] = CORS_ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
            return response
        return Response(status=204, headers={"Allow": ", ".join(allowed)})

    def _finish(self, request: Request, response: Response, request_id: str) -> None:
        # `extend` appends without searching for an existing header, as `update` would:
        # nothing upstream sets these, and this runs on every response.
        response.headers.extend(_SECURITY_ITEMS)
        response.headers.add("X-Request-Id", request_id)
        for name, value in response_headers.pending().items():
            response.headers.setdefault(name, value)
        origin = request.headers.get("Origin")
        if get_settings().allowed_origins:
            response.vary.add("Origin")
        if origin and _origin_allowed(origin):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS


def _origin_allowed(origin: str) -> bool:
    return origin.rstrip("/") in get_settings().allowed_origins


def client_ip(request: Request) -> str:
    """The client address: from X-Forwarded-For as far as trusted proxies wrote it."""
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
    forwarded = [part for part in forwarded if part]
    hop = get_settings().forwarded_client_hop
    if len(forwarded) >= hop:
        return forwarded[-hop]
    return request.remote_addr or "unknown"


def _read_body(request: Request, route: Route) -> bytes:
    limit = route.max_body_bytes or get_settings().max_body_bytes
    length = request.content_length
    if length is not None and length > limit:
        raise errors.PayloadTooLarge(f"body is {length} bytes; the limit is {limit}")
    has_body = bool(length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if not has_body:
        return b""
    mimetype = request.mimetype
    if not (mimetype in _JSON_TYPES or mimetype.endswith("+json")):
        raise errors.UnsupportedMediaType(
            f"expected Content-Type application/json, got {mimetype or 'none'}"
        )
    # A chunked body has no length to check up front; werkzeug stops reading at the cap
    # without complaint, so read one byte past the limit to tell "at" from "over".
    request.max_content_length = limit + 1
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        data = b"x" * (limit + 1)
    if len(data) > limit:
        raise errors.PayloadTooLarge(f"body exceeds the limit of {limit} bytes")
    return data


def _parse_json(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise errors.MalformedJson(f"body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise errors.InvalidRequest(f"body must be a JSON object, got {type(value).__name__}")
    return value


def _validate_body(model: type[BaseModel], raw: bytes) -> BaseModel:
    """Strict JSON validation: `"true"` is not a boolean and `"5"` is not a number."""
    _parse_json(raw)  # malformed JSON and non-objects get their own messages
    try:
        return model.model_validate_json(raw if raw.strip() else b"{}", strict=True)
    except ValidationError as exc:
        raise _invalid(exc, "body") from None


def _validate(model: type[BaseModel], data: dict[str, Any], where: str) -> BaseModel:
    """Lax validation, for query strings, where every value arrives as text."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc, where) from None


def _invalid(exc: ValidationError, where: str) -> errors.InvalidRequest:
    details: list[dict[str, Any]] = [
        {
            "field": ".".join(str(part) for part in problem["loc"]) or where,
            "issue": problem["msg"],
            "type": problem["type"],
        }
        for problem in exc.errors(include_url=False, include_input=False)
    ]
    fields = ", ".join(str(d["field"]) for d in details)
    return errors.InvalidRequest(f"invalid {where}: check {fields}", details=details)


def _to_response(result: BaseModel | Reply | Response | None, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, Reply):
        if result.body is None:
            return Response(status=result.status, headers=result.headers)
        return json_response(result.body, result.status, result.headers)
    if result is None:
        return Response(status=status)
    response = json_response(result, status)
    # A resource with a version (`updatedAt`) carries its ETag (see `etags`).
    version = getattr(result, "updated_at", None)
    if version is not None:
        response.headers["ETag"] = etags.etag_of(version)
    return response


def classify(exc: Exception) -> errors.PlatformError:
    """Map an unexpected exception to what the client should see."""
    if errors.is_transient(exc):
        logger.warning("dependency unavailable", extra={"fields": {"error": repr(exc)[:300]}})
        return errors.DependencyUnavailable("a backing service is unavailable; retry shortly")
    logger.exception("unhandled error")
    return errors.PlatformError("internal error; the request id identifies it in the logs")


def _logged_when_done(
    body: Iterable[Any],
    context: contextvars.Context,
    request: Request,
    response: Response,
    started: float,
) -> Iterator[Any]:
    """The streamed body, then its access-log line in the request's context (trace, id)."""
    try:
        yield from body
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
        context.run(_access_log, request, response, started)


def _access_log(request: Request, response: Response, started: float) -> None:
    latency = time.perf_counter() - started
    logger.info(
        f"{request.method} {request.path} {response.status_code}",
        extra={
            "httpRequest": {
                "requestMethod": request.method,
                "requestUrl": request.path,
                "status": response.status_code,
                "latency": f"{latency:.6f}s",
                "userAgent": request.headers.get("User-Agent", ""),
                "remoteIp": client_ip(request),
                "protocol": request.environ.get("SERVER_PROTOCOL", ""),
            }
        },
    )
