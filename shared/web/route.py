"""What a route is and what its handler receives and answers (read by the edge and OpenAPI)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel
from werkzeug.wrappers import Request, Response


@dataclass
class Call:
    """What a handler receives: the request and everything the edge already checked."""

    request: Request
    params: dict[str, str]
    request_id: str
    client_ip: str
    body: Any = None
    query: Any = None
    principal: Any = None
    raw_body: bytes = b""


@dataclass
class Reply:
    """A handler's answer when it needs a status or headers other than the route's."""

    body: BaseModel | dict[str, Any] | None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Authenticator = Callable[[Request], Any]


class Claimed(Protocol):
    """Who a request says it acts for, before the authenticator has confirmed it."""

    def confirmed_by(self, principal: Any) -> bool: ...


# What a request's credentials claim, when checking them can run alongside (`web.overlap`).
Claimer = Callable[[Request], Claimed | None]
Handler = Callable[[Call], BaseModel | Reply | Response | None]


@dataclass
class Route:
    endpoint: str
    path: str
    methods: tuple[str, ...]
    handler: Handler
    summary: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    auth: Authenticator | None
    max_body_bytes: int | None
    raw_body: bool
    streams: bool
    error_statuses: tuple[int, ...]
    tags: tuple[str, ...]
    idempotent: bool = False
    # Schemas of the SSE events' `data` (one model per event), for the OpenAPI document.
    stream_events: tuple[type[BaseModel], ...] = ()
    # Request headers the route reads: (name, description, required).
    header_params: tuple[tuple[str, str, bool], ...] = ()
    # Other success statuses the route answers, with what they mean.
    other_statuses: tuple[tuple[int, str], ...] = ()
    # The route's budget in seconds, read per request (from settings); None: the request
    # deadline every route has (REQUEST_DEADLINE_SECONDS). Routes that wait on the model or
    # run for a set time (a JSON chat answer, a load test) pass a longer one of their own.
    deadline: Callable[[], float] | None = None
    # Set on read-only routes whose handler reads only the principal's `user_id`: the
    # authenticator then runs alongside the handler (`shared.web.overlap`).
    claim: Claimer | None = None
