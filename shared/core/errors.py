"""One error hierarchy. Each class names a kind of failure; the HTTP edge picks the status."""

from __future__ import annotations

from typing import Any


class PlatformError(Exception):
    """Root of every error the platform raises on purpose.

    `code` is the stable machine-readable name in the JSON error body; `message` says what
    was expected and what was found; `details` carries per-field problems.
    """

    code = "internal"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class InvalidRequest(PlatformError):
    code = "invalid_request"


class MalformedJson(InvalidRequest):
    code = "malformed_json"


class Unauthenticated(PlatformError):
    code = "unauthenticated"


class NotFound(PlatformError):
    code = "not_found"


class MethodNotAllowed(PlatformError):
    code = "method_not_allowed"

    def __init__(self, message: str, *, allowed: list[str]) -> None:
        super().__init__(message)
        self.allowed = allowed


class Conflict(PlatformError):
    code = "conflict"


class PayloadTooLarge(PlatformError):
    code = "payload_too_large"


class UnsupportedMediaType(PlatformError):
    code = "unsupported_media_type"


class Unprocessable(PlatformError):
    code = "unprocessable"


class OriginNotAllowed(PlatformError):
    code = "origin_not_allowed"


class RateLimited(PlatformError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class DependencyUnavailable(PlatformError):
    """A backing service (Firestore, Pub/Sub, the model API) cannot serve right now."""

    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class UpstreamFailed(PlatformError):
    """A backing service answered, but with an error the client cannot fix."""

    code = "upstream_failed"
