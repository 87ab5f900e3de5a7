"""One error hierarchy. Each class names a kind of failure and carries its HTTP status.

The HTTP edge answers `status` with the class's `headers()`, and the OpenAPI generator
describes each status with the `summary` of the class that owns it: this module is the
only place where a failure meets a status code.
"""

from __future__ import annotations

from typing import Any, ClassVar

# Status -> the class of this module that answers it (the first one declared).
_BY_STATUS: dict[int, type[PlatformError]] = {}
# Transient failures of Google client libraries, named so that the edge need not import
# google.api_core (a function that never touches Firestore should not pay for it).
_TRANSIENT_GOOGLE_ERRORS = frozenset(
    {
        "ServiceUnavailable",
        "DeadlineExceeded",
        "InternalServerError",
        "TooManyRequests",
        "ResourceExhausted",
        "RetryError",
        "Aborted",
        "Unknown",
        "GatewayTimeout",
        "BadGateway",
    }
)


class PlatformError(Exception):
    """Root of every error the platform raises on purpose.

    `code` is the stable machine-readable name in the JSON error body; `message` says what
    was expected and what was found; `details` carries per-field problems.
    """

    code = "internal"
    status: ClassVar[int] = 500
    summary: ClassVar[str] = "Internal error; the request id identifies it in the logs"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__ == __name__:
            _BY_STATUS.setdefault(cls.status, cls)

    def headers(self) -> dict[str, str]:
        """Response headers this failure needs besides the JSON body."""
        return {}

    def body(self, request_id: str | None) -> dict[str, Any]:
        """The contract's JSON error body (`ErrorBody` in the OpenAPI documents)."""
        error = {"code": self.code, "message": self.message, "requestId": request_id}
        return {"error": {**error, "details": self.details}}


class InvalidRequest(PlatformError):
    code = "invalid_request"
    status = 400
    summary = "Invalid request (details name the fields)"


class MalformedJson(InvalidRequest):
    code = "malformed_json"


class Unauthenticated(PlatformError):
    code = "unauthenticated"
    status = 401
    summary = "Missing, malformed, unknown, expired or revoked credentials"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="agent-platform"'}


class OriginNotAllowed(PlatformError):
    code = "origin_not_allowed"
    status = 403
    summary = "Origin not allowed"


class NotFound(PlatformError):
    code = "not_found"
    status = 404
    summary = "Not found (or not yours)"


class MethodNotAllowed(PlatformError):
    code = "method_not_allowed"
    status = 405
    summary = "Method not allowed"

    def __init__(self, message: str, *, allowed: list[str] | None = None) -> None:
        super().__init__(message)
        self.allowed = allowed or []

    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allowed)} if self.allowed else {}


class Conflict(PlatformError):
    code = "conflict"
    status = 409
    summary = "Conflict"


class PreconditionFailed(PlatformError):
    code = "precondition_failed"
    status = 412
    summary = "If-Match does not match the current ETag; read the resource again"


class PayloadTooLarge(PlatformError):
    code = "payload_too_large"
    status = 413
    summary = "Body too large"


class UnsupportedMediaType(PlatformError):
    code = "unsupported_media_type"
    status = 415
    summary = "Content-Type is not application/json"


class Unprocessable(PlatformError):
    code = "unprocessable"
    status = 422
    summary = "Well-formed but not processable"


class RateLimited(PlatformError):
    code = "rate_limited"
    status = 429
    summary = "Rate limited; see Retry-After"

    def __init__(
        self,
        message: str,
        *,
        retry_after: int,
        limit: int | None = None,
        window_seconds: int | None = None,
        policy: str = "default",
    ) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
        self.limit, self.window_seconds, self.policy = limit, window_seconds, policy

    def headers(self) -> dict[str, str]:
        """`Retry-After`, and the IETF `RateLimit-Policy` / `RateLimit` fields (quota `q`
        per window `w` seconds; `r` remaining, `t` seconds until it resets)."""
        headers = {"Retry-After": str(self.retry_after)}
        if self.limit is not None and self.window_seconds is not None:
            headers |= rate_limit_fields(
                self.policy, self.limit, self.window_seconds, 0, self.retry_after
            )
        return headers


def rate_limit_fields(
    policy: str, limit: int, window_seconds: int, remaining: int, reset_seconds: int
) -> dict[str, str]:
    """The IETF `RateLimit-Policy` and `RateLimit` fields of one limit (the one place they
    are written: on 429s by `RateLimited`, on admitted requests by the limiters)."""
    name = f'"{policy}"'
    return {
        "RateLimit-Policy": f"{name};q={limit};w={window_seconds}",
        "RateLimit": f"{name};r={max(0, remaining)};t={max(0, reset_seconds)}",
    }


class UpstreamFailed(PlatformError):
    """A backing service answered, but with an error the client cannot fix."""

    code = "upstream_failed"
    status = 502
    summary = "An upstream service failed"


class DependencyUnavailable(PlatformError):
    """A backing service (Firestore, Pub/Sub, the model API) cannot serve right now."""

    code = "unavailable"
    status = 503
    summary = "A dependency is unavailable, or writes contend past their retries; see Retry-After"

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def for_status(status: int) -> type[PlatformError]:
    """The class that answers `status`: what the framework refused, in our terms."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return InvalidRequest if 400 <= status < 500 else PlatformError


def summary_of(status: int) -> str:
    """How the contract describes `status` (OpenAPI response descriptions)."""
    kind = _BY_STATUS.get(status)
    return kind.summary if kind is not None else "Error"


def is_transient(exc: BaseException) -> bool:
    """True for failures of a dependency that a retry may fix."""
    name = type(exc).__name__
    module = type(exc).__module__
    if module.startswith("google.api_core") and name in _TRANSIENT_GOOGLE_ERRORS:
        return True
    return isinstance(exc, TimeoutError | ConnectionError)
