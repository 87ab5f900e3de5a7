"""How a model call fails: unavailable for now (503) or failed (502), with a stable code."""

from __future__ import annotations

from shared.core import errors


class ModelError(errors.PlatformError):
    """Mixin data of a failed model call: a stable `error_code` and a `retry_after`."""

    error_code = "model_error"
    retry_after = 5

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ModelUnavailable(errors.DependencyUnavailable, ModelError):
    def __init__(self, error_code: str, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message, retry_after=retry_after)
        self.error_code = self.code = error_code


class ModelFailed(errors.UpstreamFailed, ModelError):
    def __init__(self, error_code: str, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.error_code = self.code = error_code
        self.retry_after = retry_after
