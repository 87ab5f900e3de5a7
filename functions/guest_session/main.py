"""Guest sessions: create one, read the current one, revoke it."""

from __future__ import annotations

import functions_framework
from flask import Request
from werkzeug.wrappers import Response

from shared.core import log
from shared.core.models import EmptyBody
from shared.core.settings import get_settings
from shared.identity import auth, sessions
from shared.identity.models import SessionCreated, SessionPublic
from shared.limits import spend
from shared.web.api import Api, Call

settings = get_settings()
log.configure("guest_session")
api = Api("guest_session", auth=auth.authenticate).serve_framework_errors()


@api.route(
    "/v1/sessions",
    methods=["POST"],
    body=EmptyBody,
    response=SessionCreated,
    status=201,
    public=True,
    errors=[429, 503],
    # Never replayed: a replay would hand this answer's bearer token to whoever sends the
    # same key, and before a session there is no principal to scope the key to but the
    # address, which many clients share. A session is cheap and limited per address, so a
    # retry simply starts another one; an Idempotency-Key here is ignored.
    idempotent=False,
)
def create_session(call: Call) -> SessionCreated:
    """Start a guest session; the token is shown only in this answer (an Idempotency-Key is
    ignored: every request starts a session of its own)."""
    limit = get_settings().session_create_per_minute
    hold = spend.take([spend.sessions_from(call.client_ip, limit)])
    try:
        token, principal = sessions.create_session()
    except Exception:
        hold.release()
        raise
    return principal.created(token)


@api.route("/v1/sessions/current", response=SessionPublic)
def current_session(call: Call) -> SessionPublic:
    """The session the bearer token belongs to."""
    principal: sessions.Principal = call.principal
    return principal.public()


@api.route("/v1/sessions/current", methods=["DELETE"], status=204)
def revoke_session(call: Call) -> None:
    """Revoke the session; its token is refused from now on."""
    principal: sessions.Principal = call.principal
    sessions.revoke_session(principal)
    auth.forget(principal.token_hash)


@functions_framework.http
def guest_session(request: Request) -> Response:
    return api(request)
