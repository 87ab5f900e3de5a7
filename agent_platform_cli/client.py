"""The platform's public HTTP API over httpx: JSON requests and SSE answers, read within
bounds (`Limits`) so that no answer, however large or slow, takes unbounded memory or time.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from agent_platform_cli import __version__
from agent_platform_cli.errors import CliError, Exit
from agent_platform_cli.render import one_line

USER_AGENT = f"agent-platform-cli/{__version__}"
MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """How much of an answer the client reads and how long it waits (docs/cli.md, Limits)."""

    max_line_bytes: int = 1 * MIB  # one SSE line, and the data of one SSE event
    max_body_bytes: int = 8 * MIB  # one JSON answer, an error's included
    # An answer stream that sends no event for this long (keep-alive comments do not
    # count) is closed. Longer than the model's own stall timeout (120 s), after which
    # the platform sends an `error` event itself.
    stream_idle_seconds: float = 180.0
    request_seconds: float = 30.0  # a JSON request, between bytes
    connect_seconds: float = 5.0
    cancel_seconds: float = 5.0  # asking the platform to stop an answer (Ctrl-C)


LIMITS = Limits()


def _size(count: int) -> str:
    return f"{count / MIB:g} MiB" if count >= MIB else f"{count} bytes"


class ApiError(CliError):
    """A refused or failed request, with what a person needs to act on it.

    `body` is the platform's error document when it sent one (`--json` prints it);
    otherwise `code` names what went wrong on this side.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        details: list[Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.code = code
        self.request_id = request_id
        self.details = details or []
        self.body = body

    def __str__(self) -> str:
        facts = []
        if self.status is not None:
            facts.append(f"HTTP {self.status}")
        if self.request_id:
            facts.append(f"request {self.request_id}")
        if self.retry_after is not None:
            facts.append(f"retry in {self.retry_after} s")
        return f"{self.message} ({', '.join(facts)})" if facts else self.message

    def as_json(self) -> dict[str, Any]:
        """The error as `--json` prints it: the platform's own document when there is one."""
        if self.body is not None:
            return self.body
        error: dict[str, Any] = {
            "code": self.code or "error",
            "message": self.message,
            "details": self.details,
        }
        if self.status is not None:
            error["status"] = self.status
        return {"error": error}


class BadAnswer(ApiError):
    """The platform answered, but not with something this client can use: not JSON, the
    wrong shape, larger than the limits, or a stream that only sent keep-alives."""


class Unreachable(ApiError):
    """No connection to the platform at all."""

    exit_status = Exit.UNREACHABLE


def _retry_after(response: httpx.Response) -> int | None:
    value = response.headers.get("Retry-After", "")
    return int(value) if value.isdigit() else None


def error_from(response: httpx.Response, raw: bytes) -> ApiError:
    """The platform's error answer (`{"error": {code, message, requestId, details}}`), or
    its status line when the body is something else."""
    try:
        body = json.loads(raw)
        detail = body["error"]
        message = str(detail.get("message") or response.reason_phrase)
    except (ValueError, RecursionError, KeyError, TypeError, AttributeError):
        return ApiError(
            response.reason_phrase or "request failed",
            status=response.status_code,
            retry_after=_retry_after(response),
        )
    details = detail.get("details")
    request_id = detail.get("requestId")
    return ApiError(
        message,
        status=response.status_code,
        retry_after=_retry_after(response),
        code=str(detail.get("code") or ""),
        request_id=str(request_id) if request_id else None,
        details=details if isinstance(details, list) else [],
        body=body,
    )


# -- server-sent events --------------------------------------------------------------------

_END_OF_LINE = re.compile(rb"\r\n|\r|\n")


def sse_lines(chunks: Iterable[bytes], max_line_bytes: int) -> Iterator[str]:
    """The lines of an SSE body (ended by CRLF, LF or CR), each at most `max_line_bytes`:
    a longer one stops with BadAnswer as soon as it is known, not once it has arrived."""

    def too_long() -> BadAnswer:
        return BadAnswer(
            f"the answer stream sent a line longer than {_size(max_line_bytes)}; it was closed",
            code="too_large",
        )

    pending = b""
    for chunk in chunks:
        pending += chunk
        start = 0
        while (end := _END_OF_LINE.search(pending, start)) is not None:
            if end.group() == b"\r" and end.end() == len(pending):
                break  # the \n of a \r\n may be in the next chunk
            if end.start() - start > max_line_bytes:
                raise too_long()
            yield pending[start : end.start()].decode("utf-8", errors="replace")
            start = end.end()
        pending = pending[start:]
        if len(pending) > max_line_bytes:
            raise too_long()
    if pending:
        yield pending.rstrip(b"\r").decode("utf-8", errors="replace")


class SseParser:
    """Frames from SSE lines, one line at a time: `feed` answers (event, data) when a line
    ends a frame whose data is a JSON object, else None (other frames are skipped)."""

    def __init__(self, max_event_bytes: int = LIMITS.max_line_bytes) -> None:
        self.max_event_bytes = max_event_bytes
        self._event = "message"
        self._data: list[str] = []
        self._size = 0

    def feed(self, line: str) -> tuple[str, dict[str, Any]] | None:
        if line == "":
            return self.finish()
        if line.startswith(":"):
            return None  # a comment: the platform's keep-alive
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._size += len(value.encode()) + 1
            if self._size > self.max_event_bytes:
                raise BadAnswer(
                    f"the answer stream sent an event larger than {_size(self.max_event_bytes)}"
                    "; it was closed",
                    code="too_large",
                )
            self._data.append(value)
        return None

    def finish(self) -> tuple[str, dict[str, Any]] | None:
        """The frame in progress, if any (at a blank line, or at the end of the stream)."""
        event, data = self._event, self._data
        self._event, self._data, self._size = "message", [], 0
        if not data:
            return None
        try:
            value = json.loads("\n".join(data))
        except (ValueError, RecursionError):
            return None  # not JSON: not an event of this API
        return (event, value) if isinstance(value, dict) else None


def parse_sse(
    lines: Iterable[str], max_event_bytes: int = LIMITS.max_line_bytes
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) per SSE frame; frames whose data is not a JSON object are skipped."""
    parser = SseParser(max_event_bytes)
    for line in lines:
        frame = parser.feed(line)
        if frame is not None:
            yield frame
    frame = parser.finish()
    if frame is not None:
        yield frame


# -- the client ----------------------------------------------------------------------------

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


def path_part(value: str) -> str:
    """An id as one path segment: whatever it holds, it cannot reach another route."""
    return quote(value, safe="")


def _reason(exc: Exception) -> str:
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", one_line(str(exc)))[:120]
    return (text[:1].lower() + text[1:]) if text else type(exc).__name__


class PlatformClient:
    """One platform (base URL); `token` is sent as the bearer unless a call names another."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout: float | None = None,
        *,
        limits: Limits | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.limits = limits or LIMITS
        self.http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(
                timeout or self.limits.request_seconds, connect=self.limits.connect_seconds
            ),
            # Answers are read as sent, so that the byte limits are limits on memory: a
            # compressed answer would grow in one step when decompressed.
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
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

    def _transport_error(self, exc: httpx.HTTPError) -> ApiError:
        """A sentence for a failure below HTTP (a refused connection, a timeout, a cut)."""
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.ProxyError):
            host = urlsplit(self.base_url).hostname or ""
            advice = (
                "is `make run` running?"
                if host in LOCAL_HOSTS
                else "check the URL (--base-url or AGENT_PLATFORM_URL) and the network"
            )
            return Unreachable(
                f"cannot reach {self.base_url} ({_reason(exc)}): {advice}", code="unreachable"
            )
        if isinstance(exc, httpx.TimeoutException):
            return ApiError(f"{self.base_url} did not answer in time", code="timeout")
        if isinstance(exc, httpx.TransportError):
            return ApiError(
                f"the connection to {self.base_url} broke ({_reason(exc)})",
                code="connection_broken",
            )
        return ApiError(f"the request to {self.base_url} failed ({_reason(exc)})", code="http")

    def _raw(self, response: httpx.Response) -> Iterator[bytes]:
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise BadAnswer(
                f"the platform answered in the {encoding!r} encoding, which was not asked for",
                code="bad_answer",
            )
        return response.iter_raw()

    def _body(self, response: httpx.Response, what: str) -> bytes:
        """The whole body, refused as soon as it is known to exceed `max_body_bytes`."""
        limit = self.limits.max_body_bytes
        too_large = BadAnswer(
            f"the answer to {what} is larger than {_size(limit)}; it was not read",
            status=response.status_code,
            code="too_large",
        )
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        body = bytearray()
        for chunk in self._raw(response):
            body += chunk
            if len(body) > limit:
                raise too_large
        return bytes(body)

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
        """The decoded JSON answer (None for 204); ApiError for anything not 2xx, BadAnswer
        for an answer that is too large or not JSON."""
        what = f"{method} {path}"
        try:
            with self.http.stream(
                method,
                path,
                json=body,
                params={k: v for k, v in (params or {}).items() if v is not None},
                headers=self._headers(token),
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            ) as response:
                raw = self._body(response, what)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from None
        if response.status_code >= 400:
            raise error_from(response, raw)
        if response.status_code == 204 or not raw:
            return None
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            kind = response.headers.get("Content-Type") or "no content type"
            raise BadAnswer(
                f"the answer to {what} is not JSON ({one_line(kind)[:60]})",
                status=response.status_code,
                code="bad_answer",
            ) from None

    def stream_events(
        self, path: str, body: dict[str, Any], *, token: str | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """POST and yield the answer's SSE events as they arrive.

        Closing the generator (or an exception such as Ctrl-C inside it) closes the
        connection, which tells the platform the client left. A stream with no event for
        `stream_idle_seconds` (keep-alives or not) ends with BadAnswer.
        """
        idle = self.limits.stream_idle_seconds
        silent = BadAnswer(
            f"the answer stream sent no event for {idle:g} s (only keep-alives, or nothing)"
            "; it was closed",
            code="stream_idle",
        )
        try:
            with self.http.stream(
                "POST",
                path,
                json=body,
                headers=self._headers(token, accept="text/event-stream"),
                timeout=httpx.Timeout(
                    self.limits.request_seconds, connect=self.limits.connect_seconds, read=idle
                ),
            ) as response:
                if response.status_code >= 400:
                    raise error_from(response, self._body(response, f"POST {path}"))
                kind = response.headers.get("Content-Type", "")
                if not kind.startswith("text/event-stream"):
                    raise BadAnswer(
                        f"the answer to POST {path} is not an event stream "
                        f"({one_line(kind)[:60] or 'no content type'})",
                        status=response.status_code,
                        code="bad_answer",
                    )
                parser = SseParser(self.limits.max_line_bytes)
                last_event = time.monotonic()
                for line in sse_lines(self._raw(response), self.limits.max_line_bytes):
                    frame = parser.feed(line)
                    if frame is not None:
                        last_event = time.monotonic()
                        yield frame
                    elif time.monotonic() - last_event > idle:
                        raise silent
                frame = parser.finish()
                if frame is not None:
                    yield frame
        except httpx.ReadTimeout:
            raise silent from None
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from None

    def cancel(self, conversation_id: str, message_id: str) -> bool:
        """Ask the platform to stop an answer being written. False when it cannot say so
        (a platform without the route answers 404 or 405) or fails: the caller then only
        closes the stream, which the platform also takes as a stop."""
        path = (
            f"/v1/conversations/{path_part(conversation_id)}"
            f"/messages/{path_part(message_id)}/cancel"
        )
        try:
            self.request("POST", path, timeout=self.limits.cancel_seconds)
        except ApiError:
            return False
        return True
