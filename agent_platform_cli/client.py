"""The platform's public HTTP API over httpx: JSON requests and SSE answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

USER_AGENT = "agent-platform-cli/0.1"


class ApiError(Exception):
    """A refused or failed request, with what a person needs to act on it."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        facts = []
        if self.status is not None:
            facts.append(f"HTTP {self.status}")
        if self.retry_after is not None:
            facts.append(f"retry in {self.retry_after} s")
        return f"{self.message} ({', '.join(facts)})" if facts else self.message


def _retry_after(response: httpx.Response) -> int | None:
    value = response.headers.get("Retry-After", "")
    return int(value) if value.isdigit() else None


def error_from(response: httpx.Response) -> ApiError:
    try:
        detail = response.json().get("error", {})
        message = str(detail.get("message") or response.reason_phrase)
    except (ValueError, AttributeError):
        message = response.reason_phrase or "request failed"
    return ApiError(message, status=response.status_code, retry_after=_retry_after(response))


def _decoded(event: str, data: list[str]) -> tuple[str, dict[str, Any]] | None:
    if not data:
        return None
    try:
        value = json.loads("\n".join(data))
    except ValueError:
        return None  # not JSON: not an event of this API
    return (event, value) if isinstance(value, dict) else None


def parse_sse(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) per SSE frame; frames whose data is not a JSON object are skipped."""
    event, data = "message", list[str]()
    for line in lines:
        if line == "":
            frame = _decoded(event, data)
            if frame is not None:
                yield frame
            event, data = "message", []
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
    frame = _decoded(event, data)
    if frame is not None:
        yield frame


class PlatformClient:
    """One platform (base URL); `token` is sent as the bearer unless a call names another."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=5),
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _headers(self, token: str | None, accept: str = "application/json") -> dict[str, str]:
        headers = {"Accept": accept}
        bearer = token or self.token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        return headers

    def _unreachable(self, exc: httpx.HTTPError) -> ApiError:
        if isinstance(exc, httpx.TimeoutException):
            return ApiError(f"{self.base_url} did not answer in time")
        return ApiError(f"cannot reach {self.base_url}: {type(exc).__name__}")

    def request(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        token: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """The decoded JSON answer (None for 204); ApiError for anything not 2xx."""
        try:
            response = self.http.request(
                method,
                path,
                json=body,
                params={k: v for k, v in (params or {}).items() if v is not None},
                headers=self._headers(token),
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        if response.status_code >= 400:
            raise error_from(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def stream_events(
        self, path: str, body: dict[str, Any], *, token: str | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """POST and yield the answer's SSE events as they arrive.

        Closing the generator (or an exception such as Ctrl-C inside it) closes the
        connection, which tells the platform the client left.
        """
        try:
            with self.http.stream(
                "POST",
                path,
                json=body,
                headers=self._headers(token, accept="text/event-stream"),
                timeout=httpx.Timeout(30, connect=5, read=300),
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise error_from(response)
                yield from parse_sse(response.iter_lines())
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
